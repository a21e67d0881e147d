/**
 * The Request that the Node server hands to the gateway, made from node:http's IncomingMessage.
 *
 * The gateway and the policies of a route that leaves bodies alone read only `method`, `url` and
 * `headers`; the request body goes to the origin as the IncomingMessage itself
 * (RequestContext.nativeBody). So this object holds those three, with the headers a HeaderMap
 * built once from `rawHeaders`, and makes a WHATWG `Request` (with the body as a web stream) only
 * when something reads anything else: `body`, `signal`, `json()`, `clone()`, ….
 * @hono/node-server's request does the same with a WHATWG `Headers`; this one was written to
 * skip that copy too (bench/README.md, "forwarding").
 *
 * `instanceof Request` holds (the prototype chain is Request's), and the URL is the WHATWG
 * parser's `href` for the target, as on every other runtime.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { HeaderMap } from '../../core/http/header-map.ts';

/** Why a request could not be made into a Request (answered 400 by the server). */
export class NodeRequestError extends Error {
  constructor(
    message: string,
    readonly code: 'ERR_BAD_HOST' | 'ERR_BAD_REQUEST_PATH',
  ) {
    super(message);
  }
}

const INCOMING = Symbol('incoming');
const OUTGOING = Symbol('outgoing');
const FULL = Symbol('full');
const METHOD = Symbol('method');
const URL_TEXT = Symbol('url');
const HEADERS = Symbol('headers');

/** The fields of a NodeRequest (its prototype's getters read them). */
class NodeRequestFields {
  [FULL]: Request | undefined = undefined;
  readonly [INCOMING]: IncomingMessage;
  readonly [OUTGOING]: ServerResponse;
  readonly [METHOD]: string;
  readonly [URL_TEXT]: string;
  readonly [HEADERS]: HeaderMap;
  /** The URL already parsed (RequestContext.url), so that the gateway does not parse it again. */
  readonly parsedUrl: URL;
  constructor(incoming: IncomingMessage, outgoing: ServerResponse, method: string, url: string, headers: HeaderMap, parsed: URL) {
    this[INCOMING] = incoming;
    this[OUTGOING] = outgoing;
    this[METHOD] = method;
    this[URL_TEXT] = url;
    this[HEADERS] = headers;
    this.parsedUrl = parsed;
  }
}

/** The WHATWG Request behind a NodeRequest, made on first need. */
function full(req: NodeRequestFields): Request {
  let made = req[FULL];
  if (made === undefined) {
    const incoming = req[INCOMING];
    const outgoing = req[OUTGOING];
    const method = req[METHOD];
    const withBody = method !== 'GET' && method !== 'HEAD';
    // The signal aborts when the client goes away before its response is complete.
    const controller = new AbortController();
    outgoing.once('close', () => {
      if (!outgoing.writableFinished) controller.abort();
    });
    made = new Request(req[URL_TEXT], {
      method,
      headers: req[HEADERS],
      body: withBody ? (Readable.toWeb(incoming) as ReadableStream<Uint8Array>) : null,
      signal: controller.signal,
      ...(withBody ? { duplex: 'half' } : {}),
    } as RequestInit);
    req[FULL] = made;
  }
  return made;
}

Object.setPrototypeOf(NodeRequestFields.prototype, Request.prototype);
Object.defineProperties(NodeRequestFields.prototype, {
  method: {
    get(this: NodeRequestFields) {
      return this[METHOD];
    },
  },
  url: {
    get(this: NodeRequestFields) {
      return this[URL_TEXT];
    },
  },
  headers: {
    get(this: NodeRequestFields) {
      return this[HEADERS];
    },
  },
  ...Object.fromEntries(
    [
      'body',
      'bodyUsed',
      'cache',
      'credentials',
      'destination',
      'integrity',
      'keepalive',
      'mode',
      'redirect',
      'referrer',
      'referrerPolicy',
      'signal',
      'duplex',
    ].map((name) => [
      name,
      {
        get(this: NodeRequestFields) {
          return (full(this) as unknown as Record<string, unknown>)[name];
        },
      },
    ]),
  ),
  ...Object.fromEntries(
    ['arrayBuffer', 'blob', 'bytes', 'clone', 'formData', 'json', 'text'].map((name) => [
      name,
      {
        value(this: NodeRequestFields) {
          const request = full(this) as unknown as Record<string, () => unknown>;
          return (request[name] as () => unknown).call(request);
        },
      },
    ]),
  ),
});

/** A Request made from node:http's request, with its URL parsed already. */
export type NodeRequest = Request & { readonly parsedUrl: URL };

/**
 * The request for `incoming`, whose target is in origin form already (see originFormInPlace).
 * Throws NodeRequestError for a Host or target that makes no URL.
 * @example const request = nodeRequest(req, res); await gateway.fetch(request, { url: request.parsedUrl, ... });
 */
export function nodeRequest(incoming: IncomingMessage, outgoing: ServerResponse): NodeRequest {
  const target = incoming.url ?? '';
  if (target[0] !== '/') throw new NodeRequestError('the request target is not in origin form', 'ERR_BAD_REQUEST_PATH');
  const host = incoming.headers.host;
  if (!host) throw new NodeRequestError('the request has no Host header', 'ERR_BAD_HOST');
  const scheme = (incoming.socket as { encrypted?: boolean } | undefined)?.encrypted ? 'https' : 'http';
  let url: URL;
  try {
    url = new URL(`${scheme}://${host}${target}`);
  } catch {
    throw new NodeRequestError('the Host header is malformed', 'ERR_BAD_HOST');
  }
  // A Host with a path, query or credentials in it parses, into another host: refused.
  if (url.host !== host && url.hostname !== host.replace(/:\d+$/, '')) {
    throw new NodeRequestError('the Host header is malformed', 'ERR_BAD_HOST');
  }
  const headers = HeaderMap.fromRaw(incoming.rawHeaders);
  return new NodeRequestFields(incoming, outgoing, incoming.method ?? 'GET', url.href, headers, url) as unknown as NodeRequest;
}
