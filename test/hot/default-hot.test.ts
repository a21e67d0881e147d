// The hot path `new PorticoRouter()` uses when given none: the embedded Wasm module on an engine
// that compiles WebAssembly from bytes (Node here), the TypeScript twin on one without.
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Hono } from 'hono';
import { HOT_WASM_BASE64 } from '../../core/hot/_wasm-embedded.ts';
import { HOT_WASM_JS_STRING_BASE64 } from '../../core/hot/_wasm-js-string-embedded.ts';
import { JS_STRING_SKIP } from './_impls.ts';

const built = readFileSync(new URL('../../wasm/build/portico.wasm', import.meta.url));
const builtJsString = readFileSync(new URL('../../wasm/build/portico.js-string.wasm', import.meta.url));

afterEach(() => {
  vi.unstubAllGlobals();
  vi.resetModules();
});

describe('createDefaultHot', () => {
  it('embeds exactly the module the build made (rebuild and commit core/hot/_wasm-embedded.ts otherwise)', () => {
    expect(Buffer.from(HOT_WASM_BASE64, 'base64').equals(built)).toBe(true);
    expect(Buffer.from(HOT_WASM_JS_STRING_BASE64, 'base64').equals(builtJsString)).toBe(true);
  });

  it('picks the js-string build exactly where the engine links it with its own wasm:js-string', async () => {
    const { createDefaultHot, defaultHotKind, readsStringsInPlace } = await import('../../core/hot/index.ts');
    // Node 24 links it; Node 20 ignores the compile option and gets the plain build.
    expect(defaultHotKind()).toBe(JS_STRING_SKIP === undefined ? 'wasm-js-string' : 'wasm');
    expect(readsStringsInPlace(createDefaultHot())).toBe(JS_STRING_SKIP === undefined);
  });

  it("loads the js-string build for loadNodeHot('wasm') where it links, and the plain one for 'wasm-encode'", async () => {
    const { loadNodeHot } = await import('../../targets/node/hot.ts');
    const { readsStringsInPlace } = await import('../../core/hot/index.ts');
    expect(readsStringsInPlace(await loadNodeHot('wasm'))).toBe(JS_STRING_SKIP === undefined);
    expect(readsStringsInPlace(await loadNodeHot('wasm-encode'))).toBe(false);
  });

  it('is a new instance of the embedded Wasm module on Node, and PorticoRouter uses one by default', async () => {
    const { createDefaultHot, defaultHotKind, PorticoRouter } = await import('../../core/hot/index.ts');
    expect(defaultHotKind()).toBe(JS_STRING_SKIP === undefined ? 'wasm-js-string' : 'wasm');
    const a = createDefaultHot();
    const b = createDefaultHot();
    expect(a.memory).toBeInstanceOf(WebAssembly.Memory);
    // An instance each: one router's tables never land in another's memory, and go with it.
    expect(a.memory).not.toBe(b.memory);

    const app = new Hono({ router: new PorticoRouter() });
    app.get('/users/:id', (c) => c.text(`user ${c.req.param('id')}`));
    const res = await app.request('/users/42');
    expect([res.status, await res.text()]).toEqual([200, 'user 42']);
  });

  it('falls back to the TypeScript twin where compiling Wasm bytes is refused', async () => {
    // As in workerd and Vercel Edge: WebAssembly is there, compiling bytes throws.
    const RealMemory = WebAssembly.Memory;
    const refuse = (): never => {
      throw new WebAssembly.CompileError('Wasm code generation disallowed by embedder');
    };
    vi.stubGlobal('WebAssembly', Object.create(WebAssembly, { Module: { value: refuse } }));
    const { createDefaultHot, defaultHotKind, PorticoRouter } = await import('../../core/hot/index.ts');
    expect(defaultHotKind()).toBe('twin');
    expect(createDefaultHot().memory).not.toBeInstanceOf(RealMemory);
    const router = new PorticoRouter<string>();
    router.add('GET', '/a/:x', 'h');
    // Hono's stash form, as RegExpRouter answers: [[handler, name → index]], values.
    expect(router.match('GET', '/a/1')).toEqual([[['h', { x: 0 }]], ['1']]);
  });

  it('falls back to the twin on an engine without WebAssembly', async () => {
    vi.stubGlobal('WebAssembly', undefined);
    const { defaultHotKind } = await import('../../core/hot/index.ts');
    expect(defaultHotKind()).toBe('twin');
  });
});
