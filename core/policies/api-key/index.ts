/**
 * `apiKey`: a route that needs an API key. Keys are known only by their SHA-256 (see
 * api-key-hash.ts): in the top-level `apiKeys` block, or in the KV store under `apikey:<hex>`.
 *
 * The key is read from a header (default `x-api-key`) and/or a query parameter, and taken out of
 * what goes to the origin in every case: the header is removed, the parameter is cut out of the
 * query with every other parameter left byte for byte. A missing key gets 401
 * `ERR_API_KEY_MISSING`, an unknown one 401 `ERR_API_KEY_INVALID`, both with
 * `WWW-Authenticate: ApiKey header="x-api-key"` (and `query="…"` when the route takes one). The key
 * is never echoed or logged; the consumer's name is (`logFields.consumer`).
 *
 * On success `exchange.identity` is `{ kind: 'apiKey', consumer, scopes, claims: {}, metadata }`,
 * `metadata` holding the consumer's metadata plus `plan` and `limits`, for the rate-limit policy.
 */
import * as v from 'valibot';
import { blockName, headerName, NAME, wholeNumber } from '../../config/primitives.ts';
import { HOP_BY_HOP_HEADERS } from '../../http/headers.ts';
import { definePolicy, type Identity, type Need } from '../../pipeline/policy.ts';
import { apiKeyDigestHex, MAX_API_KEY_LENGTH, STORED_HASH } from './api-key-hash.ts';
import { consumerFields, consumerIdentity } from './_consumer.ts';
import { createKvKeyLookup, type KvKeyLookup } from './_kv-lookup.ts';
import { takeQueryParam } from './take-query-param.ts';

export { API_KEY_PREFIX, apiKeyDigestHex, generateApiKey, hashApiKey, MAX_API_KEY_LENGTH, STORED_HASH } from './api-key-hash.ts';
export { KV_KEY_PREFIX } from './_kv-lookup.ts';
export { takeQueryParam } from './take-query-param.ts';

/** Default header the key is read from. */
export const DEFAULT_API_KEY_HEADER = 'x-api-key';
/** Default seconds a KV answer is reused by an instance. */
export const DEFAULT_KV_CACHE_SECONDS = 30;

const HASH_MESSAGE = 'expected a key hash "sha256:<64 hex digits>" (make one with `portico key hash`; never the key itself)';

/**
 * A stored hash. What was found instead is not shown in the message: it may be the key itself,
 * pasted where its hash should be, and validate output never holds a key.
 */
const storedHash = v.pipe(
  v.string(HASH_MESSAGE),
  v.toLowerCase(),
  v.rawCheck(({ dataset, addIssue }) => {
    if (dataset.typed && !STORED_HASH.test(dataset.value)) {
      addIssue({
        message: HASH_MESSAGE,
        input: `<${dataset.value.length} character${dataset.value.length === 1 ? '' : 's'}, not shown>`,
      });
    }
  }),
);

/** One consumer of the `apiKeys` block. */
const ConsumerSchema = v.strictObject(
  {
    /** The key's hash, or several (a key being rotated: old and new both work). */
    hash: v.union(
      [
        storedHash,
        v.pipe(v.array(storedHash, 'expected an array of key hashes'), v.minLength(1, 'expected at least one key hash')),
      ],
      'expected a key hash "sha256:<64 hex digits>" or an array of them',
    ),
    ...consumerFields,
  },
  'expected a consumer { hash, plan?, scopes?, metadata?, limits? }',
);

const ApiKeysSchema = v.record(
  blockName('a consumer'),
  ConsumerSchema,
  'expected an object of consumer name → { hash, plan?, scopes?, metadata?, limits? }',
);

const queryParam = v.pipe(
  v.string('expected a query parameter name (string)'),
  v.regex(/^[A-Za-z0-9_.~-]+$/, 'expected a query parameter name of letters, digits, _ . ~ -'),
);

const RouteBlockSchema = v.strictObject(
  {
    /** Header the key is read from, default `x-api-key`; `false` to take it from the query only. */
    header: v.optional(v.union([v.literal(false), headerName], 'expected a header name, or false')),
    /** Query parameter the key may be given in (default: none). It never reaches the origin. */
    query: v.optional(queryParam),
    /** Consumers of `apiKeys` accepted on this route (default: all), KV consumers included. */
    consumers: v.optional(
      v.pipe(
        v.array(blockName('a consumer'), 'expected an array of consumer names'),
        v.minLength(1, 'expected at least one consumer'),
      ),
    ),
    /** Look keys up in the KV store too: `true`, or `{ cacheSeconds }` (default 30; 0: read the store every time). */
    kv: v.optional(
      v.union(
        [
          v.boolean('expected true or false'),
          v.strictObject(
            {
              cacheSeconds: v.optional(wholeNumber('cacheSeconds', 'seconds', 0, 3600)),
            },
            'expected { cacheSeconds? }',
          ),
        ],
        'expected true, false or { cacheSeconds }',
      ),
    ),
  },
  'expected an apiKey block { header?, query?, consumers?, kv? }',
);

