/**
 * `securityHeaders`: security response headers, opt-in per route or for all routes through
 * `defaults.securityHeaders`. With `{}` it sets `X-Content-Type-Options: nosniff`,
 * `Referrer-Policy: strict-origin-when-cross-origin` and `X-Frame-Options: DENY`; HSTS and CSP
 * only when configured.
 *
 * The origin's own value wins by default: a header the origin already sent is kept, and the
 * gateway fills in the ones it did not send. The origin knows what its pages need (a CSP with
 * per-response nonces, a widget that must be framed), and a gateway-wide default must not break
 * them silently. `override: true` makes the gateway's values replace the origin's. Either way a
 * route's `responseHeaders` runs after this policy on the way back, so it has the last word.
 *
 * It runs in the response phase: it decorates what the origin (or the upstream step's problems)
 * returned, not the refusals of earlier policies (a preflight, a 401).
 *
 * Why not `hono/secure-headers`: it runs on a Hono `Context` (one more object per request, where
 * a policy gets the exchange and returns a Response); its defaults turn on headers meant for
 * HTML apps that change how an API can be used cross-origin (Cross-Origin-Resource-Policy
 * same-origin blocks no-cors embedding, Cross-Origin-Opener-Policy, Origin-Agent-Cluster) and
 * HSTS on every response; and its options include functions (CSP nonces), which cannot be part
 * of the JSON that `portico build` embeds. What it does per request, setting a precomputed list of
 * headers, is what this policy does, on the exchange's Response.
 */
import * as v from 'valibot';
import { headerValue, wholeNumber } from '../../config/primitives.ts';
import { definePolicy } from '../../pipeline/policy.ts';

/** Referrer-Policy tokens (W3C Referrer Policy §3). */
export const REFERRER_POLICIES = [
  'no-referrer',
  'no-referrer-when-downgrade',
  'origin',
  'origin-when-cross-origin',
  'same-origin',
  'strict-origin',
  'strict-origin-when-cross-origin',
  'unsafe-url',
] as const;

/** One year, in seconds: the default HSTS max-age and the minimum the preload list accepts. */
export const HSTS_PRELOAD_MIN_AGE = 31_536_000;

const seconds = wholeNumber('maxAge', 'seconds', 0);

/** A CSP source for frame-ancestors: 'self', 'none', a scheme, or a host source; no spaces, `;` or `,`. */
const FRAME_SOURCE =
  /^(?:'self'|'none'|[a-z][a-z0-9+.-]*:|(?:[a-z][a-z0-9+.-]*:\/\/)?(?:\*\.)?[a-z0-9.-]+(?::(?:[0-9]{1,5}|\*))?)$/;

const schema = v.strictObject(
  {
    /** Strict-Transport-Security. `{}` is max-age one year. Browsers ignore it over plain http. */
    hsts: v.optional(
      v.union(
        [
          v.literal(false),
          v.strictObject(
            {
              /** Seconds, default 31536000 (one year). */
              maxAge: v.optional(seconds),
              includeSubDomains: v.optional(v.boolean('expected true or false')),
              /** Asks to be on the browsers' preload list: needs includeSubDomains and a max-age of a year or more. */
              preload: v.optional(v.boolean('expected true or false')),
            },
            'expected { maxAge?, includeSubDomains?, preload? }',
          ),
        ],
        'expected an hsts object { maxAge?, includeSubDomains?, preload? }, or false',
      ),
    ),
    /** X-Content-Type-Options: nosniff. Default true. */
    contentTypeOptions: v.optional(v.boolean('expected true or false')),
    /** Referrer-Policy. Default strict-origin-when-cross-origin; false to not send it. */
    referrerPolicy: v.optional(
      v.union([v.literal(false), v.picklist(REFERRER_POLICIES)], `expected one of ${REFERRER_POLICIES.join(', ')}, or false`),
    ),
    /** X-Frame-Options. Default DENY; false to not send it. */
    frameOptions: v.optional(
      v.union([v.literal(false), v.picklist(['DENY', 'SAMEORIGIN'])], 'expected "DENY", "SAMEORIGIN" or false'),
    ),
    /** CSP frame-ancestors sources, e.g. ["'self'", "https://app.example.com"]; added to the CSP. */
    frameAncestors: v.optional(
      v.pipe(
        v.array(v.string('expected a CSP source (string)'), 'expected an array of CSP sources'),
        v.minLength(1, 'expected at least one source'),
      ),
    ),
    /** A Content-Security-Policy value, sent as written. Without it, the origin's CSP passes through. */
    contentSecurityPolicy: v.optional(v.pipe(headerValue, v.minLength(1, 'expected a non-empty policy'))),
    /** Replace the origin's own values of these headers. Default false: the origin's value wins. */
    override: v.optional(v.boolean('expected true or false')),
  },
  'expected a securityHeaders object { hsts?, contentTypeOptions?, referrerPolicy?, frameOptions?, frameAncestors?, contentSecurityPolicy?, override? }',
);

