/**
 * The config schema, in valibot: small, tree-shakable, and free of `eval`/`new Function`, so the
 * same validation runs at build time and on the edge. Messages say what was expected; the path
 * and what was found are added by `formatIssues`.
 */
import * as v from 'valibot';
import { headerName, headerValue, NAME, positiveMs } from './primitives.ts';
import { POLICIES, type AnyPolicy } from '../policies/index.ts';
import { ObservabilitySchema } from '../observe/config.ts';

/** A policy field of a route: the policy's block, or `false` to turn off what `defaults` turned on. */
type PolicyField<S extends v.GenericSchema> = v.OptionalSchema<
  v.UnionSchema<[v.LiteralSchema<false, string>, S], string>,
  undefined
>;
type PolicyFields = { [P in AnyPolicy as P['name']]: PolicyField<P['schema']> };
type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;
type BlocksOf<P> = P extends { blocks?: infer B } ? (B extends Record<string, v.GenericSchema> ? B : never) : never;
type AllBlocks = [BlocksOf<AnyPolicy>] extends [never] ? Record<never, never> : UnionToIntersection<BlocksOf<AnyPolicy>>;
type PolicyBlocks = {
  [K in keyof AllBlocks]: AllBlocks[K] extends v.GenericSchema ? v.OptionalSchema<AllBlocks[K], undefined> : never;
};

/** Route fields of the policies, from the one list (core/policies/index.ts). */
const POLICY_FIELDS = Object.fromEntries(
  POLICIES.map((p) => [
    p.name,
    v.optional(v.union([v.literal(false), p.schema], `expected a ${p.name} block, or false to turn it off on this route`)),
  ]),
) as unknown as PolicyFields;

/** Top-level named blocks the policies own (`issuers`, `apiKeys`...). */
const POLICY_BLOCKS = Object.fromEntries(
  POLICIES.flatMap((p) =>
    Object.entries((p.blocks ?? {}) as Record<string, v.GenericSchema>).map(([k, s]) => [k, v.optional(s)]),
  ),
) as unknown as PolicyBlocks;

/** Methods a route may name. HEAD is implied by GET (RFC 9110 §9.3.2). */
export const ROUTE_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'CONNECT', 'TRACE'] as const;

