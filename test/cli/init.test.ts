/**
 * `portico init` (#11 item 15), run as a user runs it: a child process in an empty folder.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../../scripts/bin/portico.mjs', import.meta.url));

function portico(cwd: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const emptyDir = () => mkdtempSync(join(tmpdir(), 'portico-init-'));

describe('portico init', () => {
  it('writes a portico.config.json with a $schema that exists, two origins and routes that validate', () => {
    const dir = emptyDir();
    const r = portico(dir, 'init');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('wrote portico.config.json');
    const config = JSON.parse(readFileSync(join(dir, 'portico.config.json'), 'utf8'));
    expect(existsSync(resolve(dir, config.$schema))).toBe(true);
    expect(JSON.parse(readFileSync(resolve(dir, config.$schema), 'utf8')).title).toBe('portico config');
    expect(Object.keys(config.origins)).toHaveLength(2);
    expect(config.routes.length).toBeGreaterThanOrEqual(3);
    const v = portico(dir, 'validate');
    expect(v.stderr).toBe('');
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/portico\.config\.json: valid \(4 routes, 2 origin\(s\)/);
  });

  it('writes a commented portico.config.ts with --ts that validates in a folder without portico installed', () => {
    const dir = emptyDir();
    expect(portico(dir, 'init', '--ts').code).toBe(0);
    const text = readFileSync(join(dir, 'portico.config.ts'), 'utf8');
    expect(text).toContain("import type { PorticoConfig } from 'portico/core/config';");
    expect(text).toContain('satisfies PorticoConfig');
    expect(text.match(/^\s*\/\/ /gm)?.length ?? 0).toBeGreaterThanOrEqual(5);
    const v = portico(dir, 'validate');
    expect(v.stderr).toBe('');
    expect(v.stdout).toMatch(/portico\.config\.ts: valid \(4 routes, 2 origin\(s\)/);
  });

  it('refuses to overwrite an existing config, and leaves it as it was', () => {
    const dir = emptyDir();
    writeFileSync(join(dir, 'portico.config.json'), '{"mine": true}');
    const r = portico(dir, 'init');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('portico.config.json already exists here: not overwriting it');
    expect(readFileSync(join(dir, 'portico.config.json'), 'utf8')).toBe('{"mine": true}');
    // Nor writes a second config beside one of another kind (which would be read first).
    const ts = portico(dir, 'init', '--ts');
    expect(ts.code).toBe(1);
    expect(existsSync(join(dir, 'portico.config.ts'))).toBe(false);
  });

  it('is what build and validate name when there is no config', () => {
    const dir = emptyDir();
    const build = portico(dir, 'build', '--target', 'node');
    expect(build.code).toBe(1);
    expect(build.stderr).toContain('portico init writes a starter one');
    const validate = portico(dir, 'validate');
    expect(validate.stderr).toContain('portico init writes one');
  });
});
