/**
 * The config schema, in valibot: small, tree-shakable, and free of `eval`/`new Function`, so the
 * same validation runs at build time and on the edge. Messages say what was expected; the path
 * and what was found are added by `formatIssues`.
 */
import * as v from 'valibot';
import { headerName, headerValue, NAME, positiveMs, wholeNumber } from './primitives.ts';
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
const ROUTE_METHODS_LIST = ROUTE_METHODS;
/** A share between 0 and 1. */
const share = (field: string) =>
  v.pipe(
    v.number(`expected ${field} as a number between 0 and 1`),
    v.minValue(0, `expected ${field} of 0 or more`),
    v.maxValue(1, `expected ${field} of at most 1`),
  );

/** `api.example.com`, `*.example.com`, optionally with a port for local setups. */
// Upper case is allowed here though it is lowered before this check: the JSON Schema generated
// from this one (for editors) sees the pattern but not the transform.
const HOST_PATTERN = /^(\*\.)?([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)(\.[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)*\.?$/;
const ORIGIN_NAME = NAME;

/** A circuit breaker's settings; every field has a default (see the README, "Resilience"). */
export const BreakerSchema = v.strictObject(
  {
    /** Consecutive failures (5xx, timeouts, connect errors) that open the breaker, default 5. */
    failures: v.optional(wholeNumber('failures', 'failures', 1, 10_000)),
    /** Share of failed requests over the window that opens it, default 0.5. */
    failureRatio: v.optional(
      v.pipe(
        v.number('expected failureRatio as a number between 0 and 1'),
        v.minValue(0.01, 'expected failureRatio of at least 0.01'),
        v.maxValue(1, 'expected failureRatio of at most 1'),
      ),
    ),
    /** Requests the window must hold before the ratio counts, default 20. */
    minRequests: v.optional(wholeNumber('minRequests', 'requests', 1, 1_000_000)),
    /** Window of the ratio in milliseconds, default 10000. */
    windowMs: v.optional(positiveMs('windowMs')),
    /** How long it stays open in milliseconds before probing, default 5000. */
    openMs: v.optional(positiveMs('openMs')),
    /** Spread of the open time as a share of openMs, default 0.2 (±20%). */
    jitter: v.optional(
      v.pipe(
        v.number('expected jitter as a number between 0 and 1'),
        v.minValue(0, 'expected jitter of 0 or more'),
        v.maxValue(1, 'expected jitter of at most 1'),
      ),
    ),
    /** Probes let through at a time when half-open, and the successes that close it, default 1. */
    halfOpenProbes: v.optional(wholeNumber('halfOpenProbes', 'requests', 1, 100)),
  },
  'expected a breaker object { failures?, failureRatio?, minRequests?, windowMs?, openMs?, jitter?, halfOpenProbes? }',
);

/** Active health checks of one origin. */
export const HealthCheckSchema = v.strictObject(
  {
    /** Path probed with GET, e.g. /healthz. */
    path: v.pipe(v.string('expected a path (string)'), v.startsWith('/', 'expected a path starting with "/"')),
    /** Time between probes in milliseconds, default 10000. */
    intervalMs: v.optional(positiveMs('intervalMs')),
    /** Probe timeout in milliseconds, default 2000. */
    timeoutMs: v.optional(positiveMs('timeoutMs')),
    /** Successive good probes that make an unhealthy origin healthy, default 2. */
    healthyThreshold: v.optional(wholeNumber('healthyThreshold', 'probes', 1, 100)),
    /** Successive bad probes that make a healthy origin unhealthy, default 3. */
    unhealthyThreshold: v.optional(wholeNumber('unhealthyThreshold', 'probes', 1, 100)),
    /** Statuses that count as healthy, default 200-399. */
    expectedStatuses: v.optional(
      v.pipe(
        v.array(wholeNumber('expectedStatuses', 'status codes', 100, 599), 'expected an array of status codes'),
        v.minLength(1, 'expected at least one status'),
      ),
    ),
  },
  'expected a healthCheck object { path, intervalMs?, timeoutMs?, healthyThreshold?, unhealthyThreshold?, expectedStatuses? }',
);

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
    /** The origin's circuit breaker (passive health), or false to never eject it. */
    breaker: v.optional(v.union([v.literal(false), BreakerSchema], 'expected a breaker block, or false')),
    /** Requests in flight to this origin at most; beyond it the next origin is tried, else 503. */
    maxConcurrent: v.optional(wholeNumber('maxConcurrent', 'requests', 1, 1_000_000)),
    /**
     * Requests that may wait for a slot when maxConcurrent is reached, default 0 (the next origin
     * is tried at once). Needs maxConcurrent.
     */
    queue: v.optional(wholeNumber('queue', 'requests', 0, 1_000_000)),
    /** Longest wait in the origin's queue in milliseconds (and never past the route's deadline), default 1000. */
    queueTimeoutMs: v.optional(positiveMs('queueTimeoutMs')),
    /** Active health checks of the origin. */
    healthCheck: v.optional(HealthCheckSchema),
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

const RETRY_ON = ['connect', 'timeout'] as const;

/** A route's retries (see the README, "Resilience", for the defaults). */
export const RetrySchema = v.strictObject(
  {
    /** Tries in all, the first included, default 3. */
    attempts: v.optional(wholeNumber('attempts', 'tries', 1, 10)),
    /**
     * What is retried: "connect" (the origin could not be reached), "timeout" (the same origin is
     * tried again after a timeout; another origin always is), and statuses. Default
     * ["connect", 502, 503, 504].
     */
    on: v.optional(
      v.array(
        v.union(
          [v.picklist(RETRY_ON), wholeNumber('on', 'status codes', 500, 599)],
          'expected "connect", "timeout" or a 5xx status',
        ),
        'expected an array of "connect", "timeout" and 5xx statuses',
      ),
    ),
    /**
     * Methods that may be retried, default GET, HEAD and OPTIONS. Others are retried only when no
     * body was handed to the origin on the failed try.
     */
    methods: v.optional(
      v.pipe(
        v.array(
          v.picklist(ROUTE_METHODS_LIST, `expected one of ${ROUTE_METHODS_LIST.join(', ')}`),
          'expected an array of methods',
        ),
        v.minLength(1, 'expected at least one method'),
      ),
    ),
    /** First backoff before trying the same origin again, in milliseconds, default 25 (doubles, full jitter). */
    backoffMs: v.optional(positiveMs('backoffMs')),
    /** Longest backoff in milliseconds, default 250. */
    maxBackoffMs: v.optional(positiveMs('maxBackoffMs')),
    /** Timeout of each try in milliseconds; default the route's or origin's timeoutMs. */
    perTryTimeoutMs: v.optional(positiveMs('perTryTimeoutMs')),
    /** Time for all tries together in milliseconds; default none (attempts × per-try timeout). */
    deadlineMs: v.optional(positiveMs('deadlineMs')),
    /** Longest Retry-After of a 503 the gateway waits out before trying that origin again, in ms, default 1000. */
    maxRetryAfterMs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(600_000))),
    /** The retry budget: retries at most `ratio` of requests plus `minPerSecond` (defaults 0.2 and 3). */
    budget: v.optional(
      v.strictObject(
        { ratio: v.optional(share('budget.ratio')), minPerSecond: v.optional(wholeNumber('minPerSecond', 'retries', 0, 10_000)) },
        'expected a budget object { ratio?, minPerSecond? }',
      ),
    ),
  },
  'expected a retry object { attempts?, on?, methods?, backoffMs?, maxBackoffMs?, perTryTimeoutMs?, deadlineMs?, maxRetryAfterMs?, budget? }',
);

