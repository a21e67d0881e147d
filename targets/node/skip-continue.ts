/**
 * Lets undici take an origin's unsolicited `100 Continue`.
 *
 * RFC 9110 §15.2: a client must be able to parse one or more 1xx responses before the final
 * one, even when it did not expect them. undici 7 handles 102 and 103, but destroys the socket on
 * a 100 it did not ask for (client-h1.js, `onHeadersComplete`: "bad response"), and it never asks
 * (it refuses the Expect header). Some origins (IIS, some Java servers) send one anyway. There is
 * no option for it, so the socket undici reads is wrapped at connect time: at the start of each
 * response, complete `HTTP/1.x 100` heads are dropped before undici's parser sees them.
 *
 * "The start of a response" is known without parsing: undici writes each request's head as one
 * latin1 string beginning with the request line, and with one request in flight per connection
 * (pipelining 1, its default and ours) the next response begins with the next bytes read after
 * it. Past the first byte of a non-100 status line nothing is looked at again until the next
 * request, so the cost is one flag test per read.
 */
import type { Socket } from 'node:net';
import { buildConnector } from 'undici';

const REQUEST_LINE = /^[A-Z]+ \S+ HTTP\/1\.1\r\n/;
/** `HTTP/1.1 100 ` without its minor version digit at index 7. */
const CONTINUE_HEAD = Buffer.from('HTTP/1.1 100 ', 'latin1');
const MINOR_AT = 7;
const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');

/** 1 when `buf` begins with a 100 status line, 0 when it cannot, -1 when too short to tell. */
function continueHead(buf: Buffer): 1 | 0 | -1 {
  const n = Math.min(buf.length, CONTINUE_HEAD.length);
  for (let i = 0; i < n; i++) {
    const byte = buf[i] as number;
    if (i === MINOR_AT) {
      if (byte !== 0x30 && byte !== 0x31) return 0;
    } else if (i === CONTINUE_HEAD.length - 1) {
      // The reason phrase may be empty: `HTTP/1.1 100\r\n`.
      if (byte !== 0x20 && byte !== 0x0d) return 0;
    } else if (byte !== CONTINUE_HEAD[i]) return 0;
  }
  return n < CONTINUE_HEAD.length ? -1 : 1;
}

/** Wraps `socket` in place so that reads never start a response with a 100 head (see above). */
export function skipUnsolicitedContinue(socket: Socket): void {
  let atStart = false;
  let held: Buffer | null = null;
  const write = socket.write;
  socket.write = function (this: Socket, chunk: unknown, ...rest: unknown[]): boolean {
    if (typeof chunk === 'string' && REQUEST_LINE.test(chunk)) atStart = true;
    return (write as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
  } as Socket['write'];
  const read = socket.read;
  socket.read = function (this: Socket, size?: number): unknown {
    const chunk = read.call(this, size) as Buffer | null;
    if (!atStart || chunk === null) return chunk;
    let buf = held === null ? chunk : Buffer.concat([held, chunk]);
    held = null;
    for (;;) {
      const head = continueHead(buf);
      if (head === 0) {
        atStart = false;
        return buf;
      }
      const end = head === 1 ? buf.indexOf(HEAD_END) : -1;
      if (end === -1) {
        // Not whole yet: kept until the next read (undici reads again on the next 'readable').
        held = buf;
        return null;
      }
      buf = buf.subarray(end + HEAD_END.length);
      if (buf.length === 0) return null;
    }
  } as Socket['read'];
}

/** undici's own connector, with every new socket wrapped by skipUnsolicitedContinue. */
export function continueSkippingConnector(): buildConnector.connector {
  const connect = buildConnector({});
  return (options, callback) =>
    connect(options, (...args) => {
      const socket = args[1];
      if (socket) skipUnsolicitedContinue(socket);
      callback(...args);
    });
}
