/**
 * Purges. A purge is a record, not a walk over the store: "everything stored before T with tag
 * X (or URL U, or anything) is gone (hard) or stale (soft)". Every read checks its entry against
 * the records, so a purge works the same over every store, including those that cannot list
 * their keys (the Web Cache API, Fastly's cache). The records are bounded: when a table is full
 * its oldest record becomes a purge of everything up to that record's time, which can only purge
 * more, never less. They live in this instance; other instances hear of them through the
 * store's fan-out (Redis pub/sub on Node) where there is one.
 */

/** A purge as the API takes it and as the fan-out carries it. */
export interface PurgeMessage {
  tags?: string[];
  /** Purge URLs (cache/key.ts, `cacheUrl`): host + path + sorted query. */
  urls?: string[];
  all?: boolean;
  /** Mark stale (served only after validation, or within its stale windows) instead of deleting. */
  soft?: boolean;
  /** When it was made, milliseconds since the epoch. */
  at: number;
}

export type PurgeVerdict = 'none' | 'soft' | 'hard';

/** The latest hard and the latest soft purge of a name, ms since the epoch (-Infinity: none). */
interface Mark {
  hard: number;
  soft: number;
}

/** Most tag and URL records kept. */
const MAX_MARKS = 100_000;

export class PurgeLog {
  private all: Mark | null = null;
  private readonly tags = new Map<string, Mark>();
  private readonly urls = new Map<string, Mark>();
  /** Whether any purge was recorded: the common case of none costs one branch per read. */
  empty = true;

  apply(m: PurgeMessage): void {
    const mark: Mark = m.soft === true ? { hard: -Infinity, soft: m.at } : { hard: m.at, soft: -Infinity };
    this.empty = false;
    if (m.all) this.all = merge(this.all, mark);
    for (const t of m.tags ?? []) this.put(this.tags, t, mark);
    for (const u of m.urls ?? []) this.put(this.urls, u, mark);
  }

  /** What the records say about an entry stored at `storedAt` with these tags and URL. */
  check(storedAt: number, tags: readonly string[], url: string): PurgeVerdict {
    if (this.empty) return 'none';
    let verdict: PurgeVerdict = 'none';
    const consider = (mark: Mark | null | undefined) => {
      if (!mark) return;
      if (mark.hard >= storedAt) verdict = 'hard';
      else if (mark.soft >= storedAt && verdict === 'none') verdict = 'soft';
    };
    consider(this.all);
    consider(this.urls.get(url));
    for (const t of tags) consider(this.tags.get(t));
    return verdict;
  }

  private put(map: Map<string, Mark>, name: string, mark: Mark): void {
    const old = map.get(name);
    map.delete(name);
    map.set(name, merge(old ?? null, mark));
    while (map.size > MAX_MARKS) {
      const [oldest, m] = map.entries().next().value as [string, Mark];
      map.delete(oldest);
      this.all = merge(this.all, m);
    }
  }
}

/** Both marks' latest times. */
function merge(a: Mark | null, b: Mark): Mark {
  return a === null ? b : { hard: Math.max(a.hard, b.hard), soft: Math.max(a.soft, b.soft) };
}
