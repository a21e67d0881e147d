import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('..', import.meta.url).pathname;

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : /\.(ts|mts|js|mjs)$/.test(name) ? [p] : [];
  });
}

/** What core may not touch: runtime modules, runtime globals, and Node-only globals. */
const FORBIDDEN: [RegExp, string][] = [
  [/from\s+['"](node:|fastly:|cloudflare:|bun:|deno:)/, 'imports a runtime module'],
  [/import\s*\(\s*['"](node:|fastly:|cloudflare:|bun:)/, 'imports a runtime module dynamically'],
  [/require\s*\(/, 'uses require()'],
  [/from\s+['"](fs|path|http|https|net|os|crypto|stream|url|child_process|worker_threads|undici|@hono\/node-server)['"]/, 'imports a Node package'],
  [/\bDeno\./, 'uses the Deno global'],
  [/\bprocess\.(env|argv|exit|cwd|on|stdout|stderr)/, 'uses process'],
  [/\bBuffer\./, 'uses Buffer'],
  [/\b__dirname\b|\b__filename\b/, 'uses CommonJS paths'],
  [/\bnew Function\s*\(|\beval\s*\(/, 'evaluates code (forbidden on the edge)'],
];

describe('core/', () => {
  const files = filesUnder(join(ROOT, 'core'));

  it('has source files to check', () => {
    expect(files.length).toBeGreaterThan(10);
  });

  it('imports nothing runtime-specific and uses no runtime globals', () => {
    const offences: string[] = [];
    for (const file of files) {
      const lines = readFileSync(file, 'utf8').split('\n');
      lines.forEach((line, i) => {
        if (/^\s*(\/\/|\*|\/\*)/.test(line)) return;
        for (const [re, what] of FORBIDDEN) if (re.test(line)) offences.push(`${relative(ROOT, file)}:${i + 1} ${what}: ${line.trim()}`);
      });
    }
    expect(offences).toEqual([]);
  });

  it('only imports from core/ itself or from edge-safe packages', () => {
    const allowed = /^(\.{1,2}\/|hono(\/|$)|valibot$|jose$)/;
    const offences: string[] = [];
    for (const file of files) {
      for (const m of readFileSync(file, 'utf8').matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)) {
        const spec = m[1] ?? '';
        if (!allowed.test(spec)) offences.push(`${relative(ROOT, file)} imports ${spec}`);
        if (spec.startsWith('.')) {
          const target = join(file, '..', spec);
          if (!target.startsWith(join(ROOT, 'core'))) offences.push(`${relative(ROOT, file)} reaches outside core: ${spec}`);
        }
      }
    }
    expect(offences).toEqual([]);
  });
});
