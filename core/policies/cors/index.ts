/**
 * `cors`: Cross-Origin Resource Sharing (Fetch standard, §3.2) at the edge, per route or for all
 * routes through `defaults.cors`.
 *
 * - A preflight (OPTIONS with Origin and Access-Control-Request-Method) is answered here, 204,
 *   and never forwarded. When no route takes OPTIONS on the path, the gateway gives a preflight
 *   to the route that takes the method it asks about (`findPreflightRoute`, core/router), so
 *   `match.methods` need not name OPTIONS. A preflight carries no custom headers, so a route that
 *   needs a header condition (a canary) is never chosen for one: its sibling route answers.
 * - A disallowed origin gets no CORS headers at all. Its actual requests still go to the origin
 *   (CORS is enforced by the browser, which then hides the response); its preflight is refused
 *   with 403 problem `ERR_CORS_ORIGIN_DENIED`, not a bare 204: the browser fails it the same
 *   way, but a developer looking at the network tab or curl sees why, and the access log has the
 *   code.
 * - The answer depends on the origin unless `origins` is "*", so every response of a route with an
 *   origin list carries `Vary: Origin` (appended to the origin's own Vary), including responses to
 *   requests without an Origin and to disallowed ones: a shared cache must not serve one origin's
 *   answer to another.
 * - The cors handler is the outermost policy, so it also decorates what the later policies and
 *   the upstream step return (a 401 from auth, a 502 problem), and the browser can read them.
 * - On a cors route the gateway's policy is the only one: the origin's own Access-Control-*
 *   response headers are removed and the policy's are set. Keeping them would let an origin's
 *   `Access-Control-Allow-Origin: *` reach a disallowed origin, or give two conflicting values.
 *
 * Why not `hono/cors`: it is the right size, but it does not fit the compiled-per-route model.
 * It runs on a Hono `Context` (one more object per request, and its `c.res` header merging),
 * while a policy gets the exchange and returns a Response; it matches an origin list with a
 * linear `includes` and has no wildcard or regex form; it treats every OPTIONS as a preflight
 * (a plain OPTIONS would never reach the origin); it answers a disallowed preflight with 204 and
 * the allowed methods anyway; and it leaves the origin's own Access-Control-* headers in place
 * for a disallowed origin. Everything here is computed once in `compile`/`create`: the origin
 * set, the wildcard suffixes, the compiled regexes and the header values.
 */
import * as v from 'valibot';
import { HEADER_NAME, headerName, wholeNumber } from '../../config/primitives.ts';
import { definePolicy } from '../../pipeline/policy.ts';
import { compileOrigins, createOriginTest, type CompiledOrigins } from './_origin-match.ts';

/** Methods allowed when `methods` is not given (the common REST set; GET, HEAD, POST need no preflight anyway). */
export const DEFAULT_CORS_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
/** Longest Access-Control-Max-Age accepted, in seconds: Firefox caps at 86400 (Chromium at 7200). */
export const MAX_CORS_MAX_AGE = 86_400;
/** Longest Access-Control-Request-Headers reflected; a longer list is not reflected. */
const MAX_REFLECTED_LENGTH = 2048;
/** A comma-separated list of header names, as browsers send in Access-Control-Request-Headers. */
const HEADER_LIST = new RegExp(`^${HEADER_NAME.source.slice(1, -1)}(?:[ \\t]*,[ \\t]*${HEADER_NAME.source.slice(1, -1)})*$`);

/** Headers only this policy sets on a cors route; the origin's copies are removed. */
const CORS_RESPONSE_HEADERS = [
  'access-control-allow-origin',
  'access-control-allow-credentials',
  'access-control-expose-headers',
  'access-control-allow-methods',
  'access-control-allow-headers',
  'access-control-max-age',
] as const;

const METHOD = v.pipe(
  v.string('expected a method name (string)'),
  v.regex(/^(?:[A-Z]+|\*)$/, 'expected an upper-case method name such as PUT, or "*"'),
);

