/**
 * The one registry of problem codes (RFC 9457). Each code has its status, title and type slug
 * here and nowhere else; `satisfies` makes a missing field a type error. Codes that never reach
 * a client (startup and build errors) are listed too, with status 0: they are `PorticoError`
 * codes all the same.
 */

export interface ProblemSpec {
  /** HTTP status of the response; 0 for codes that are never an HTTP answer. */
  status: number;
  /** Short, fixed, human-readable summary (the same for every occurrence of the code). */
  title: string;
  /** Last segment of the `type` URI, documented in the README. */
  slug: string;
}

/** Base of the `type` URIs. */
export const PROBLEM_TYPE_BASE = 'https://portico.dev/problems/';

export const PROBLEMS = {
  // ── request handling ──
  ERR_BAD_REQUEST_PATH: { status: 400, title: 'Bad Request', slug: 'bad-request-path' },
  ERR_BAD_HOST: { status: 400, title: 'Bad Request', slug: 'bad-host' },
  ERR_BAD_REQUEST: { status: 400, title: 'Bad Request', slug: 'bad-request' },
  ERR_ROUTE_NOT_FOUND: { status: 404, title: 'Not Found', slug: 'route-not-found' },
  ERR_METHOD_NOT_ALLOWED: { status: 405, title: 'Method Not Allowed', slug: 'method-not-allowed' },
  ERR_EXPECTATION_FAILED: { status: 417, title: 'Expectation Failed', slug: 'expectation-failed' },
  ERR_CLIENT_CLOSED: { status: 499, title: 'Client Closed Request', slug: 'client-closed' },
  ERR_REQUEST_TIMEOUT: { status: 408, title: 'Request Timeout', slug: 'request-timeout' },
  ERR_HEADERS_TOO_LARGE: { status: 431, title: 'Request Header Fields Too Large', slug: 'headers-too-large' },
  ERR_UPSTREAM_UNREACHABLE: { status: 502, title: 'Bad Gateway', slug: 'upstream-unreachable' },
  ERR_UPSTREAM_TIMEOUT: { status: 504, title: 'Gateway Timeout', slug: 'upstream-timeout' },
  ERR_CACHE_ONLY_IF_CACHED: { status: 504, title: 'Gateway Timeout', slug: 'only-if-cached' },
  ERR_NOT_READY: { status: 503, title: 'Service Unavailable', slug: 'not-ready' },
  ERR_INTERNAL: { status: 500, title: 'Internal Server Error', slug: 'internal' },
  // ── access: CORS, auth, API keys ──
  ERR_CORS_ORIGIN_DENIED: { status: 403, title: 'Forbidden', slug: 'cors-origin-denied' },
  ERR_AUTH_MISSING: { status: 401, title: 'Unauthorized', slug: 'auth-missing' },
  ERR_AUTH_INVALID: { status: 401, title: 'Unauthorized', slug: 'auth-invalid' },
  ERR_TOKEN_REVOKED: { status: 401, title: 'Unauthorized', slug: 'token-revoked' },
  ERR_INSUFFICIENT_SCOPE: { status: 403, title: 'Forbidden', slug: 'insufficient-scope' },
  ERR_API_KEY_MISSING: { status: 401, title: 'Unauthorized', slug: 'api-key-missing' },
  ERR_API_KEY_INVALID: { status: 401, title: 'Unauthorized', slug: 'api-key-invalid' },
  ERR_API_KEY_UNAVAILABLE: { status: 503, title: 'Service Unavailable', slug: 'api-key-unavailable' },
  ERR_ADMIN_UNAUTHORIZED: { status: 401, title: 'Unauthorized', slug: 'admin-unauthorized' },
  ERR_PAYLOAD_TOO_LARGE: { status: 413, title: 'Content Too Large', slug: 'payload-too-large' },
  // ── limits and load ──
  ERR_RATE_LIMITED: { status: 429, title: 'Too Many Requests', slug: 'rate-limited' },
  ERR_RATE_LIMIT_UNAVAILABLE: { status: 503, title: 'Service Unavailable', slug: 'rate-limit-unavailable' },
  ERR_OVERLOADED: { status: 503, title: 'Service Unavailable', slug: 'overloaded' },
  ERR_UPSTREAM_OVERLOADED: { status: 503, title: 'Service Unavailable', slug: 'upstream-overloaded' },
  // ── never an HTTP answer: startup and build ──
  ERR_CONFIG_INVALID: { status: 0, title: 'Invalid config', slug: 'config-invalid' },
  ERR_SECRET_MISSING: { status: 0, title: 'Missing secret', slug: 'secret-missing' },
  ERR_TARGET_UNSUPPORTED: { status: 0, title: 'Target cannot run this config', slug: 'target-unsupported' },
  ERR_ROUTE_TABLE_INVALID: { status: 0, title: 'Invalid route table', slug: 'route-table-invalid' },
  ERR_HOT_MEMORY: { status: 0, title: 'Hot-path memory exhausted', slug: 'hot-memory' },
  ERR_GEO_DATABASE: { status: 0, title: 'Unreadable geo database', slug: 'geo-database' },
} as const satisfies Record<string, ProblemSpec>;

/** Every code a `PorticoError` can carry. */
export type PorticoErrorCode = keyof typeof PROBLEMS;
