/**
 * The purge API, `/_portico/purge`, authenticated by the admin token (the `admin` block, as the
 * revocation API is):
 * - `POST { "tags": ["a"], "urls": ["https://host/path"], "all": true, "soft": true }`: 202 with
 *   what was recorded and how far it reached (`instance` or `fanout`).
 * At least one of tags, urls and all; `soft` marks entries stale instead of deleting them.
 */
import { sha256, timingSafeEqual } from '../../crypto/index.ts';
import { problemResponse } from '../../http/problem.ts';
import type { GatewayEndpoint } from '../../pipeline/policy.ts';
import { cacheUrlOf } from './key.ts';
import type { PurgeMessage } from './purge.ts';

export const PURGE_PATH = '/_portico/purge';
const MAX_BODY_BYTES = 64 * 1024;
const MAX_ITEMS = 1000;
const MAX_TAG_LENGTH = 1024;

function badRequest(detail: string, method: string): Response {
  return problemResponse({ code: 'ERR_BAD_REQUEST', detail }, '', method);
}

function strings(value: unknown, field: string): string[] | string {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.length > MAX_ITEMS) return `expected ${field} as an array of at most ${MAX_ITEMS} strings`;
  for (const item of value) {
    if (typeof item !== 'string' || item.length === 0 || item.length > MAX_TAG_LENGTH) {
      return `expected ${field} as an array of non-empty strings of at most ${MAX_TAG_LENGTH} characters`;
    }
  }
  return value as string[];
}

/** Reads and checks a purge body; a string is the reason it was refused. */
export function parsePurge(body: unknown, at: number): PurgeMessage | string {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    return 'expected a JSON object { tags?, urls?, all?, soft? }';
  const b = body as Record<string, unknown>;
  for (const k of Object.keys(b))
    if (!['tags', 'urls', 'all', 'soft'].includes(k)) return `unknown field "${k}" (known: tags, urls, all, soft)`;
  const tags = strings(b['tags'], 'tags');
  if (typeof tags === 'string') return tags;
  const given = strings(b['urls'], 'urls');
  if (typeof given === 'string') return given;
  const urls: string[] = [];
  for (const u of given) {
    let url: URL;
    try {
      url = new URL(u);
    } catch {
      return `expected urls as absolute URLs (https://host/path?query), got "${u.slice(0, 80)}"`;
    }
    urls.push(cacheUrlOf(url));
  }
  if (b['all'] !== undefined && typeof b['all'] !== 'boolean') return 'expected all as true or false';
  if (b['soft'] !== undefined && typeof b['soft'] !== 'boolean') return 'expected soft as true or false';
  const all = b['all'] === true;
  if (!all && tags.length === 0 && urls.length === 0) return 'expected at least one of tags, urls and all';
  return { tags, urls, all, soft: b['soft'] === true, at };
}

/**
 * The endpoint. `apply` records the purge in this instance; `publish` hands it to the fan-out
 * (absent: this instance only).
 */
export function purgeEndpoint(
  adminToken: string,
  now: () => number,
  apply: (m: PurgeMessage) => void,
  publish: ((m: PurgeMessage) => Promise<void>) | undefined,
): GatewayEndpoint {
  const expected = sha256(new TextEncoder().encode(adminToken));
  return {
    path: PURGE_PATH,
    methods: ['POST'],
    async handle(request) {
      const method = request.method;
      const auth = request.headers.get('authorization') ?? '';
      const given = /^bearer +/i.test(auth) ? auth.replace(/^bearer +/i, '') : '';
      // Compared as digests: equal lengths, no early exit (core/crypto/timing-safe-equal.ts).
      if (given === '' || !timingSafeEqual(await sha256(new TextEncoder().encode(given)), await expected)) {
        return problemResponse(
          {
            code: 'ERR_ADMIN_UNAUTHORIZED',
            detail: 'The admin API needs Authorization: Bearer with the admin token.',
            headers: { 'www-authenticate': 'Bearer realm="portico-admin"' },
          },
          '',
          method,
        );
      }
      const text = await request.text();
      if (text.length > MAX_BODY_BYTES) return badRequest(`expected a JSON body of at most ${MAX_BODY_BYTES} bytes`, method);
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        return badRequest('expected a JSON body', method);
      }
      const message = parsePurge(body, now());
      if (typeof message === 'string') return badRequest(message, method);
      apply(message);
      let reach: 'instance' | 'fanout' = 'instance';
      if (publish) {
        try {
          await publish(message);
          reach = 'fanout';
        } catch {
          reach = 'instance';
        }
      }
      return new Response(
        JSON.stringify({
          purged: true,
          soft: message.soft,
          tags: message.tags?.length ?? 0,
          urls: message.urls?.length ?? 0,
          all: message.all,
          at: new Date(message.at).toISOString(),
          reach,
        }),
        { status: 202, headers: { 'content-type': 'application/json', 'cache-control': 'no-store' } },
      );
    },
  };
}
