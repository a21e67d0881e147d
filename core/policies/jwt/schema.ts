/**
 * Config schemas of the `jwt` policy: the top-level `issuers` and `admin` blocks, and the route
 * block. Cross-field rules (an issuer needs `jwksUrl` or `keys`, `none` is refused, references to
 * issuers) are checked in compile.ts, where the messages can name the exact path.
 */
import * as v from 'valibot';
import { blockName, headerName, positiveMs, secretRef, wholeNumber } from '../../config/primitives.ts';

/** Every JWS algorithm the policy can verify (RFC 7518 §3.1, RFC 8037). */
export const JWT_ALGORITHMS = ['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'ES384', 'EdDSA'] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

const seconds = (what: string, max: number) => wholeNumber(what, 'seconds', 0, max);

/** A JWKS URL: http(s) only (a fetch of the gateway's own). */
const jwksUrl = v.pipe(
  v.string('expected the JWKS URL (string)'),
  v.url('expected an absolute http(s) URL for the JWKS'),
  v.regex(/^https?:\/\//i, 'expected an http(s) URL for the JWKS'),
);

/**
 * One issuer. `keys` items are a public JWK (an object with `kty`), a PEM SPKI public key
 * (a string), or an HMAC secret `{ "env": "NAME" }`; they are told apart in compile.ts.
 */
export const issuerSchema = v.strictObject(
  {
    /** Where the issuer publishes its keys (RFC 7517 key set). */
    jwksUrl: v.optional(jwksUrl),
    /** Keys given inline. */
    keys: v.optional(
      v.array(v.unknown(), 'expected an array of keys (JWK objects, PEM strings or { "env": NAME } HMAC secrets)'),
    ),
    /** The algorithms accepted: required, no default (RFC 8725 §3.1). */
    algorithms: v.array(v.string('expected an algorithm name (string)'), 'expected an array of algorithm names, e.g. ["ES256"]'),
    /** Expected `iss` claim. */
    issuer: v.optional(v.pipe(v.string('expected the issuer (iss) as a string'), v.minLength(1, 'expected a non-empty issuer'))),
    /** Accepted `aud` values (a token matches when one of its audiences is listed). */
    audiences: v.optional(
      v.array(v.pipe(v.string('expected an audience (string)'), v.minLength(1, 'expected a non-empty audience'))),
    ),
    /** Leeway for exp, nbf and iat, in seconds, default 30. */
    clockSkewSeconds: v.optional(seconds('clockSkewSeconds', 600)),
    /** Claims that must be present (exp is always required). */
    requiredClaims: v.optional(v.array(v.pipe(v.string('expected a claim name'), v.minLength(1, 'expected a claim name')))),
    /** Check the revocation denylist (KV) for this issuer's tokens, default false. */
    revocation: v.optional(v.boolean('expected revocation as true or false')),
    /** JWKS tuning. */
    jwks: v.optional(
      v.strictObject(
        {
          /** Shortest time a fetched key set is trusted, whatever its Cache-Control says; default 60. */
          minTtlSeconds: v.optional(seconds('minTtlSeconds', 86_400)),
          /** Longest time; default 3600. Used when the response has no max-age: default 600 within the bounds. */
          maxTtlSeconds: v.optional(seconds('maxTtlSeconds', 604_800)),
          /** Least time between two refetches caused by unknown kids, default 30. */
          cooldownSeconds: v.optional(seconds('cooldownSeconds', 3600)),
          /** How long the last good key set is used when refetches fail, default 86400. */
          maxStaleSeconds: v.optional(seconds('maxStaleSeconds', 2_592_000)),
          /** Fetch timeout in milliseconds, default 5000. */
          timeoutMs: v.optional(positiveMs('the JWKS fetch timeout')),
          /** Largest JWKS body in bytes, default 65536. */
          maxBytes: v.optional(wholeNumber('maxBytes', 'bytes', 256, 1_048_576)),
        },
        'expected { minTtlSeconds?, maxTtlSeconds?, cooldownSeconds?, maxStaleSeconds?, timeoutMs?, maxBytes? }',
      ),
    ),
  },
  'expected an issuer { jwksUrl | keys, algorithms, issuer?, audiences?, clockSkewSeconds?, requiredClaims?, revocation?, jwks? }',
);

export const issuersSchema = v.record(blockName('an issuer'), issuerSchema, 'expected an object of issuer name → issuer');

/** The gateway's admin API (`/_portico/revocations`), authenticated by a bearer token. */
export const adminSchema = v.strictObject(
  {
    /** The admin bearer token, from the environment. */
    token: secretRef,
  },
  'expected { token: { "env": "NAME" } }',
);

const claimName = v.pipe(v.string('expected a claim name (string)'), v.minLength(1, 'expected a claim name'));
const scopeToken = v.pipe(
  v.string('expected a scope (string)'),
  // RFC 6749 §3.3 scope-token: printable ASCII but space, `"` and `\`.
  v.regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, 'expected a scope of printable ASCII without space, " or \\'),
);

export const routeSchema = v.strictObject(
  {
    /** Issuer name, or names, from the top-level `issuers`. */
    issuer: v.union([blockName('an issuer'), v.array(blockName('an issuer'))], 'expected an issuer name or an array of names'),
    /** Scopes (or roles) that must all be granted. */
    scopes: v.optional(v.array(scopeToken, 'expected an array of scopes')),
    /** Claim holding the scopes: a space-separated string or an array; default `scope`. */
    scopeClaim: v.optional(claimName),
    /** Claim naming the consumer (identity.consumer). */
    consumerClaim: v.optional(claimName),
    /** Where the token is read: `Authorization: Bearer` by default, or another header, or a cookie. */
    token: v.optional(
      v.strictObject(
        {
          header: v.optional(headerName),
          cookie: v.optional(
            v.pipe(
              v.string('expected a cookie name'),
              v.regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'expected a cookie name (RFC 6265 token)'),
            ),
          ),
        },
        'expected { header? } or { cookie? }',
      ),
    ),
    /** Largest token accepted, in bytes, default 8192; a longer one is refused before parsing. */
    maxTokenBytes: v.optional(wholeNumber('maxTokenBytes', 'bytes', 64, 65_536)),
    /** The `realm` of WWW-Authenticate, default "portico". */
    realm: v.optional(
      v.pipe(
        v.string('expected a realm'),
        v.regex(/^[\x20\x21\x23-\x5b\x5d-\x7e]*$/, 'expected a realm of printable ASCII without " or \\'),
      ),
    ),
  },
  'expected { issuer, scopes?, scopeClaim?, consumerClaim?, token?, maxTokenBytes?, realm? }',
);

export type IssuerBlock = v.InferOutput<typeof issuerSchema>;
export type RouteBlock = v.InferOutput<typeof routeSchema>;
export type AdminBlock = v.InferOutput<typeof adminSchema>;