export interface CompiledSecurityHeaders {
  /** Lower-case name and value, in the order they are set. */
  headers: [name: string, value: string][];
  override: boolean;
}

export const securityHeadersPolicy = definePolicy({
  name: 'securityHeaders',
  phase: 'response',
  bodies: 'none',
  defaultable: true,
  schema,
  compile(block, { at, issues }): CompiledSecurityHeaders | undefined {
    const before = issues.length;
    const headers: [string, string][] = [];
    if (block.hsts) {
      const maxAge = block.hsts.maxAge ?? HSTS_PRELOAD_MIN_AGE;
      if (block.hsts.preload && (!block.hsts.includeSubDomains || maxAge < HSTS_PRELOAD_MIN_AGE)) {
        issues.push({
          path: `${at}.hsts.preload`,
          message: `preload needs includeSubDomains: true and maxAge of at least ${HSTS_PRELOAD_MIN_AGE} seconds (the preload list's requirements)`,
        });
      }
      let value = `max-age=${maxAge}`;
      if (block.hsts.includeSubDomains) value += '; includeSubDomains';
      if (block.hsts.preload) value += '; preload';
      headers.push(['strict-transport-security', value]);
    }
    if (block.contentTypeOptions !== false) headers.push(['x-content-type-options', 'nosniff']);
    const referrer = block.referrerPolicy ?? 'strict-origin-when-cross-origin';
    if (referrer !== false) headers.push(['referrer-policy', referrer]);
    const frame = block.frameOptions ?? 'DENY';
    if (frame !== false) headers.push(['x-frame-options', frame]);

    let csp = block.contentSecurityPolicy?.trim().replace(/;\s*$/, '');
    if (block.frameAncestors) {
      const sources = block.frameAncestors.map((s) => (s === 'self' || s === 'none' ? `'${s}'` : s));
      sources.forEach((s, i) => {
        if (!FRAME_SOURCE.test(s)) {
          issues.push({
            path: `${at}.frameAncestors[${i}]`,
            message: `expected a CSP source such as 'self' or https://app.example.com, got ${JSON.stringify(s)}`,
          });
        }
      });
      if (sources.includes("'none'") && sources.length > 1) {
        issues.push({ path: `${at}.frameAncestors`, message: "expected 'none' alone (it means no page may frame this one)" });
      }
      if (csp !== undefined && /(?:^|;)\s*frame-ancestors(?:\s|;|$)/i.test(csp)) {
        issues.push({
          path: `${at}.frameAncestors`,
          message: 'contentSecurityPolicy already has a frame-ancestors directive: give it in one place',
        });
      }
      const directive = `frame-ancestors ${sources.join(' ')}`;
      csp = csp === undefined ? directive : `${csp}; ${directive}`;
    }
    if (csp !== undefined) headers.push(['content-security-policy', csp]);
    if (issues.length > before) return undefined;
    return headers.length === 0 ? undefined : { headers, override: block.override === true };
  },
  describe: (c) => `${c.headers.map(([n]) => n).join(', ')}${c.override ? ' (override)' : ''}`,
  create({ headers, override }) {
    return async (_exchange, next) => {
      const response = await next();
      const h = response.headers;
      for (const [name, value] of headers) if (override || !h.has(name)) h.set(name, value);
      return response;
    };
  },
});
