/**
 * A `Response` with a status and headers and no body of its own: what a forwarder returns when it
 * relays the origin's body natively beside the response (ForwardInit.relay), or when the answer
 * has no body (HEAD, 204, 304).
 *
 * A WHATWG `Response` copies and validates its headers into a new `Headers` and brands itself for
 * its getters; on Node that is about a microsecond and a half per response before any policy
 * touches it. This one holds a HeaderMap as it is, so the origin's headers are translated once,
 * edited in place by the route's policies, and written from the same map. Reading its body gives
 * an empty body, as `new Response(null)` does.
 */
import { HeaderMap } from './header-map.ts';

const EMPTY = new Uint8Array(0);

export class BodylessResponse implements Response {
  readonly headers: HeaderMap;
  readonly body = null;
  readonly bodyUsed = false;
  readonly redirected = false;
  readonly type: ResponseType = 'default';
  readonly url = '';

  /** @example new BodylessResponse(304, HeaderMap.fromRecord(undiciHeaders)) */
  constructor(
    readonly status: number,
    headers: HeaderMap,
    readonly statusText = '',
  ) {
    this.headers = headers;
  }

  get ok(): boolean {
    return this.status >= 200 && this.status <= 299;
  }

  clone(): Response {
    return new BodylessResponse(this.status, new HeaderMap(this.headers), this.statusText);
  }

  arrayBuffer(): Promise<ArrayBuffer> {
    return Promise.resolve(new ArrayBuffer(0));
  }

  bytes(): Promise<Uint8Array<ArrayBuffer>> {
    return Promise.resolve(new Uint8Array(0));
  }

  blob(): Promise<Blob> {
    return Promise.resolve(new Blob([EMPTY], { type: this.headers.get('content-type') ?? '' }));
  }

  formData(): Promise<FormData> {
    return Promise.reject(new TypeError('a response without a body has no form data'));
  }

  json(): Promise<unknown> {
    return Promise.reject(new SyntaxError('Unexpected end of JSON input'));
  }

  text(): Promise<string> {
    return Promise.resolve('');
  }

  get [Symbol.toStringTag](): string {
    return 'Response';
  }
}
