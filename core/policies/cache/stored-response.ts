/**
 * A `Response` whose body is bytes in memory (a stored entry's, shared and never written to), with
 * its headers in a HeaderMap: what the cache answers a hit with where the adapter writes core's
 * own response forms (RequestContext.nativeRelay, the Node target).
 *
 * A WHATWG `Response` over the same bytes costs, on Node, a copy of the bytes, a `Headers`
 * validated name by name, and a ReadableStream (made transferable, which is most of its cost)
 * that the adapter then reads back chunk by chunk. This one keeps the bytes as they are: the Node
 * target writes status, headers and bytes with one `writeHead` and one `end`
 * (targets/node/stored.ts). Whoever reads `body` gets a stream made then, once, as from
 * `new Response(bytes)`; `storedBytes` then says the bytes are no longer to be written apart.
 */
import { HeaderMap } from '../../http/header-map.ts';

export class StoredResponse implements Response {
  readonly headers: HeaderMap;
  readonly redirected = false;
  readonly type: ResponseType = 'default';
  readonly url = '';
  #bytes: Uint8Array<ArrayBuffer> | null;
  #stream: ReadableStream<Uint8Array<ArrayBuffer>> | null = null;
  #used = false;

  /**
   * `bytes` null: no body (HEAD, 304).
   * @example new StoredResponse(200, HeaderMap.fromRecord(stored), storedBytes)
   */
  constructor(
    readonly status: number,
    headers: HeaderMap,
    bytes: Uint8Array<ArrayBuffer> | null,
    readonly statusText = '',
  ) {
    this.headers = headers;
    this.#bytes = bytes;
  }

  /** The bytes to write as the whole body (null: none), or undefined once the body was taken as a stream or read. */
  takeBytes(): Uint8Array<ArrayBuffer> | null | undefined {
    if (this.#stream !== null || this.#used) return undefined;
    this.#used = true;
    return this.#bytes;
  }

  get ok(): boolean {
    return this.status >= 200 && this.status <= 299;
  }

  get body(): ReadableStream<Uint8Array<ArrayBuffer>> | null {
    if (this.#bytes === null) return null;
    if (this.#stream === null) {
      const bytes = this.#used ? new Uint8Array(0) : this.#bytes;
      this.#stream = new ReadableStream({
        start(controller) {
          // A copy: the stored bytes are shared with every other hit and must not be transferred or changed.
          if (bytes.byteLength > 0) controller.enqueue(bytes.slice());
          controller.close();
        },
      });
    }
    return this.#stream;
  }

  get bodyUsed(): boolean {
    return this.#used || (this.#stream?.locked ?? false);
  }

  #consume(): Uint8Array<ArrayBuffer> {
    if (this.bodyUsed) throw new TypeError('Body is unusable: Body has already been read');
    if (this.#stream !== null) {
      // Taken as a stream but not read: its bytes are still all there.
      void this.#stream.cancel();
    }
    this.#used = true;
    return this.#bytes === null ? new Uint8Array(0) : this.#bytes.slice();
  }

  clone(): Response {
    if (this.bodyUsed) throw new TypeError('Response.clone: Body has already been consumed.');
    return new StoredResponse(this.status, new HeaderMap(this.headers), this.#bytes, this.statusText);
  }

  arrayBuffer(): Promise<ArrayBuffer> {
    try {
      return Promise.resolve(this.#consume().buffer);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  bytes(): Promise<Uint8Array<ArrayBuffer>> {
    try {
      return Promise.resolve(this.#consume());
    } catch (err) {
      return Promise.reject(err);
    }
  }

  blob(): Promise<Blob> {
    return this.bytes().then((b) => new Blob([b], { type: this.headers.get('content-type') ?? '' }));
  }

  formData(): Promise<FormData> {
    return Promise.reject(new TypeError('a stored response is not read as form data'));
  }

  json(): Promise<unknown> {
    return this.text().then((t) => JSON.parse(t) as unknown);
  }

  text(): Promise<string> {
    return this.bytes().then((b) => new TextDecoder().decode(b));
  }

  get [Symbol.toStringTag](): string {
    return 'Response';
  }
}

/**
 * The bytes an adapter writes as the whole body of `response` (null: no body) when it is a
 * StoredResponse whose body nobody has taken; undefined otherwise (then write it as any Response).
 * Call it once, right before writing.
 */
export function storedBytes(response: Response): Uint8Array<ArrayBuffer> | null | undefined {
  return response instanceof StoredResponse ? response.takeBytes() : undefined;
}
