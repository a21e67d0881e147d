/**
 * `assertion`: a signed header by which the origin proves that a request came through portico,
 * with the identity headers portico set (algorithm: core/assertion/canonical.ts; the origin's
 * check: `verifyGatewayAssertion` in core/assertion).
 *
 * A policy of its own, in the request phase and last in the list of policies, because it signs
 * what the origin receives: the path after `rewrite`, the query after an API key was cut out of
 * it, and the headers after `requestHeaders`. The identity headers of the route (from its
 * `identity` block) are always signed, sent or not; `signHeaders` adds others.
 */
import * as v from 'valibot';
import { DEFAULT_ASSERTION_HEADER } from '../../assertion/canonical.ts';
import { importAssertionKey } from '../../assertion/hmac.ts';
import { assertionNonce, signGatewayAssertion } from '../../assertion/sign.ts';
import { headerName, secretRef } from '../../config/primitives.ts';
import { PorticoError } from '../../errors.ts';
import { HOP_BY_HOP_HEADERS } from '../../http/headers.ts';
import { definePolicy, type SecretRef } from '../../pipeline/policy.ts';
import type { CompiledIdentity } from '../identity/index.ts';

/** Shortest secret accepted, in characters: 32 random characters or more (`openssl rand -base64 32` gives 44). */
export const MIN_ASSERTION_SECRET_LENGTH = 32;

const RouteBlockSchema = v.strictObject(
  {
    /** The HMAC secret, `{ "env": "NAME" }`, shared with the origins. */
    // compileConfig never quotes what it finds where a secret reference belongs.
    secret: secretRef,
    /** Header carrying the assertion, default `x-portico-assertion`. */
    header: v.optional(headerName),
    /** More request headers to sign, as sent to the origin (e.g. `x-forwarded-for`, `x-request-id`). */
    signHeaders: v.optional(v.array(headerName, 'expected an array of header names')),
  },
  'expected an assertion block { secret: { "env": "NAME" }, header?, signHeaders? }',
);

export interface CompiledAssertion {
  secret: SecretRef;
  /** Config path of the secret, for the startup error when it is not set. */
  secretAt: string;
  header: string;
  /** Signed headers, lower-case, in `h` order: the route's identity headers, then `signHeaders`. */
  signed: string[];
}

export const assertionPolicy = definePolicy({
  name: 'assertion',
  phase: 'request',
  bodies: 'none',
  defaultable: true,
  schema: RouteBlockSchema,
  compile(block, { at, issues, siblings }): CompiledAssertion | undefined {
    const before = issues.length;
    const header = (block.header ?? DEFAULT_ASSERTION_HEADER).toLowerCase();
    if (HOP_BY_HOP_HEADERS.has(header) || ['host', 'content-length', 'authorization', 'cookie'].includes(header)) {
      issues.push({ path: `${at}.header`, message: `header "${header}" cannot carry the assertion` });
    }
    const identity = siblings['identity'] as CompiledIdentity | undefined;
    const signed = [
      ...new Set([...(identity?.headers.map((h) => h.name) ?? []), ...(block.signHeaders ?? []).map((n) => n.toLowerCase())]),
    ];
    (block.signHeaders ?? []).forEach((name, i) => {
      const lower = name.toLowerCase();
      if (lower === header) issues.push({ path: `${at}.signHeaders[${i}]`, message: 'the assertion cannot sign itself' });
      else if (HOP_BY_HOP_HEADERS.has(lower)) {
        issues.push({
          path: `${at}.signHeaders[${i}]`,
          message: `"${lower}" is hop-by-hop: the origin never receives it as sent`,
        });
      }
    });
    if (issues.length > before) return undefined;
    return { secret: block.secret, secretAt: `${at}.secret`, header, signed };
  },
  compileBlocks(config, issues) {
    // The signed path is the one the origin receives, base path included: a route whose origins
    // differ in base path would sign a path that one of them never sees.
    const origins = (config['origins'] ?? {}) as Record<string, { url: string }>;
    const defaults = (config['defaults'] ?? {}) as Record<string, unknown>;
    const routes = (config['routes'] ?? []) as ({ upstream?: string | string[]; assertion?: unknown } | null)[];
    routes.forEach((route, i) => {
      const block = route?.assertion ?? defaults['assertion'];
      if (!route || block === undefined || block === false) return;
      const names = typeof route.upstream === 'string' ? [route.upstream] : (route.upstream ?? []);
      const bases = new Set(
        names
          .filter((n) => Object.hasOwn(origins, n))
          .map((n) => new URL((origins[n] as { url: string }).url).pathname.replace(/\/+$/, '')),
      );
      if (bases.size > 1) {
        issues.push({
          path: `routes[${i}].upstream`,
          message: `the origins ${names.join(', ')} have different base paths, and the route signs a gateway assertion over the path the origin receives: give them one base path`,
        });
      }
    });
  },
  gatewayHeaders: (c) => [c.header],
  describe: (c) => `${c.header}, signs ${c.signed.length ? c.signed.join(', ') : 'method, path and query'}`,
  async create(c, runtime) {
    const secret = await runtime.secret(c.secret, c.secretAt);
    if (secret.length < MIN_ASSERTION_SECRET_LENGTH) {
      throw new PorticoError(
        'ERR_SECRET_MISSING',
        `${c.secretAt}: secret ${c.secret.env} is shorter than ${MIN_ASSERTION_SECRET_LENGTH} characters; use a random one (openssl rand -base64 32)`,
      );
    }
    const key = await importAssertionKey(secret);
    const { header, signed } = c;
    return async (exchange, next) => {
      const origin = runtime.config.origins[exchange.route.upstream[0] ?? ''];
      // The path and query as the forwarder puts them on the wire: WHATWG URL serialization of
      // the URL it is given (origin + base path + path + query), which is also what an origin's
      // `new URL(request.url)` gives back.
      const url = new URL(`http://origin.invalid${origin?.basePath ?? ''}${exchange.upstreamPath}${exchange.upstreamSearch}`);
      const headers = signed.map((name) => [name, exchange.upstreamHeaders.get(name) ?? ''] as const);
      exchange.upstreamHeaders.set(
        header,
        await signGatewayAssertion(key, {
          timestamp: Math.floor(runtime.now() / 1000),
          nonce: assertionNonce(),
          method: exchange.method,
          target: url.pathname + url.search,
          headers,
        }),
      );
      return next();
    };
  },
});
