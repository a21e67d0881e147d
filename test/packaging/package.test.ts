/**
 * The package as a user installs it (#11 item 17): `npm pack`, installed into a scratch project
 * under the OS temp folder, where `import { defineConfig } from 'portico/core/config'` must
 * resolve and type-check under `moduleResolution: nodenext`; publint checks the manifest.
 *
 * The scratch project is installed offline: portico's dependencies come from this checkout's
 * node_modules as `file:` links, the tarball is the one just packed.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MODULES = join(ROOT, 'node_modules');
const TSC = join(MODULES, 'typescript', 'bin', 'tsc');
const NPM_ENV = { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };

let tarball = '';
let project = '';

beforeAll(() => {
  // Declarations first (what prepack does), then pack without scripts: the hot path is built by pretest.
  execFileSync(process.execPath, [TSC, '-p', 'tsconfig.types.json'], { cwd: ROOT, stdio: 'pipe' });
  const packDir = mkdtempSync(join(tmpdir(), 'portico-pack-'));
  execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', packDir], { cwd: ROOT, stdio: 'pipe', env: NPM_ENV });
  const file = readdirSync(packDir).find((f) => f.endsWith('.tgz'));
  if (!file) throw new Error('npm pack wrote no tarball');
  tarball = join(packDir, file);

  project = mkdtempSync(join(tmpdir(), 'portico-consumer-'));
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  const links = Object.fromEntries(
    [...Object.keys(pkg.dependencies), 're2js'].map((name) => [name, `file:${join(MODULES, name)}`]),
  );
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module', dependencies: links }),
  );
  execFileSync('npm', ['install', '--offline', '--ignore-scripts', tarball], { cwd: project, stdio: 'pipe', env: NPM_ENV });
}, 240_000);

afterAll(() => {
  if (tarball) rmSync(dirname(tarball), { recursive: true, force: true });
  if (project) rmSync(project, { recursive: true, force: true });
});

describe('the packed package', () => {
  it('passes publint with no errors, warnings or suggestions', async () => {
    // The installed copy is exactly the tarball's files, so nothing needs packing again.
    const { messages, pkg } = await publint({ pkgDir: join(project, 'node_modules', 'portico'), pack: false });
    expect(messages.map((m) => `${m.type}: ${formatMessage(m, pkg) ?? m.code}`)).toEqual([]);
  });

  it("resolves and type-checks `import { defineConfig } from 'portico/core/config'` under moduleResolution nodenext", {
    timeout: 180_000,
  }, () => {
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          strict: true,
          noEmit: true,
          types: [],
        },
        include: ['index.ts'],
      }),
    );
    writeFileSync(
      join(project, 'index.ts'),
      [
        "import { defineConfig, type PorticoConfig } from 'portico/core/config';",
        "import { compileConfig } from 'portico';",
        "export default defineConfig({ origins: { api: { url: 'http://127.0.0.1:9001' } }, routes: [{ match: { path: '/a' }, upstream: 'api' }] });",
        '// The types are real, not any: a config without routes is a type error.',
        '// @ts-expect-error routes is required',
        'defineConfig({ origins: {} });',
        "export const partial: PorticoConfig['origins'] = {};",
        'export const compile: typeof compileConfig = compileConfig;',
      ].join('\n'),
    );
    const r = spawnSync(process.execPath, [TSC, '-p', '.', '--listFiles'], { cwd: project, encoding: 'utf8' });
    const errors = r.stdout.split('\n').filter((l) => /error TS\d+/.test(l));
    expect(errors).toEqual([]);
    // Resolved through the exports map to the shipped declarations, not to the sources.
    expect(r.stdout).toContain(join(project, 'node_modules/portico/dist/types/core/config/index.d.ts'));
    expect(r.status).toBe(0);
  });

  it('ships the config JSON Schema, and init in the project points $schema at it', { timeout: 60_000 }, () => {
    const bin = join(project, 'node_modules', 'portico', 'scripts', 'bin', 'portico.mjs');
    const init = spawnSync(process.execPath, [bin, 'init'], { cwd: project, encoding: 'utf8' });
    expect(init.status).toBe(0);
    const config = JSON.parse(readFileSync(join(project, 'portico.config.json'), 'utf8'));
    expect(config.$schema).toBe('./node_modules/portico/schema/portico.config.schema.json');
    expect(existsSync(resolve(project, config.$schema))).toBe(true);
    const validate = spawnSync(process.execPath, [bin, 'validate'], { cwd: project, encoding: 'utf8' });
    expect(validate.stderr).toBe('');
    expect(validate.status).toBe(0);
  });
});
