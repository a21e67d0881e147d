// A deliberately naive matcher written straight from the TableEntry docs in core/hot/types.ts,
// over strings and with no table compilation. The differential tests hold the three hot-path
// implementations equal to each other and to this.
import type { TableEntry } from '../../core/hot/index.ts';

export interface ReferenceMatch {
  index: number;
  /** [start, end) offsets into the path. */
  params: [number, number][];
}

function hostMatches(entry: TableEntry, host: string): boolean {
  const spec = entry.host;
  if (spec.kind === 'any') return true;
  if (spec.kind === 'exact') return host === spec.value;
  return host.length > spec.value.length && host.endsWith(spec.value);
}

/** Param offsets when the path matches, else undefined. */
function pathMatches(entry: TableEntry, path: string): [number, number][] | undefined {
  if (entry.path.kind === 'deferred') return [];
  if (!path.startsWith('/')) return undefined;
  const { segments, rest } = entry.path;
  // Segments of the path with their offsets.
  const segs: { value: string; start: number; end: number }[] = [];
  let start = 1;
  for (;;) {
    const slash = path.indexOf('/', start);
    const end = slash === -1 ? path.length : slash;
    segs.push({ value: path.slice(start, end), start, end });
    if (slash === -1) break;
    start = slash + 1;
  }
  if (rest ? segs.length < segments.length : segs.length !== segments.length) return undefined;
  const params: [number, number][] = [];
  for (let i = 0; i < segments.length; i++) {
    const spec = segments[i]!;
    const seg = segs[i]!;
    if (spec.kind === 'static') {
      if (seg.value !== spec.value) return undefined;
    } else {
      if (seg.value === '') return undefined;
      params.push([seg.start, seg.end]);
    }
  }
  if (rest) {
    if (segs.length === segments.length) params.push([path.length, path.length]);
    else params.push([segs[segments.length]!.start, path.length]);
  }
  return params;
}

export function referenceMatch(
  entries: readonly TableEntry[],
  methodBit: number,
  host: string,
  path: string,
  from: number,
): ReferenceMatch | undefined {
  for (let i = Math.max(0, from); i < entries.length; i++) {
    const entry = entries[i]!;
    if (!hostMatches(entry, host)) continue;
    if (entry.methods !== 0 && (entry.methods & methodBit) === 0) continue;
    const params = pathMatches(entry, path);
    if (params) return { index: i, params };
  }
  return undefined;
}
