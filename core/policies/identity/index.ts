/**
 * `identity`: the verified identity (set by the `jwt` or `apiKey` policy, in the auth phase)
 * forwarded to the origin as headers: the consumer, the subject, the scopes, the auth kind, and
 * chosen claims and metadata. Values are encoded so that nothing a token carries can break out of
 * its header (identity-header-value.ts) and are bounded in length.
 *
 * Every header name this policy may set, on any route, is one that only the gateway sets: the
 * gateway strips client-sent copies of all of them from every request, on every route, with or
 * without auth (`gatewayHeaders`, collected into `CompiledConfig.gatewayHeaders`). So an origin
 * behind portico can read `x-portico-consumer` and know that portico wrote it, or that nobody did.
 */
import * as v from 'valibot';
import { headerName, wholeNumber } from '../../config/primitives.ts';
import { HOP_BY_HOP_HEADERS } from '../../http/headers.ts';
import { definePolicy, type Identity } from '../../pipeline/policy.ts';
import { identityHeaderValue } from './identity-header-value.ts';

export { identityHeaderValue } from './identity-header-value.ts';

/** Default header names. */
export const DEFAULT_IDENTITY_HEADERS = {
  consumer: 'x-portico-consumer',
  subject: 'x-portico-subject',
  scopes: 'x-portico-scopes',
  kind: 'x-portico-auth',
} as const;

/** Default bound on one header value, in characters after encoding. */
export const DEFAULT_MAX_VALUE_LENGTH = 1024;

const optionalHeader = (what: string) =>
  v.optional(v.union([v.literal(false), headerName], `expected a header name for the ${what}, or false to not send it`));

const claimName = v.pipe(
  v.string('expected a claim name (string)'),
  v.minLength(1, 'expected a non-empty claim name'),
  v.maxLength(256, 'expected a claim name of at most 256 characters'),
);

const RouteBlockSchema = v.strictObject(
  {
    /** Header for the consumer (API-key consumer, or the JWT's consumer claim); default `x-portico-consumer`. */
    consumer: optionalHeader('consumer'),
    /** Header for the JWT `sub`; default `x-portico-subject`. */
    subject: optionalHeader('subject'),
    /** Header for the scopes, space-separated; default `x-portico-scopes`. */
    scopes: optionalHeader('scopes'),
    /** Header for which policy verified the request (`jwt` or `apiKey`); default `x-portico-auth`. */
    kind: optionalHeader('auth kind'),
    /** JWT claims to forward: claim name (top level, as written in the token) → header. */
    claims: v.optional(v.record(claimName, headerName, 'expected an object of claim name → header name')),
    /** API-key metadata to forward (`plan`, or a key of the consumer's metadata) → header. */
    metadata: v.optional(v.record(claimName, headerName, 'expected an object of metadata key → header name')),
    /** Longest value sent, in characters after encoding, default 1024; a longer value is not sent (and is logged). */
    maxValueLength: v.optional(wholeNumber('maxValueLength', 'characters', 16, 8192)),
  },
  'expected an identity block { consumer?, subject?, scopes?, kind?, claims?, metadata?, maxValueLength? }',
);

export type IdentitySource = { from: 'consumer' | 'subject' | 'scopes' | 'kind' } | { from: 'claim' | 'metadata'; key: string };

export interface CompiledIdentityHeader {
  /** Lower-case header name. */
  name: string;
  source: IdentitySource;
}

export interface CompiledIdentity {
  headers: CompiledIdentityHeader[];
  maxValueLength: number;
}

/**
 * Names no policy may claim for itself: stripping them from every client request would break
 * the request (framing, host, cookies, credentials) or the gateway's own forwarding headers.
 */
const RESERVED = new Set([
  ...HOP_BY_HOP_HEADERS,
  'host',
  'content-length',
  'content-type',
  'content-encoding',
  'authorization',
  'cookie',
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-port',
  'x-real-ip',
  'x-request-id',
]);

function identityValue(identity: Identity, source: IdentitySource): unknown {
  switch (source.from) {
    case 'consumer':
      return identity.consumer;
    case 'subject':
      return identity.subject;
    case 'scopes':
      return identity.scopes;
    case 'kind':
      return identity.kind;
    case 'claim':
      return Object.hasOwn(identity.claims, source.key) ? identity.claims[source.key] : undefined;
    case 'metadata':
      return Object.hasOwn(identity.metadata, source.key) ? identity.metadata[source.key] : undefined;
  }
}

export const identityPolicy = definePolicy({
  name: 'identity',
  phase: 'identity',
  bodies: 'none',
  defaultable: true,
  schema: RouteBlockSchema,
  compile(block, { at, issues, siblings }): CompiledIdentity | undefined {
    const before = issues.length;
    const headers: CompiledIdentityHeader[] = [];
    const used = new Map<string, string>();
    // The API key's header on this route is read from the client: it cannot also be an identity header.
    const keyHeader = (siblings['apiKey'] as { header?: string | null } | undefined)?.header ?? null;
    const add = (name: string, source: IdentitySource, path: string) => {
      const lower = name.toLowerCase();
      if (RESERVED.has(lower)) {
        issues.push({
          path,
          message: `header "${lower}" cannot carry identity (the gateway strips identity headers from every request, and this one is needed)`,
        });
        return;
      }
      if (lower === keyHeader) {
        issues.push({ path, message: `header "${lower}" is where this route reads its API key` });
        return;
      }
      const first = used.get(lower);
      if (first !== undefined) {
        issues.push({ path, message: `header "${lower}" is already used by ${first}` });
        return;
      }
      used.set(lower, path);
      headers.push({ name: lower, source });
    };
    for (const field of ['consumer', 'subject', 'scopes', 'kind'] as const) {
      const given = block[field];
      if (given === false) continue;
      add(given ?? DEFAULT_IDENTITY_HEADERS[field], { from: field }, `${at}.${field}`);
    }
    for (const [key, name] of Object.entries(block.claims ?? {}))
      add(name, { from: 'claim', key }, `${at}.claims[${JSON.stringify(key)}]`);
    for (const [key, name] of Object.entries(block.metadata ?? {}))
      add(name, { from: 'metadata', key }, `${at}.metadata[${JSON.stringify(key)}]`);
    if (issues.length > before) return undefined;
    if (headers.length === 0) {
      issues.push({ path: at, message: 'every identity header is turned off: remove the block, or name a header' });
      return undefined;
    }
    return { headers, maxValueLength: block.maxValueLength ?? DEFAULT_MAX_VALUE_LENGTH };
  },
  gatewayHeaders: (c) => c.headers.map((h) => h.name),
  describe: (c) => c.headers.map((h) => h.name).join(', '),
  create(c, runtime) {
    const { headers, maxValueLength } = c;
    return (exchange, next) => {
      const identity = exchange.identity;
      if (identity !== null) {
        for (const h of headers) {
          const value = identityHeaderValue(identityValue(identity, h.source), h.source.from === 'scopes' ? ' ' : ',');
          if (value === null) continue;
          if (value.length > maxValueLength) {
            // Cut short, an identifier could name someone else: the header is left out instead.
            runtime.log({
              level: 'warn',
              msg: `identity header ${h.name} not sent: its value is longer than ${maxValueLength} characters`,
              requestId: exchange.requestId,
              route: exchange.route.id,
            });
            continue;
          }
          exchange.upstreamHeaders.set(h.name, value);
        }
      }
      return next();
    };
  },
});
