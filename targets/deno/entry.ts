/**
 * Deno target: an ES module whose default export is `{ fetch }`, for `deno serve` and Deno Deploy.
 *
 * `deno serve` calls `fetch(request, info)` with the connection info, not bindings, so every
 * capability is made here, once, at module load. The hot-path Wasm is read from the file next to
 * the bundle (Deno Deploy ships the files of the deployment; `--allow-read` locally).
 *
 * Core listens on `request.signal` to cancel the origin request when the client goes away. Under
 * Deno's legacy behaviour that signal also aborts after every successful response, and Deno warns
 * on the first request; the generated deno.json turns on `unstable: ["no-legacy-abort"]` (the
 * `--unstable-no-legacy-abort` flag, for a `deno serve` without that deno.json).
 */
import compiled from 'portico:config';
import { createGateway } from '../../core/index.ts';
import { compileJsStringHot, instantiateHot } from '../../core/hot/index.ts';
import { loadDenoGeo } from './geo.ts';
import { connectionScheme, createDenoCapabilities, withScheme, type DenoServeInfo } from './capabilities.ts';

/** The slice of the `Deno` namespace this file uses (no Deno types in this Node-built repo). */
declare const Deno: { readFile(path: URL): Promise<Uint8Array<ArrayBuffer>> };

/**
 * The hot path: the js-string build (`portico.js-string.wasm`, which reads request paths in
 * place) where this Deno compiles it with JS String Builtins (Deno 2.9 does) and the file sits
 * beside the bundle; otherwise the plain `portico.wasm`.
 */
async function loadDenoHot(): Promise<ReturnType<typeof instantiateHot>> {
  try {
    const module = compileJsStringHot(await Deno.readFile(new URL('./portico.js-string.wasm', import.meta.url)));
    if (module) return instantiateHot(module);
  } catch {
    // Not shipped beside the bundle: the plain build.
  }
  return instantiateHot(new WebAssembly.Module(await Deno.readFile(new URL('./portico.wasm', import.meta.url))));
}

const hot = await loadDenoHot();
const { capabilities, context } = await createDenoCapabilities(hot);
// geo.mmdb: read at start; a missing or corrupt file stops the module from loading.
const geo = await loadDenoGeo(compiled);
const gateway = createGateway(compiled, geo ? { ...capabilities, geo } : capabilities);
const scheme = connectionScheme();

export default {
  fetch(request: Request, info: DenoServeInfo): Promise<Response> {
    // The scheme comes from the connection, never from an absolute-form target (see connectionScheme).
    return gateway.fetch(withScheme(request, scheme), context(info));
  },
};
