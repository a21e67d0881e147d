/**
 * Raw TCP exchanges with a server (node:net), for requests that no HTTP client would send:
 * duplicate Host headers, absolute-form targets, malformed heads, staged Expect: 100-continue.
 */
import { connect, type Socket } from 'node:net';

export interface RawExchange {
  socket: Socket;
  /** Everything received so far, as latin1 text. */
  received(): string;
  /** Resolves once `pattern` occurs in what was received (or rejects after `timeoutMs`). */
  waitFor(pattern: RegExp | string, timeoutMs?: number): Promise<string>;
  /** Resolves when the server closes the connection. */
  closed: Promise<void>;
  send(text: string | Buffer): void;
  close(): void;
}

/** Opens a connection to `base` (an http:// URL) and collects what comes back. */
export async function openRaw(base: string): Promise<RawExchange> {
  const url = new URL(base);
  const socket = connect(Number(url.port), url.hostname);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let text = '';
  const waiters: (() => void)[] = [];
  socket.on('data', (chunk: Buffer) => {
    text += chunk.toString('latin1');
    for (const w of waiters.splice(0)) w();
  });
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const matches = (pattern: RegExp | string): boolean =>
    typeof pattern === 'string' ? text.includes(pattern) : pattern.test(text);
  return {
    socket,
    received: () => text,
    waitFor(pattern, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no ${String(pattern)} within ${timeoutMs} ms; got: ${JSON.stringify(text.slice(0, 600))}`)),
          timeoutMs,
        );
        const check = (): void => {
          if (matches(pattern)) {
            clearTimeout(timer);
            resolve(text);
          } else waiters.push(check);
        };
        check();
        void closed.then(() => {
          if (!matches(pattern)) {
            clearTimeout(timer);
            reject(new Error(`connection closed before ${String(pattern)}; got: ${JSON.stringify(text.slice(0, 600))}`));
          }
        });
      });
    },
    closed,
    send: (data) => void socket.write(data),
    close: () => socket.destroy(),
  };
}

/** Sends `head` (and `body`) on a fresh connection and returns the whole answer once the server closes. */
export async function rawExchange(base: string, head: string, body = '', timeoutMs = 5000): Promise<string> {
  const ex = await openRaw(base);
  ex.send(head + body);
  const timer = setTimeout(() => ex.close(), timeoutMs);
  await ex.closed;
  clearTimeout(timer);
  return ex.received();
}

/** Status code and headers (lower-case names) and body of the first response in `text`. */
export function parseRaw(text: string): { status: number; headers: Record<string, string[]>; body: string } {
  const end = text.indexOf('\r\n\r\n');
  const head = end === -1 ? text : text.slice(0, end);
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers: Record<string, string[]> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon === -1) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const values = headers[name] ?? [];
    values.push(line.slice(colon + 1).trim());
    headers[name] = values;
  }
  return { status: Number(statusLine.split(' ')[1] ?? 0), headers, body: end === -1 ? '' : text.slice(end + 4) };
}
