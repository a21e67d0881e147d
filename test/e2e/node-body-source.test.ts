/**
 * The Node forwarder's view of an origin body (readableSource): real Node Readables, fed the way
 * undici feeds its response bodies (push as bytes arrive, null at the end, destroy on failure).
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readableSource } from '../../targets/node/forward.ts';

/** A Readable its test pushes into by hand. */
function manual(): Readable {
  return new Readable({ read() {} });
}

const text = (v: Uint8Array | undefined): string => Buffer.from(v ?? new Uint8Array()).toString('utf8');

describe('readableSource', () => {
  it('hands over what the stream holds at once, then the end', async () => {
    const body = manual();
    body.push('ab');
    body.push('cd');
    body.push(null);
    const source = readableSource(body);
    const first = await source.read();
    expect(first.done).toBe(false);
    // Node may hand over both pushes as one chunk: what matters is every byte, once, in order.
    let all = text(first.value);
    for (;;) {
      const r = await source.read();
      if (r.done) break;
      all += text(r.value);
    }
    expect(all).toBe('abcd');
  });

  it('reports the end as soon as the last byte is taken, before the stream emits end', async () => {
    const body = manual();
    body.push('whole');
    body.push(null);
    const source = readableSource(body);
    expect(text((await source.read()).value)).toBe('whole');
    let ended = false;
    body.once('end', () => (ended = true));
    const last = await source.read();
    expect(last.done).toBe(true);
    expect(ended).toBe(false);
  });

  it('waits for a chunk that has not arrived yet', async () => {
    const body = manual();
    const source = readableSource(body);
    const pending = source.read();
    setTimeout(() => body.push('late'), 20);
    expect(text((await pending).value)).toBe('late');
    setTimeout(() => body.push(null), 20);
    expect((await source.read()).done).toBe(true);
  });

  it('rejects when the body fails, and when it is closed before its end', async () => {
    const failing = manual();
    const a = readableSource(failing).read();
    failing.destroy(new Error('other side closed'));
    await expect(a).rejects.toThrow('other side closed');

    const closed = manual();
    const b = readableSource(closed).read();
    closed.destroy();
    await expect(b).rejects.toThrow('closed before its end');
    // And for a read that starts after the failure.
    await expect(readableSource(failing).read()).rejects.toThrow('other side closed');
  });

  it('cancel destroys the stream', () => {
    const body = manual();
    readableSource(body).cancel(new Error('client gone'));
    expect(body.destroyed).toBe(true);
  });
});
