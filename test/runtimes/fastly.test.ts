/**
 * Fastly Compute: BUILT AND CHECKED, NOT EXECUTED. Fastly's local host (Viceroy) downloads itself
 * from outside and cannot run here, so this file builds the target from the conformance config
 * and checks the artifact the way `fastly compute deploy` would take it: a valid Wasm module that
 * imports only Fastly and WASI host functions, fastly.toml's fields, the package tarball's layout,
 * and the size budgets. The JS-in-Wasm path itself (SpiderMonkey, no `WebAssembly`, wasm2js hot
 * path) is executed by the WASI component suite (./wasi.test.ts).
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBuild, SIZE_BUDGETS, type BuildResult } from '../../scripts/build/index.ts';
import { FASTLY_WASM_BUDGET } from '../../scripts/build/budgets.ts';
import { REPO_ROOT } from '../../scripts/build/root.ts';
import { CONFORMANCE_CONFIG } from './_suite.ts';

/** Host modules a Compute program may import: Fastly's hostcalls and WASI preview 1. */
const ALLOWED_IMPORT_MODULE = /^(fastly_[a-z_]+|wasi_snapshot_preview1)$/;

async function sourceFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await sourceFiles(full)));
    else if (entry.name.endsWith('.ts')) out.push(full);
  }
  return out;
}

describe('fastly (built and checked, not executed: Viceroy cannot run here)', () => {
  let dir = '';
  let build: BuildResult;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'portico-fastly-'));
    build = await runBuild({ target: 'fastly', config: CONFORMANCE_CONFIG, out: join(dir, 'out') });
  }, 180_000);

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('compiles bin/main.wasm into a valid Wasm module importing only Fastly and WASI host calls', async () => {
    const bytes = await readFile(join(build.outDir, 'bin/main.wasm'));
    expect(WebAssembly.validate(bytes)).toBe(true);
    const module = await WebAssembly.compile(bytes);
    const modules = new Set(WebAssembly.Module.imports(module).map((i) => i.module));
    expect(modules.has('fastly_http_req')).toBe(true);
    expect([...modules].filter((m) => !ALLOWED_IMPORT_MODULE.test(m))).toEqual([]);
    const exports = WebAssembly.Module.exports(module).map((e) => e.name);
    expect(exports).toContain('_start');
  });

  it('writes fastly.toml with manifest_version 3, the service name and language javascript', async () => {
    const toml = await readFile(join(build.outDir, 'fastly.toml'), 'utf8');
    expect(toml).toMatch(/^manifest_version = 3$/m);
    expect(toml).toMatch(/^name = "portico"$/m);
    expect(toml).toMatch(/^language = "javascript"$/m);
    expect(toml).toMatch(/^\[scripts\]$/m);
  });

  it('packs pkg/portico.tar.gz with the layout `fastly compute deploy` takes', () => {
    const listed = spawnSync('tar', ['-tvzf', join(build.outDir, 'pkg/portico.tar.gz')], { encoding: 'utf8' });
    expect(listed.status).toBe(0);
    // `tar -tv` lines: mode, owner, size, date, time, name; regular files start with "-".
    const files = listed.stdout
      .split('\n')
      .filter((l) => l.startsWith('-'))
      .map((l) => l.split(/\s+/).slice(5).join(' '))
      .sort();
    expect(files).toEqual(['portico/bin/main.wasm', 'portico/fastly.toml']);
  });

  it('bundles the wasm2js hot path and imports fastly:* modules only from the bundle, never WebAssembly', async () => {
    const js = await readFile(join(build.outDir, 'build/index.js'), 'utf8');
    // Static imports left in the minified ES module, e.g. `import{env as a}from"fastly:env";`.
    const imports = [...js.matchAll(/(?:^|[;}\s])import\s*(?:[\w$*{}\s,]+?)\s*from\s*"([^"]+)"/g)].map((m) => m[1]);
    expect(imports.length).toBeGreaterThan(0);
    expect(imports.every((s) => s?.startsWith('fastly:'))).toBe(true);
    // The Wasm module is not shipped: Fastly's engine has no WebAssembly global.
    expect(build.files.map((f) => f.path).filter((p) => p.endsWith('portico.wasm'))).toEqual([]);
  });

  it('keeps fastly:* imports inside targets/fastly', async () => {
    const offenders: string[] = [];
    for (const top of ['core', 'targets', 'scripts']) {
      for (const file of await sourceFiles(join(REPO_ROOT, top))) {
        const rel = relative(REPO_ROOT, file);
        if (rel.startsWith('targets/fastly/') || rel.startsWith('scripts/build/')) continue;
        if (/from\s+['"]fastly:/.test(await readFile(file, 'utf8'))) offenders.push(rel);
      }
    }
    expect(offenders).toEqual([]);
  });

  it(`keeps the bundle within ${SIZE_BUDGETS.fastly} bytes and main.wasm within ${FASTLY_WASM_BUDGET} bytes`, () => {
    expect(build.budgetedBytes).toBeGreaterThan(0);
    expect(build.budgetedBytes).toBeLessThanOrEqual(SIZE_BUDGETS.fastly);
    const wasm = build.files.find((f) => f.path === 'bin/main.wasm');
    expect(wasm?.bytes ?? Infinity).toBeLessThanOrEqual(FASTLY_WASM_BUDGET);
  });
});
