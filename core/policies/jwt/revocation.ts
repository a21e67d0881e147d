/**
 * Revocation: a denylist of `jti` and `sub` values in the KV store, each entry with a TTL, and
 * the admin endpoint `/_portico/revocations` that writes and reads it:
 * - `POST` `{ "jti": "…" }` or `{ "sub": "…" }`, optional `"ttlSeconds"` (default 86400): 201;
 * - `GET ?jti=…` or `?sub=…`: 200 `{ revoked, expiresAt? }`;
 * - `DELETE ?jti=…` or `?sub=…`: 200, the entry removed.
 * All need `Authorization: Bearer <admin token>`, compared in constant time. How fast a revocation
 * is seen elsewhere is the KV store's own consistency (README, "Revocation").
 */
import type { KVStore } from '../../capabilities.ts';
import { problemResponse } from '../../http/problem.ts';
import type { GatewayEndpoint } from '../../pipeline/policy.ts';

export const REVOCATIONS_PATH = '/_portico/revocations';
export const DEFAULT_REVOCATION_TTL_SECONDS = 86_400;
/** Workers KV refuses TTLs under 60 s. */
const MIN_TTL_SECONDS = 60;
const MAX_TTL_SECONDS = 31_536_000;
const MAX_VALUE_LENGTH = 512;
const MAX_BODY_BYTES = 4096;

export type RevocationKind = 'jti' | 'sub';

function kvKey(kind: RevocationKind, value: string): string {
  return `portico:revoked:${kind}:${encodeURIComponent(value)}`;
}

/** Whether the verified claims' jti or sub is on the denylist. */
export async function isRevoked(kv: KVStore, claims: Record<string, unknown>): Promise<boolean> {
  const jti = claims['jti'];
  const sub = claims['sub'];
  const [a, b] = await Promise.all([
    typeof jti === 'string' ? kv.get(kvKey('jti', jti)) : null,
    typeof sub === 'string' ? kv.get(kvKey('sub', sub)) : null,
  ]);
  return a !== null || b !== null;
}

/** Constant-time equality of two strings, through their SHA-256 (equal lengths, no early exit). */
export async function sameSecret(given: string, expected: string): Promise<boolean> {
  const enc = new TextEncoder();
  const [x, y] = await Promise.all([
    crypto.subtle.digest('SHA-256', enc.encode(given)),
    crypto.subtle.digest('SHA-256', enc.encode(expected)),
  ]);
  const a = new Uint8Array(x);
  const b = new Uint8Array(y);
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
}

function json(body: unknown, status: number): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
  });
}

function badRequest(detail: string, method: string): Response {
  return problemResponse({ code: 'ERR_BAD_REQUEST', detail }, '', method);
}

function target(from: Record<string, unknown>): { kind: RevocationKind; value: string } | string {
  const jti = from['jti'];
  const sub = from['sub'];
  if ((jti === undefined) === (sub === undefined)) return 'expected exactly one of jti and sub';
  const kind: RevocationKind = jti !== undefined ? 'jti' : 'sub';
  const value = jti ?? sub;
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_VALUE_LENGTH) {
    return `expected ${kind} as a non-empty string of at most ${MAX_VALUE_LENGTH} characters`;
  }
  return { kind, value };
}

async function readJson(request: Request): Promise<Record<string, unknown> | null> {
  const text = await request.text();
  if (text.length > MAX_BODY_BYTES) return null;
  try {
    const body = JSON.parse(text) as unknown;
    return typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** The admin endpoint, for a gateway whose admin token is `adminToken`. */
export function revocationEndpoint(kv: KVStore, adminToken: string, now: () => number): GatewayEndpoint {
  return {
    path: REVOCATIONS_PATH,
    methods: ['GET', 'POST', 'DELETE'],
    async handle(request) {
      const method = request.method;
      const auth = request.headers.get('authorization') ?? '';
      const given = /^bearer +/i.test(auth) ? auth.replace(/^bearer +/i, '') : '';
      if (!(await sameSecret(given, adminToken)) || given === '') {
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
      if (method === 'POST') {
        const body = await readJson(request);
        if (!body) return badRequest(`expected a JSON object of at most ${MAX_BODY_BYTES} bytes`, method);
        const t = target(body);
        if (typeof t === 'string') return badRequest(t, method);
        const ttl = body['ttlSeconds'] ?? DEFAULT_REVOCATION_TTL_SECONDS;
        if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < MIN_TTL_SECONDS || ttl > MAX_TTL_SECONDS) {
          return badRequest(`expected ttlSeconds as a whole number from ${MIN_TTL_SECONDS} to ${MAX_TTL_SECONDS}`, method);
        }
        const expiresAt = new Date(now() + ttl * 1000).toISOString();
        await kv.put(kvKey(t.kind, t.value), JSON.stringify({ revokedAt: new Date(now()).toISOString(), expiresAt }), {
          ttlSeconds: ttl,
        });
        return json({ revoked: true, [t.kind]: t.value, expiresAt }, 201);
      }
      const url = new URL(request.url);
      const query: Record<string, unknown> = {};
      for (const kind of ['jti', 'sub'] as const) {
        const value = url.searchParams.get(kind);
        if (value !== null) query[kind] = value;
      }
      const t = target(query);
      if (typeof t === 'string') return badRequest(t, method);
      if (method === 'DELETE') {
        await kv.delete(kvKey(t.kind, t.value));
        return json({ revoked: false, [t.kind]: t.value }, 200);
      }
      const stored = await kv.get(kvKey(t.kind, t.value));
      if (stored === null) return json({ revoked: false, [t.kind]: t.value }, 200);
      let expiresAt: unknown;
      try {
        expiresAt = (JSON.parse(stored) as { expiresAt?: unknown }).expiresAt;
      } catch {
        expiresAt = undefined;
      }
      return json({ revoked: true, [t.kind]: t.value, ...(typeof expiresAt === 'string' ? { expiresAt } : {}) }, 200);
    },
  };
}