export interface CompiledConsumer {
  consumer: string;
  /** Hex SHA-256 digests (no `sha256:` label). */
  hashes: string[];
  plan?: string;
  scopes?: string[];
  metadata?: Record<string, unknown>;
  limits?: Record<string, unknown>;
}

export interface CompiledApiKey {
  /** Lower-case header name, or null when the key is taken from the query only. */
  header: string | null;
  query: string | null;
  /** The `WWW-Authenticate` value of refusals. */
  challenge: string;
  /** Consumers from `apiKeys` accepted on this route. */
  consumers: CompiledConsumer[];
  /** Names a KV record's consumer must have (null: any). */
  allowed: string[] | null;
  kv: { cacheSeconds: number } | null;
}

/** Headers the key may not be read from: the gateway manages them, or they mean something else. */
const UNUSABLE_HEADERS = new Set(['host', 'content-length', 'content-type', 'cookie', ...HOP_BY_HOP_HEADERS]);

type ApiKeysBlock = v.InferOutput<typeof ApiKeysSchema>;

function apiKeysOf(config: Record<string, unknown>): ApiKeysBlock {
  return (config['apiKeys'] ?? {}) as ApiKeysBlock;
}

function hashesOf(c: ApiKeysBlock[string]): string[] {
  return (typeof c.hash === 'string' ? [c.hash] : c.hash).map((h) => h.slice('sha256:'.length));
}

/**
 * Why a Map keyed by the digest does not leak the keys, where a string compare of keys would:
 * the lookup (hashing the digest's text into a bucket, then comparing strings, which may stop
 * at the first difference) runs on SHA-256(presented key), never on the key. Its timing could
 * tell an attacker at most how much of SHA-256(their input) agrees with a stored digest, and they
 * cannot choose inputs whose digests share a chosen prefix (that is a preimage search on SHA-256).
 * Even a whole stored digest, learnt this way or read from the config (it is not a secret), does
 * not give back a key of 256 random bits. So the per-request work stays O(1) in the number of
 * keys, and the time to answer does not depend on how close a guess is to a real key.
 */
type KeyIndex = Map<string, Identity>;

