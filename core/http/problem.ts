/**
 * RFC 9457 problem details. Every error the gateway itself produces goes through here, so none
 * can carry a stack, an upstream address or a secret: the body is built only from the fixed
 * title and a detail written for clients.
 */
import { HttpProblem, type PorticoErrorCode } from '../errors.ts';

/** Base of the `type` URIs; each code gets its own, documented in the README. */
export const PROBLEM_TYPE_BASE = 'https://portico.dev/problems/';

const SLUGS: Record<PorticoErrorCode, string> = {
  ERR_CONFIG_INVALID: 'config-invalid',
  ERR_BAD_REQUEST_PATH: 'bad-request-path',
  ERR_BAD_HOST: 'bad-host',
  ERR_ROUTE_NOT_FOUND: 'route-not-found',
  ERR_METHOD_NOT_ALLOWED: 'method-not-allowed',
  ERR_UPSTREAM_TIMEOUT: 'upstream-timeout',
  ERR_UPSTREAM_UNREACHABLE: 'upstream-unreachable',
  ERR_NOT_READY: 'not-ready',
  // Startup errors of the hot path: never an HTTP answer, but a code has a slug all the same.
  ERR_ROUTE_TABLE_INVALID: 'route-table-invalid',
  ERR_HOT_MEMORY: 'hot-memory',
  ERR_INTERNAL: 'internal',
};

/**
 * Builds an `application/problem+json` response.
 * @example problemResponse(new HttpProblem('ERR_ROUTE_NOT_FOUND', 404, 'Not Found', 'No route matches GET /x'), 'req-1')
 */
export function problemResponse(problem: HttpProblem, requestId: string, method = 'GET'): Response {
  const body = JSON.stringify({
    type: PROBLEM_TYPE_BASE + SLUGS[problem.code],
    title: problem.title,
    status: problem.status,
    detail: problem.detail,
    code: problem.code,
    requestId,
  });
  const headers = new Headers(problem.headers);
  headers.set('content-type', 'application/problem+json');
  headers.set('cache-control', 'no-store');
  headers.set('x-request-id', requestId);
  return new Response(method === 'HEAD' ? null : body, { status: problem.status, headers });
}

/** The problem for anything unexpected: a fixed text, whatever the cause was. */
export function internalProblem(cause: unknown): HttpProblem {
  return new HttpProblem('ERR_INTERNAL', 500, 'Internal Server Error', 'The gateway failed to handle this request.', { cause });
}
