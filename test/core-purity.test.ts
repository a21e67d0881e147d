import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('..', import.meta.url).pathname;
const CORE = join(ROOT, 'core');

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : /\.(ts|mts|js|mjs)$/.test(name) ? [p] : [];
  });
}

/** What core may not touch: runtime modules, runtime globals, and Node-only globals. */
const FORBIDDEN: [RegExp, string][] = [
  [/\bDeno\./, 'uses the Deno global'],
  [/\bBun\./, 'uses the Bun global'],
  [/\bprocess\.(env|argv|exit|cwd|on|stdout|stderr|nextTick|hrtime)/, 'uses process'],
  [/\bBuffer\./, 'uses Buffer'],
  [/\b__dirname\b|\b__filename\b|\brequire\s*\(/, 'uses CommonJS'],
  [/\bnew Function\s*\(|\beval\s*\(/, 'evaluates code (forbidden on the edge)'],
];

/** Static imports/re-exports, bare imports, and dynamic import(). */
const IMPORT_SPECIFIERS =
  /^\s*(?:import|export)\b[^;]*?\bfrom\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]/gm;
/** Packages core may import: made for Web APIs, no eval (re2js: regex routes on RE2, pure JS). */
const ALLOWED_PACKAGES = /^(hono(\/|$)|valibot$|jose$|re2js$)/;

/** Everything wrong with one file of core, as readable lines. */
function offences(file: string, text: string): string[] {
  const found: string[] = [];
  text.split('\n').forEach((line, i) => {
    if (/^\s*(\/\/|\*|\/\*)/.test(line)) return;
    for (const [re, what] of FORBIDDEN) if (re.test(line)) found.push(`${relative(ROOT, file)}:${i + 1} ${what}: ${line.trim()}`);
  });
  for (const m of text.matchAll(IMPORT_SPECIFIERS)) {
    const spec = m[1] ?? m[2] ?? m[3] ?? '';
    if (spec.startsWith('.')) {
      if (!join(file, '..', spec).startsWith(CORE)) found.push(`${relative(ROOT, file)} reaches outside core: ${spec}`);
    } else if (!ALLOWED_PACKAGES.test(spec)) {
      found.push(`${relative(ROOT, file)} imports ${spec}`);
    }
  }
  return found;
}

describe('core/', () => {
  const files = filesUnder(CORE);

  it('imports nothing runtime-specific and uses no runtime globals', () => {
    expect(files.length).toBeGreaterThan(10);
    expect(files.flatMap((f) => offences(f, readFileSync(f, 'utf8')))).toEqual([]);
  });

  it('would catch runtime imports, Node packages, globals and escapes from core', () => {
    const sample = [
      "import { readFile } from 'node:fs/promises';",
      "import { env } from 'cloudflare:workers';",
      "export { x } from '../../targets/node/server.ts';",
      "import { Agent } from 'undici';",
      "const m = await import('fastly:kv-store');",
      'const key = Deno.env.get("K");',
      'if (process.env.DEBUG) {}',
      'const b = Buffer.from("x");',
      "import { Hono } from 'hono';",
      "import * as v from 'valibot';",
    ].join('\n');
    const found = offences(join(CORE, 'http', 'sample.ts'), sample);
    expect(found).toHaveLength(8);
    expect(found.join('\n')).not.toMatch(/hono|valibot/);
  });
});
