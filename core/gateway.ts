/**
 * The gateway: a Hono app built from a compiled config and the runtime's capabilities.
 *
 * Order per request (DESIGN.md, "One request, in order"): request id → reserved endpoints →
 * normalize → match → request transforms → forward → response transforms → log.
 */
import { Hono } from 'hono';
import type { Capabilities, RequestContext, Stores } from './capabilities.ts';
import { createMemoryCache, createMemoryKV } from './stores/index.ts';
import type { CompiledConfig } from './config/compile.ts';
import { HttpProblem, PorticoError } from './errors.ts';
import { parseCidr, type CidrRange } from './http/ip.ts';
import { removeHopByHop, requestIdFrom, resolveClient } from './http/headers.ts';
import { normalizePath } from './http/normalize.ts';
import { internalProblem, problemResponse } from './http/problem.ts';
import { HotRouter } from './hot/index.ts';
import { createRouteMatcher, type RouteMatcher } from './router/route-matcher.ts';
import { applyHeaderTransform, proxyRequest, rewritePath } from './upstream/proxy.ts';

export interface Gateway {
  /** Handles one request. Never rejects: failures become problem+json responses. */
  fetch(request: Request, context: RequestContext): Promise<Response>;
  /** Marks the gateway as draining: /ready answers 503 so load balancers stop sending. */
  setDraining(draining: boolean): void;
  /** The stores in use: the platform's, or core's in-memory fallbacks. */
  readonly stores: Stores;
  /** The route matcher, for `explain` and tests. */
  readonly matcher: RouteMatcher;
  readonly config: CompiledConfig;
}

type Env = { Bindings: { ctx: RequestContext }; Variables: { requestId: string } };

/** Host of the request URL, lower-case, without port or trailing dot; IPv6 keeps its brackets. */
function requestHost(url: URL): string {
  const h = url.hostname.toLowerCase();
  return h.endsWith('.') ? h.slice(0, -1) : h;
}

/**
 * Builds the gateway.
 * @example
 * const gw = createGateway(await compileConfig(json), { forward: fetch, now: Date.now, hot: createTwinHot() });
 * const res = await gw.fetch(new Request('http://localhost/health'), { waitUntil() {} });
 */
export function createGateway(config: CompiledConfig, caps: Capabilities): Gateway {
  const matcher = createRouteMatcher(config, caps.hot);
  const trusted = config.trustedProxies.map((t) => parseCidr(t)).filter((r): r is CidrRange => r !== null);
  const log = caps.log ?? (() => {});
  const stores: Stores = {
    kv: caps.stores?.kv ?? createMemoryKV({ now: caps.now }),
    cache: caps.stores?.cache ?? createMemoryCache({ now: caps.now }),
  };
  let draining = false;

  // The app's own router is the hot-path matcher too (it speaks Hono's Router interface).
  const app = new Hono<Env>({ router: new HotRouter(caps.hot) });

  app.use('*', async (c, next) => {
    c.set('requestId', requestIdFrom(c.req.raw.headers));
    await next();
  });

  // Reserved endpoints: answered by the gateway itself, on every host, before any route.
  app.on(['GET', 'HEAD'], '/health', (c) => {
    c.header('cache-control', 'no-store');
    c.header('x-request-id', c.get('requestId'));
    return c.json({ status: 'ok', config: config.hash });
  });
  app.on(['GET', 'HEAD'], '/ready', (c) => {
    c.header('cache-control', 'no-store');
    c.header('x-request-id', c.get('requestId'));
    return draining ? c.json({ status: 'draining' }, 503) : c.json({ status: 'ready' });
  });

  app.all('*', async (c) => {
    const started = caps.now();
    const request = c.req.raw;
    const requestId = c.get('requestId');
    const url = new URL(request.url);
    const normalized = normalizePath(url.pathname);
    if (!normalized.ok) {
      throw new HttpProblem(
        'ERR_BAD_REQUEST_PATH',
        400,
        'Bad Request',
        `The request path cannot be routed safely: ${normalized.reason}.`,
      );
    }
    const path = normalized.path;
    const host = requestHost(url);
    const found = matcher.find(request.method, host, path, request.headers);
    if (found.kind === 'none') {
      throw new HttpProblem('ERR_ROUTE_NOT_FOUND', 404, 'Not Found', `No route matches ${request.method} ${path}.`);
    }
    if (found.kind === 'method') {
      throw new HttpProblem('ERR_METHOD_NOT_ALLOWED', 405, 'Method Not Allowed', `${request.method} is not allowed on ${path}.`, {
        headers: { allow: found.allow.join(', ') },
      });
    }
    const { route } = found.match;

    const ctx = c.env.ctx;
    const client = resolveClient(ctx.clientAddress ?? '', request.headers.get('x-forwarded-for'), trusted);
    const headers = new Headers(request.headers);
    removeHopByHop(headers);
    headers.delete('host');
    if (!client.peerTrusted) {
      // Only a trusted proxy may tell us about the original request.
      headers.delete('forwarded');
      headers.delete('x-forwarded-proto');
      headers.delete('x-forwarded-host');
      headers.delete('x-forwarded-port');
      headers.delete('x-real-ip');
    }
    headers.set('x-forwarded-for', client.forwardedFor);
    if (!headers.has('x-forwarded-proto')) headers.set('x-forwarded-proto', url.protocol.slice(0, -1));
    if (!headers.has('x-forwarded-host')) headers.set('x-forwarded-host', url.host);
    headers.set('x-request-id', requestId);
    applyHeaderTransform(headers, route.requestHeaders);

    const response = await proxyRequest(config, caps.forward, {
      request,
      route,
      path: rewritePath(route, path),
      search: url.search,
      headers,
      onClientGone: ctx.onClientGone,
      nativeBody: ctx.nativeBody,
      onBodyError: (error, timedOut) =>
        log({
          level: 'error',
          msg: timedOut
            ? 'origin went silent mid-body; client connection broken'
            : 'origin body failed; client connection broken',
          requestId,
          route: route.id,
          code: timedOut ? 'ERR_UPSTREAM_TIMEOUT' : 'ERR_UPSTREAM_UNREACHABLE',
          cause: error instanceof Error ? error.message : String(error),
        }),
    });
    response.headers.set('x-request-id', requestId);
    log({
      level: 'info',
      msg: 'request',
      requestId,
      method: request.method,
      path,
      route: route.id,
      status: response.status,
      ms: caps.now() - started,
    });
    return response;
  });

  app.onError((err, c) => {
    const requestId = c.get('requestId') ?? requestIdFrom(c.req.raw.headers);
    const problem = err instanceof HttpProblem ? err : internalProblem(err);
    log({
      level: problem.status >= 500 ? 'error' : 'info',
      msg: problem.title,
      requestId,
      code: problem.code,
      status: problem.status,
      // The cause is for operators' logs only; it never reaches the client.
      cause:
        err instanceof PorticoError && err.cause instanceof Error
          ? err.cause.message
          : err instanceof Error
            ? err.message
            : String(err),
    });
    return problemResponse(problem, requestId, c.req.method);
  });

  return {
    fetch: async (request, context) => {
      try {
        return await app.fetch(request, { ctx: context });
      } catch (err) {
        return problemResponse(internalProblem(err), requestIdFrom(request.headers), request.method);
      }
    },
    setDraining(value) {
      draining = value;
    },
    stores,
    matcher,
    config,
  };
}