export const apiKeyPolicy = definePolicy({
  name: 'apiKey',
  phase: 'auth',
  bodies: 'none',
  defaultable: true,
  schema: RouteBlockSchema,
  blocks: { apiKeys: ApiKeysSchema },
  compileBlocks(config, issues) {
    const owner = new Map<string, string>();
    for (const [name, c] of Object.entries(apiKeysOf(config))) {
      for (const field of ['plan', 'limits'] as const) {
        if (c.metadata && Object.hasOwn(c.metadata, field)) {
          issues.push({ path: `apiKeys.${name}.metadata.${field}`, message: `write ${field} as apiKeys.${name}.${field}` });
        }
      }
      for (const hash of hashesOf(c)) {
        const first = owner.get(hash);
        if (first !== undefined) {
          issues.push({
            path: `apiKeys.${name}.hash`,
            message:
              first === name
                ? 'the same key hash is listed twice'
                : `the same key hash as apiKeys.${first} (a key belongs to one consumer)`,
          });
        } else owner.set(hash, name);
      }
    }
  },
  compile(block, { at, issues, config }): CompiledApiKey | undefined {
    const before = issues.length;
    const header = block.header === false ? null : (block.header ?? DEFAULT_API_KEY_HEADER).toLowerCase();
    const query = block.query ?? null;
    if (header === null && query === null) {
      issues.push({
        path: `${at}.header`,
        message: 'expected a header or a query parameter to read the key from (both are off)',
      });
    }
    if (header !== null && UNUSABLE_HEADERS.has(header)) {
      issues.push({
        path: `${at}.header`,
        message: `header "${header}" cannot carry an API key (the gateway manages it, or it means something else)`,
      });
    }
    const all = apiKeysOf(config);
    const defined = Object.keys(all);
    (block.consumers ?? []).forEach((name, i) => {
      if (!Object.hasOwn(all, name) && !(block.kv && NAME.test(name))) {
        issues.push({
          path: `${at}.consumers[${i}]`,
          message: `unknown consumer "${name}"${defined.length ? ` (defined: ${defined.join(', ')})` : ' (apiKeys defines none)'}`,
        });
      }
    });
    const chosen = block.consumers ? defined.filter((n) => block.consumers?.includes(n)) : defined;
    const kv = block.kv
      ? { cacheSeconds: block.kv === true ? DEFAULT_KV_CACHE_SECONDS : (block.kv.cacheSeconds ?? DEFAULT_KV_CACHE_SECONDS) }
      : null;
    if (chosen.length === 0 && kv === null && issues.length === before) {
      issues.push({
        path: at,
        message: 'no key could ever be accepted: define consumers in the top-level apiKeys block, or turn on kv',
      });
    }
    if (issues.length > before) return undefined;
    const consumers = chosen.map((name): CompiledConsumer => {
      const c = all[name] as ApiKeysBlock[string];
      return {
        consumer: name,
        hashes: hashesOf(c),
        ...(c.plan !== undefined ? { plan: c.plan } : {}),
        ...(c.scopes !== undefined ? { scopes: c.scopes } : {}),
        ...(c.metadata !== undefined ? { metadata: c.metadata } : {}),
        ...(c.limits !== undefined ? { limits: c.limits } : {}),
      };
    });
    const challenge = [
      'ApiKey',
      [header ? `header="${header}"` : '', query ? `query="${query}"` : ''].filter(Boolean).join(', '),
    ].join(' ');
    return { header, query, challenge, consumers, allowed: block.consumers ?? null, kv };
  },
  needs: (c): Need[] => (c.kv ? ['kv'] : []),
  describe(c) {
    const from = [c.header ? `header ${c.header}` : '', c.query ? `query ${c.query}` : ''].filter(Boolean).join(' or ');
    return `${from}, ${c.consumers.length} consumer${c.consumers.length === 1 ? '' : 's'}${c.kv ? `, KV (cache ${c.kv.cacheSeconds} s)` : ''}`;
  },
  init: (runtime): KvKeyLookup => createKvKeyLookup(runtime.stores.kv, runtime.now),
  create(c, runtime, kvLookup) {
    const index: KeyIndex = new Map();
    for (const consumer of c.consumers) {
      const identity = consumerIdentity(consumer);
      for (const hash of consumer.hashes) index.set(hash, identity);
    }
    const challenge = { 'www-authenticate': c.challenge };
    const where = [c.header ? `the ${c.header} header` : '', c.query ? `the ${c.query} query parameter` : '']
      .filter(Boolean)
      .join(' or ');
    const allowed = c.allowed ? new Set(c.allowed) : null;
    const kvMaxAgeMs = (c.kv?.cacheSeconds ?? 0) * 1000;
    const invalid = 'The API key is not valid.';

    return async (exchange, next) => {
      let presented: string | null = null;
      if (c.header !== null) {
        const value = exchange.request.headers.get(c.header);
        exchange.upstreamHeaders.delete(c.header);
        if (value) presented = value;
      }
      if (c.query !== null) {
        const taken = takeQueryParam(exchange.upstreamSearch, c.query);
        exchange.upstreamSearch = taken.search;
        if (presented === null) {
          const given = taken.values.filter((x) => x !== '');
          if (taken.malformed || new Set(given).size > 1) return exchange.refuse('ERR_API_KEY_INVALID', invalid, challenge);
          presented = given[0] ?? null;
        }
      }
      if (presented === null) {
        return exchange.refuse('ERR_API_KEY_MISSING', `This route needs an API key in ${where}.`, challenge);
      }
      if (presented.length > MAX_API_KEY_LENGTH) return exchange.refuse('ERR_API_KEY_INVALID', invalid, challenge);

      const digest = await apiKeyDigestHex(presented);
      let identity = index.get(digest);
      if (identity === undefined && c.kv !== null) {
        let answer: Awaited<ReturnType<KvKeyLookup['lookup']>>;
        try {
          answer = await kvLookup.lookup(digest, kvMaxAgeMs);
        } catch (err) {
          runtime.log({
            level: 'error',
            msg: 'API key store unavailable; request refused',
            requestId: exchange.requestId,
            route: exchange.route.id,
            cause: err instanceof Error ? err.message : String(err),
          });
          return exchange.refuse('ERR_API_KEY_UNAVAILABLE', 'The API key could not be checked. Try again later.');
        }
        if (answer.kind === 'refused') {
          runtime.log({
            level: 'warn',
            msg: `API key refused: ${answer.reason}`,
            requestId: exchange.requestId,
            route: exchange.route.id,
          });
        } else if (answer.kind === 'found' && (allowed === null || allowed.has(answer.identity.consumer ?? ''))) {
          identity = answer.identity;
        }
      }
      if (identity === undefined) return exchange.refuse('ERR_API_KEY_INVALID', invalid, challenge);
      // With a JWT on the same route (jwt runs first), both were required and both hold: the
      // user stays the token's (subject, claims, scopes), the consumer and its plan are the key's.
      const user = exchange.identity;
      exchange.identity =
        user === null
          ? identity
          : {
              ...user,
              consumer: identity.consumer,
              metadata: identity.metadata,
              scopes: [...new Set([...user.scopes, ...identity.scopes])],
            };
      exchange.logFields['consumer'] = identity.consumer;
      return next();
    };
  },
});
