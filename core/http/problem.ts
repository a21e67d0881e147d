/**
 * RFC 9457 problem details. Every error the gateway itself produces goes through here, so none
 * can carry a stack, an upstream address or a secret: the body is built only from the registry's
 * fixed title and a detail written for clients.
 */
import { HttpProblem } from '../errors.ts';
import { PROBLEM_TYPE_BASE, PROBLEMS, type PorticoErrorCode } from '../pipeline/problems.ts';

export { PROBLEM_TYPE_BASE };

/** What a problem response is made of. An `HttpProblem` has this shape; a refusal builds a plain object. */
export interface ProblemInput {
  code: PorticoErrorCode;
  /** Written for the client: never a token, a secret or an upstream address. */
  detail: string;
  headers?: Record<string, string> | undefined;
  /** Extra members of the problem object (RFC 9457 §3.2), e.g. `scope`. */
  extensions?: Record<string, unknown>;
}

/**
 * Builds an `application/problem+json` response.
 * @example problemResponse({ code: 'ERR_ROUTE_NOT_FOUND', detail: 'No route matches GET /x' }, 'req-1')
 */
export function problemResponse(problem: ProblemInput, requestId: string, method = 'GET'): Response {
  const spec = PROBLEMS[problem.code];
  const body = JSON.stringify({
    type: PROBLEM_TYPE_BASE + spec.slug,
    title: spec.title,
    status: spec.status,
    detail: problem.detail,
    code: problem.code,
    requestId,
    ...problem.extensions,
  });
  const headers = new Headers(problem.headers);
  headers.set('content-type', 'application/problem+json');
  headers.set('cache-control', 'no-store');
  headers.set('x-request-id', requestId);
  return new Response(method === 'HEAD' ? null : body, { status: spec.status, headers });
}

/** The problem for anything unexpected: a fixed text, whatever the cause was. */
export function internalProblem(cause: unknown): HttpProblem {
  return new HttpProblem('ERR_INTERNAL', 'The gateway failed to handle this request.', { cause });
}