const originEntry = v.union(
  [
    v.pipe(v.string(), v.minLength(1, 'expected a non-empty origin')),
    v.strictObject(
      { regex: v.pipe(v.string('expected a regular expression (string)'), v.minLength(1, 'expected a non-empty regex')) },
      'expected { regex }',
    ),
  ],
  'expected an origin ("https://app.example.com", "https://*.example.com") or { "regex": "..." }',
);

const corsSchema = v.strictObject(
  {
    /**
     * Allowed origins: "*" (any), or a list of exact origins, wildcard subdomains
     * (`https://*.example.com`: any depth, not the apex) and `{ "regex": "..." }` (full match).
     */
    origins: v.union(
      [
        v.literal('*'),
        v.pipe(v.array(originEntry, 'expected an array of origins'), v.minLength(1, 'expected at least one origin')),
      ],
      'expected "*" or an array of origins',
    ),
    /** Methods a preflight may ask for. Default GET, HEAD, POST, PUT, PATCH, DELETE. */
    methods: v.optional(v.pipe(v.array(METHOD, 'expected an array of methods'), v.minLength(1, 'expected at least one method'))),
    /**
     * Request headers a preflight may ask for: a list of names, or "reflect" (the default) to allow
     * whatever the preflight asks for (the origin check is the gate; as Kong and hono do).
     */
    allowHeaders: v.optional(
      v.union(
        [v.literal('reflect'), v.array(headerName, 'expected an array of header names')],
        'expected "reflect" or an array of header names',
      ),
    ),
    /** Response headers the browser lets the page read beyond the safelisted ones. Default none. */
    exposeHeaders: v.optional(v.array(headerName, 'expected an array of header names')),
    /** Whether cookies and HTTP auth go with cross-origin requests (Access-Control-Allow-Credentials). Default false. */
    credentials: v.optional(v.boolean('expected true or false')),
    /** How long, in seconds, a browser may cache a preflight answer. Default: not sent (browsers use 5 s). */
    // Browsers cap it lower (Firefox 86400, Chromium 7200).
    maxAge: v.optional(wholeNumber('maxAge', 'seconds', 0, MAX_CORS_MAX_AGE)),
  },
  'expected a cors object { origins, methods?, allowHeaders?, exposeHeaders?, credentials?, maxAge? }',
);

export interface CompiledCors {
  origins: CompiledOrigins;
  /** Access-Control-Allow-Methods. */
  methods: string;
  /** Access-Control-Allow-Headers; null: reflect the preflight's Access-Control-Request-Headers. */
  allowHeaders: string | null;
  /** Access-Control-Expose-Headers; "" for none. */
  exposeHeaders: string;
  credentials: boolean;
  /** Access-Control-Max-Age; "" for not sent. */
  maxAge: string;
}

/** Appends `token` to a Vary header unless it is there already (or Vary is `*`), keeping the origin's. */
export function appendVary(headers: Headers, token: string): void {
  const vary = headers.get('vary');
  if (vary === null || vary.trim() === '') {
    headers.set('vary', token);
    return;
  }
  const lower = token.toLowerCase();
  for (const part of vary.split(',')) {
    const t = part.trim().toLowerCase();
    if (t === lower || t === '*') return;
  }
  headers.set('vary', `${vary}, ${token}`);
}

const WILDCARD_WITH_CREDENTIALS = 'cannot be combined with credentials: true (browsers refuse a "*" on credentialed requests)';

