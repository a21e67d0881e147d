/**
 * Schema pieces shared by the config schema and the policies' schemas (valibot: small,
 * tree-shakable, and free of `eval`/`new Function`, so validation runs at build time and on the
 * edge alike). Messages say what was expected; the path and what was found are added by
 * `compileConfig`.
 */
import * as v from 'valibot';

/** Header names are RFC 9110 tokens. */
export const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Header values: visible ASCII, space and tab; no CR/LF (no header injection through config). */
export const HEADER_VALUE = /^[\t\x20-\x7e]*$/;
/** Names of origins, routes, issuers, keys...: letters, digits, `_ . -`. */
export const NAME = /^[A-Za-z0-9_.-]+$/;

export const headerName = v.pipe(
  v.string('expected a header name (string)'),
  v.regex(HEADER_NAME, 'expected a header name made of token characters (RFC 9110 §5.1)'),
);
export const headerValue = v.pipe(
  v.string('expected a header value (string)'),
  v.regex(HEADER_VALUE, 'expected a header value of visible ASCII with no CR or LF'),
);

export const positiveMs = (what: string) =>
  v.pipe(
    v.number(`expected ${what} as a positive number of milliseconds`),
    v.integer(`expected ${what} as a whole number of milliseconds`),
    v.minValue(1, `expected ${what} as a positive number of milliseconds`),
    v.maxValue(600_000, `expected ${what} of at most 600000 milliseconds`),
  );

/** A name of a top-level block (an origin, an issuer...). */
export const blockName = (what: string) =>
  v.pipe(v.string(`expected ${what} name (string)`), v.regex(NAME, `expected ${what} name of letters, digits, _ . -`));

/**
 * A secret: `{ "env": "NAME" }`, read from the runtime's environment at startup (Node's and
 * Deno's environment variables, Workers bindings, Fastly's secret store, Vercel's env); each
 * target supplies the reader (`Capabilities.secrets`). A secret is never written in
 * the config itself, so the compiled bundle never holds one in clear.
 */
export const secretRef = v.strictObject(
  {
    env: v.pipe(
      v.string('expected an environment variable name (string)'),
      v.regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name of letters, digits and _'),
    ),
  },
  'expected a secret reference { "env": "VARIABLE" } (secrets are never written in the config)',
);

/**
 * A whole number of some unit within bounds, with messages that name the field and the unit:
 * `wholeNumber('maxAge', 'seconds', 0, 86400)` → "expected maxAge as a whole number of seconds".
 */
export const wholeNumber = (field: string, unit: string, min: number, max = Number.MAX_SAFE_INTEGER) =>
  v.pipe(
    v.number(`expected ${field} as a number of ${unit}`),
    v.integer(`expected ${field} as a whole number of ${unit}`),
    v.minValue(min, `expected ${field} of ${min === 0 ? `0 ${unit} or more` : `at least ${min} ${unit}`}`),
    v.maxValue(max, `expected ${field} of at most ${max} ${unit}`),
  );
