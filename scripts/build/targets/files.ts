/**
 * Small file helpers shared by the recipes.
 */
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** The hot-path build outputs, relative to the repository root (built by `npm run build:wasm`). */
export const HOT_WASM = 'wasm/build/portico.wasm';
export const HOT_WASM2JS = 'wasm/build/portico.wasm2js.mjs';
/** The js-string build, for engines with JS String Builtins (Node 24+, Deno): see compileJsStringHot. */
export const HOT_WASM_JS_STRING = 'wasm/build/portico.js-string.wasm';

export async function writeText(file: string, text: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, text);
}

export async function writeJson(file: string, value: unknown): Promise<void> {
  await writeText(file, JSON.stringify(value, null, 2) + '\n');
}

/** Copies the hot-path Wasm to `dest` (absolute). */
export async function copyHotWasm(root: string, dest: string): Promise<void> {
  await mkdir(dirname(dest), { recursive: true });
  await copyFile(join(root, HOT_WASM), dest);
}

/** Copies the js-string build beside the plain one (`portico.js-string.wasm` in `dir`). */
export async function copyJsStringWasm(root: string, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await copyFile(join(root, HOT_WASM_JS_STRING), join(dir, 'portico.js-string.wasm'));
}

/** Quotes a string for TOML (basic string). */
export function tomlString(value: string): string {
  return JSON.stringify(value);
}
