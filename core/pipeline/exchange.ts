/**
 * The per-request exchange every policy of a route sees (see policy.ts, `Exchange`). A class, so
 * that `refuse` lives on the prototype and nothing but the fields is allocated per request.
 */
import type { RequestContext } from '../capabilities.ts';
import type { CompiledRoute } from '../config/compile.ts';
import { problemResponse } from '../http/problem.ts';
import type { Exchange, Identity } from './policy.ts';
import type { PorticoErrorCode } from './problems.ts';
import type { RequestTrace } from '../observe/request-trace.ts';

export class RouteExchange implements Exchange {
  upstreamPath: string;
  upstreamSearch: string;
  identity: Identity | null = null;
  readonly logFields: Record<string, unknown> = {};
  trace: RequestTrace | undefined = undefined;

  constructor(
    readonly request: Request,
    readonly url: URL,
    readonly host: string,
    readonly path: string,
    readonly route: CompiledRoute,
    readonly params: Record<string, string>,
    readonly requestId: string,
    readonly clientAddress: string,
    readonly context: RequestContext,
    readonly upstreamHeaders: Headers,
  ) {
    this.upstreamPath = path;
    this.upstreamSearch = url.search;
  }

  get method(): string {
    return this.request.method;
  }

  refuse(
    code: PorticoErrorCode,
    detail: string,
    headers?: Record<string, string>,
    extensions?: Record<string, unknown>,
  ): Response {
    this.logFields['code'] = code;
    return problemResponse({ code, detail, headers, ...(extensions ? { extensions } : {}) }, this.requestId, this.request.method);
  }
}