export const corsPolicy = definePolicy({
  name: 'cors',
  phase: 'cors',
  bodies: 'none',
  defaultable: true,
  schema: corsSchema,
  compile(block, { at, issues }): CompiledCors | undefined {
    const before = issues.length;
    const credentials = block.credentials === true;
    if (credentials) {
      if (block.origins === '*')
        issues.push({ path: `${at}.origins`, message: `"*" ${WILDCARD_WITH_CREDENTIALS}; list the origins instead` });
      if (block.methods?.includes('*'))
        issues.push({ path: `${at}.methods`, message: `"*" ${WILDCARD_WITH_CREDENTIALS}; list the methods` });
      if (Array.isArray(block.allowHeaders) && block.allowHeaders.includes('*')) {
        issues.push({
          path: `${at}.allowHeaders`,
          message: `"*" ${WILDCARD_WITH_CREDENTIALS}; list the headers, or use "reflect"`,
        });
      }
      if (block.exposeHeaders?.includes('*'))
        issues.push({ path: `${at}.exposeHeaders`, message: `"*" ${WILDCARD_WITH_CREDENTIALS}; list the headers` });
    }
    const origins = compileOrigins(block.origins, `${at}.origins`, issues);
    if (!origins || issues.length > before) return undefined;
    const methods = [...new Set(block.methods ?? DEFAULT_CORS_METHODS)];
    const allow = block.allowHeaders ?? 'reflect';
    return {
      origins,
      methods: methods.join(', '),
      allowHeaders: allow === 'reflect' ? null : [...new Set(allow.map((h) => h.toLowerCase()))].join(', '),
      exposeHeaders: [...new Set((block.exposeHeaders ?? []).map((h) => h.toLowerCase()))].join(', '),
      credentials,
      maxAge: block.maxAge === undefined ? '' : String(block.maxAge),
    };
  },
  describe(c) {
    const o = c.origins;
    const forms = o.any
      ? 'any origin'
      : [...o.exact, ...o.wildcards.map((w) => `${w.prefix}*${w.suffix}`), ...o.regexes.map((r) => `/${r}/`)].join(', ');
    return `${forms}${c.credentials ? ', credentials' : ''}`;
  },
  create(c) {
    const isAllowed = createOriginTest(c.origins);
    const any = c.origins.any;
    const reflect = c.allowHeaders === null;

    /** The preflight answer: 204 with the policy, never forwarded. */
    function preflight(origin: string, requested: string | null): Response {
      const headers = new Headers();
      headers.set('access-control-allow-origin', any ? '*' : origin);
      if (c.credentials) headers.set('access-control-allow-credentials', 'true');
      headers.set('access-control-allow-methods', c.methods);
      if (reflect) {
        if (requested !== null && requested.length <= MAX_REFLECTED_LENGTH && HEADER_LIST.test(requested.trim())) {
          headers.set('access-control-allow-headers', requested.trim());
        }
      } else if (c.allowHeaders !== '') {
        headers.set('access-control-allow-headers', c.allowHeaders as string);
      }
      if (c.maxAge !== '') headers.set('access-control-max-age', c.maxAge);
      if (!any) appendVary(headers, 'Origin');
      if (reflect) appendVary(headers, 'Access-Control-Request-Headers');
      return new Response(null, { status: 204, headers });
    }

    return async (exchange, next) => {
      const request = exchange.request.headers;
      const origin = request.get('origin');
      if (exchange.method === 'OPTIONS' && origin !== null && request.has('access-control-request-method')) {
        if (isAllowed(origin)) return preflight(origin, request.get('access-control-request-headers'));
        return exchange.refuse(
          'ERR_CORS_ORIGIN_DENIED',
          "The request's origin is not allowed by this route's CORS policy.",
          any ? undefined : { vary: 'Origin' },
        );
      }
      const response = await next();
      const headers = response.headers;
      for (const name of CORS_RESPONSE_HEADERS) headers.delete(name);
      if (any) {
        // The same answer for every origin: no Vary, and set even without an Origin, so a cached copy fits all.
        headers.set('access-control-allow-origin', '*');
        if (c.exposeHeaders !== '') headers.set('access-control-expose-headers', c.exposeHeaders);
        return response;
      }
      appendVary(headers, 'Origin');
      if (origin === null || !isAllowed(origin)) return response;
      headers.set('access-control-allow-origin', origin);
      if (c.credentials) headers.set('access-control-allow-credentials', 'true');
      if (c.exposeHeaders !== '') headers.set('access-control-expose-headers', c.exposeHeaders);
      return response;
    };
  },
});