/** Load shedding on a route. */
export const ShedSchema = v.strictObject(
  {
    /** Requests in flight on this route at most. */
    maxConcurrent: wholeNumber('maxConcurrent', 'requests', 1, 1_000_000),
    /** Requests that may wait for a slot, default 0 (refused at once). */
    queue: v.optional(wholeNumber('queue', 'requests', 0, 1_000_000)),
    /** Longest wait in the queue in milliseconds, default 1000. */
    queueTimeoutMs: v.optional(positiveMs('queueTimeoutMs')),
    /** Retry-After of the 503, in seconds, default 1. */
    retryAfterSeconds: v.optional(wholeNumber('retryAfterSeconds', 'seconds', 0, 3600)),
  },
  'expected a shed object { maxConcurrent, queue?, queueTimeoutMs?, retryAfterSeconds? }',
);

const regionMap = v.record(v.string(), v.pipe(v.string('expected a region name'), v.minLength(1, 'expected a region name')));

/** A pool: origins grouped by their region, and which region serves which clients. */
export const PoolSchema = v.strictObject(
  {
    /** The pool's origins; their `region` groups them. */
    origins: v.pipe(
      v.array(v.pipe(v.string(), v.minLength(1)), 'expected an array of origin names'),
      v.minLength(1, 'expected at least one origin'),
    ),
    /** Client country (ISO 3166-1 alpha-2, e.g. SG) → region. Looked at before continents. */
    countries: v.optional(regionMap),
    /** Client continent (AF, AN, AS, EU, NA, OC, SA) → region. */
    continents: v.optional(regionMap),
    /** Region for clients of unknown or unmapped place; default the region of the first origin. */
    defaultRegion: v.optional(v.pipe(v.string('expected a region name'), v.minLength(1, 'expected a region name'))),
  },
  'expected a pool object { origins, countries?, continents?, defaultRegion? }',
);

/** Where a client's place comes from on runtimes without platform geo (Node, Deno). */
export const GeoSchema = v.strictObject(
  {
    /** A request header holding the client's country code, believed only from trustedProxies. */
    countryHeader: v.optional(headerName),
    /** A request header holding the client's continent code, believed only from trustedProxies. */
    continentHeader: v.optional(headerName),
    /** An MMDB country database file (Node and Deno), e.g. from the @ip-location-db packages. */
    mmdb: v.optional(v.pipe(v.string('expected a file path'), v.minLength(1, 'expected a file path'))),
  },
  'expected a geo object { countryHeader?, continentHeader?, mmdb? }',
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
      'expected an origin name, a pool name, or a non-empty array of origin names',
    ),
    /** Overrides the origin's timeout for this route, in milliseconds. */
    timeoutMs: v.optional(
      v.pipe(positiveMs('timeoutMs'), v.description("Overrides the origin's timeout for this route, in milliseconds.")),
    ),
    /** Retries and failover, or false for one try only. */
    retry: v.optional(v.union([v.literal(false), RetrySchema], 'expected a retry block, or false for one try only')),
    /** Whether origins' breakers and health steer this route; default: when it has more than one origin. */
    breaker: v.optional(v.boolean('expected true or false')),
    /** Load shedding: requests in flight on this route at most, and an optional queue. */
    shed: v.optional(ShedSchema),
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
    /** Origins grouped by region; a route names one in `upstream`. Pool and origin names never collide. */
    pools: v.optional(
      v.record(
        v.pipe(v.string(), v.regex(ORIGIN_NAME, 'expected a pool name of letters, digits, _ . -')),
        PoolSchema,
        'expected an object of pool name → pool',
      ),
    ),
    /** Where Node and Deno read the client's place (the edge platforms tell it). */
    geo: v.optional(GeoSchema),
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
