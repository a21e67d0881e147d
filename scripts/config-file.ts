/**
 * Reads a config file: JSON, or a TypeScript/JavaScript module whose default export is the
 * config (usually `defineConfig({...})`). Reading files is Node's business, so it lives here
 * and not in core.
 */
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { resolve, extname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { tsImport } from 'tsx/esm/api';
import { ConfigError } from '../core/errors.ts';
import { locateJsonError } from './json-error.ts';

/** Files `portico validate` and `portico build` look for when none is named. */
export const DEFAULT_CONFIG_FILES = ['portico.config.json', 'portico.config.ts', 'portico.config.mjs', 'portico.config.js'];

/** The first default config file present in `dir`, or null. */
export function findConfigFile(dir = process.cwd()): string | null {
  for (const name of DEFAULT_CONFIG_FILES) {
    const p = resolve(dir, name);
    if (existsSync(p)) return p;
  }
  return null;
}

/** Line and column (1-based) of a character offset, for JSON syntax errors. */
function lineCol(text: string, offset: number): string {
  let line = 1;
  let col = 1;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      col = 1;
    } else col++;
  }
  return `line ${line}, column ${col}`;
}

/**
 * Loads the raw (unvalidated) config from a file.
 * @throws ConfigError when the file is missing or is not valid JSON / does not export a config
 */
export async function loadConfigFile(file: string): Promise<unknown> {
  const path = resolve(file);
  if (!existsSync(path)) throw new ConfigError([{ path: '', message: 'file not found' }], file);
  const ext = extname(path);
  if (ext === '.json') {
    const text = await readFile(path, 'utf8');
    try {
      return JSON.parse(text);
    } catch (e) {
      let found: ReturnType<typeof locateJsonError> = null;
      try {
        found = locateJsonError(text);
      } catch {
        // The locator is only a better message; JSON.parse's own is the fallback.
      }
      const where = found ? ` at ${lineCol(text, found.offset)}: expected ${found.expected}` : `: ${(e as Error).message}`;
      throw new ConfigError([{ path: '', message: `invalid JSON${where}` }], file);
    }
  }
  if (['.ts', '.mts', '.js', '.mjs'].includes(ext)) {
    // tsx's tsImport loads the file as a module of its own, whatever the folder around it says: a
    // plain import of a .ts config in a folder without a package.json ("type": "module") makes
    // Node take it for CommonJS and fail with "Cannot require() ES Module ... in a cycle".
    const imported = (await tsImport(pathToFileURL(path).href, import.meta.url)) as { default?: unknown };
    // A module Node took for CommonJS comes back with its exports under default once more.
    const inner = imported.default as { default?: unknown; __esModule?: boolean } | undefined;
    const mod =
      inner &&
      typeof inner === 'object' &&
      'default' in inner &&
      Object.keys(inner).every((k) => k === 'default' || k === '__esModule')
        ? inner
        : imported;
    if (mod.default === undefined) {
      throw new ConfigError(
        [{ path: '', message: 'expected the module to export the config as default (export default defineConfig({...}))' }],
        file,
      );
    }
    return mod.default;
  }
  throw new ConfigError(
    [{ path: '', message: `expected a .json, .ts, .mts, .js or .mjs file, got "${ext || 'no extension'}"` }],
    file,
  );
}