/** `api.example.com`, `*.example.com`, optionally with a port for local setups. */
// Upper case is allowed here though it is lowered before this check: the JSON Schema generated
// from this one (for editors) sees the pattern but not the transform.
const HOST_PATTERN = /^(\*\.)?([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)(\.[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)*\.?$/;
const ORIGIN_NAME = NAME;

export const OriginSchema = v.strictObject(
  {
    /** Base URL of the origin: http(s)://host[:port][/base/path]. No query, fragment or credentials. */
    url: v.pipe(
      v.string('expected an origin URL (string)'),
      v.url('expected an absolute URL such as https://eu.example.com'),
      v.check((s) => /^https?:\/\//i.test(s), 'expected an http:// or https:// URL'),
      v.check((s) => !/[?#]/.test(s), 'expected a URL without query or fragment'),
      v.check((s) => !/^https?:\/\/[^/]*@/i.test(s), 'expected a URL without credentials (put secrets in headers)'),
      v.description('Base URL of the origin: http(s)://host[:port][/base/path]. No query, fragment or credentials.'),
    ),
    /**
     * Region label used in logs and for region choice, e.g. `eu-west`. Optional when the config
     * has a single origin, whose region is then its name; required as soon as there are two.
     */
    region: v.optional(
      v.pipe(
        v.string('expected a region name (string)'),
        v.minLength(1, 'expected a non-empty region name'),
        v.description(
          'Region label for logs and region choice, e.g. eu-west. Optional with a single origin (its region is then its name).',
        ),
      ),
    ),
    /** Per-attempt timeout in milliseconds, default 30000. */
    timeoutMs: v.optional(v.pipe(positiveMs('timeoutMs'), v.description('Per-attempt timeout in milliseconds, default 30000.'))),
  },
  'expected an origin object { url, region?, timeoutMs? }',
);

const headerCondition = v.union(
  [headerValue, v.strictObject({ present: v.boolean('expected true or false') }, 'expected { present: boolean }')],
  'expected a header value to equal, or { present: true|false }',
);

export const RouteMatchSchema = v.strictObject(
  {
    /** Path pattern: `/exact`, `/users/:id`, `/api/*`. Give either `path` or `regex`. */
    path: v.optional(
      v.pipe(
        v.string('expected a path pattern (string)'),
        v.startsWith('/', 'expected a path pattern starting with "/"'),
        v.description('Path pattern: /exact, /users/:id, /api/* (/api and everything under it). Give either path or regex.'),
      ),
    ),
    /**
     * A regular expression searched in the normalized path (anchor it with ^ and $). It runs on
     * RE2, in linear time: JavaScript's syntax without lookaround or backreferences.
     */
    regex: v.optional(
      v.pipe(
        v.string('expected a regular expression (string)'),
        v.minLength(1, 'expected a non-empty regex'),
        v.description(
          'A regular expression searched in the normalized path (anchor it with ^ and $); named groups become params. Runs on RE2: no lookaround, no backreferences.',
        ),
      ),
    ),
    /** Methods this route answers; default: all. GET implies HEAD. */
    methods: v.optional(
      v.pipe(
        v.array(v.picklist(ROUTE_METHODS, `expected one of ${ROUTE_METHODS.join(', ')}`), 'expected an array of methods'),
        v.minLength(1, 'expected at least one method (omit the field to allow all)'),
        v.description('Methods this route answers; default: all. GET implies HEAD.'),
      ),
    ),
    /** Hosts: `api.example.com` or `*.example.com` (any subdomain, not the apex). Default: any host. */
    hosts: v.optional(
      v.pipe(
        v.array(
          v.pipe(
            v.string('expected a host name (string)'),
            v.toLowerCase(),
            v.regex(HOST_PATTERN, 'expected a host name such as api.example.com or *.example.com'),
          ),
          'expected an array of host names',
        ),
        v.minLength(1, 'expected at least one host (omit the field to match any host)'),
        v.description('Hosts: api.example.com, or *.example.com for any subdomain (not the apex). Default: any host.'),
      ),
    ),
    /** Header conditions: exact value, or presence. Names are case-insensitive. */
    headers: v.optional(
      v.pipe(
        v.record(headerName, headerCondition, 'expected an object of header name → condition'),
        v.description('Header conditions: a value to equal, or { "present": true|false }. Names are case-insensitive.'),
      ),
    ),
  },
  'expected a match object { path | regex, methods?, hosts?, headers? }',
);

export const RouteSchema = v.strictObject(
  {
    /** A stable name, shown by `explain`, in logs and in X-Portico-Route. Default: `route-<index>`. */
    id: v.optional(
      v.pipe(
        v.string('expected a route id (string)'),
        v.regex(ORIGIN_NAME, 'expected a route id of letters, digits, _ . -'),
        v.description('A stable name, shown by explain, in logs and in X-Portico-Route. Default: route-<index>.'),
      ),
    ),
    match: v.optional(RouteMatchSchema),
    /** Matches when no other route does. Exclusive with `match.path` and `match.regex`. */
    fallback: v.optional(
      v.pipe(
        v.boolean('expected true or false'),
        v.description('Matches when no other route does. Exclusive with match.path and match.regex.'),
      ),
    ),
    /** An origin name, or an ordered list of them (failover in that order). */
    upstream: v.union(
      [
        v.pipe(v.string(), v.minLength(1)),
        v.pipe(
          v.array(v.pipe(v.string(), v.minLength(1)), 'expected an array of origin names'),
          v.minLength(1, 'expected at least one origin'),
        ),
      ],
      'expected an origin name or a non-empty array of origin names',
    ),
    /** Overrides the origin's timeout for this route, in milliseconds. */
    timeoutMs: v.optional(
      v.pipe(positiveMs('timeoutMs'), v.description("Overrides the origin's timeout for this route, in milliseconds.")),
    ),
    ...POLICY_FIELDS,
  },
  'expected a route object { id?, match | fallback, upstream, ... }',
);

export const ConfigSchema = v.strictObject(
  {
    $schema: v.optional(v.pipe(v.string(), v.description('The JSON Schema of this file, for editors.'))),
    /** Config format version. Only 1 exists. */
    version: v.optional(v.literal(1, 'expected 1 (the only config version)')),
    /**
     * Addresses or CIDR ranges of proxies in front of portico whose X-Forwarded-* headers are
     * believed. Default: none, so the TCP peer is the client.
     */
    trustedProxies: v.optional(
      v.pipe(
        v.array(v.string('expected an IP address or CIDR range (string)'), 'expected an array of CIDR ranges'),
        v.description(
          'Addresses or CIDR ranges of proxies in front of portico whose X-Forwarded-* headers are believed. Default: none.',
        ),
      ),
    ),
    origins: v.record(
      v.pipe(v.string(), v.regex(ORIGIN_NAME, 'expected an origin name of letters, digits, _ . -')),
      OriginSchema,
      'expected an object of origin name → origin',
    ),
    routes: v.array(RouteSchema, 'expected an array of routes'),
    /** Policies for every route (a route overrides one with its own block, or turns it off with false). */
    defaults: v.optional(v.strictObject(POLICY_FIELDS, 'expected an object of policy name → block')),
    ...POLICY_BLOCKS,
    /** Metrics exposition, access-log sampling, tracing, OTLP push, Server-Timing and probes (core/observe/config.ts). */
    observability: v.optional(ObservabilitySchema),
  },
  'expected a config object { origins, routes, trustedProxies?, version? }',
);

/** The config as written by a user (JSON file or `defineConfig`). */
export type PorticoConfig = v.InferInput<typeof ConfigSchema>;
/** The config after validation and defaults of the schema. */
export type ParsedConfig = v.InferOutput<typeof ConfigSchema>;
export type RouteConfig = v.InferOutput<typeof RouteSchema>;
export type OriginConfig = v.InferOutput<typeof OriginSchema>;
