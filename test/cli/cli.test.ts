/**
 * The CLI as a user runs it: a child process, its exit code and what it prints.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = fileURLToPath(new URL('../../scripts/bin/portico.mjs', import.meta.url));

function portico(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('portico validate', () => {
  it('exits 1 and prints every error with the file and the exact path', () => {
    const r = portico('validate', 'test/fixtures/broken.json');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('invalid config (');
    expect(r.stderr).toContain(
      'test/fixtures/broken.json: origins.eu.url: expected an http:// or https:// URL, got "ftp://eu.example.com"',
    );
    expect(r.stderr).toContain(
      'test/fixtures/broken.json: origins.eu.timeoutMs: expected timeoutMs as a positive number of milliseconds, got -5',
    );
    expect(r.stderr).toMatch(/routes\[0\]\.match\.methods\[1\]: expected one of GET, .*got "FETCH"/);
  });

  it('reports reference errors (unknown origin, reserved path) once the shape is right', () => {
    const dir = mkdtempSync(join(tmpdir(), 'portico-'));
    const file = join(dir, 'refs.json');
    writeFileSync(
      file,
      JSON.stringify({
        origins: { eu: { url: 'http://eu.example.com', region: 'eu-west' } },
        routes: [
          { match: { path: '/api/*' }, upstream: 'us' },
          { match: { path: '/health' }, upstream: 'eu' },
        ],
      }),
    );
    const r = portico('validate', file);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${file}: routes[0].upstream: unknown origin "us" (defined: eu)`);
    expect(r.stderr).toContain(`${file}: routes[1].match.path: /health is reserved for the gateway's own endpoint`);
  });

  it('names the accepted file types for anything else', () => {
    const r = portico('validate', 'README.md');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('expected a .json, .ts, .mts, .js or .mjs file, got ".md"');
  });

  it('points at the line and column of a JSON syntax error', () => {
    const r = portico('validate', 'test/fixtures/syntax-error.json');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('syntax-error.json: invalid JSON at line 2, column 15: expected a value');
  });

  it('reports a malformed config nested 100k levels deep as a config error with the file, not a crash', () => {
    const dir = mkdtempSync(join(tmpdir(), 'portico-'));
    const file = join(dir, 'deep.json');
    writeFileSync(file, `{"origins": {}, "routes": ${'['.repeat(100_000)}`);
    const r = portico('validate', file);
    expect(r.stderr).not.toContain('Maximum call stack size exceeded');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${file}: invalid JSON at line 1, column ${27 + 100_000}: expected a value`);
  });

  it('reports a valid JSON config nested 100k levels deep as a shape error with its path', () => {
    const dir = mkdtempSync(join(tmpdir(), 'portico-'));
    const file = join(dir, 'deep-valid.json');
    writeFileSync(file, `{"origins": {}, "routes": [${'['.repeat(100_000)}${']'.repeat(100_000)}]}`);
    const r = portico('validate', file);
    expect(r.stderr).not.toContain('Maximum call stack size exceeded');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/deep-valid\.json: routes\[0\]: .*expected a route object/);
  });

  it('prints a warning, and still exits 0, for a path that ends with "/"', () => {
    const dir = mkdtempSync(join(tmpdir(), 'portico-'));
    const file = join(dir, 'slash.json');
    writeFileSync(
      file,
      JSON.stringify({
        origins: { api: { url: 'http://127.0.0.1:9001' } },
        routes: [{ match: { path: '/api/' }, upstream: 'api' }],
      }),
    );
    const r = portico('validate', file);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`warning: ${file}: routes[0].match.path: "/api/" matches only that exact path`);
    expect(r.stdout).toContain(`${file}: valid (1 route, 1 origin(s)`);
  });

  it('loads a portico.config.ts in a folder with no package.json', () => {
    const dir = mkdtempSync(join(tmpdir(), 'portico-nopkg-'));
    const file = join(dir, 'portico.config.ts');
    const core = join(ROOT, 'core/config/index.ts');
    writeFileSync(
      file,
      [
        `import { defineConfig } from ${JSON.stringify(core)};`,
        `import type { PorticoConfig } from ${JSON.stringify(core)};`,
        "const api: PorticoConfig['origins'][string] = { url: 'http://127.0.0.1:9001' };",
        "export default defineConfig({ origins: { api }, routes: [{ match: { path: '/a' }, upstream: 'api' }] });",
      ].join('\n'),
    );
    const r = spawnSync(process.execPath, [BIN, 'validate'], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('portico.config.ts: valid (1 route, 1 origin(s)');
    expect(r.status).toBe(0);
  });

  it('says so when the file does not exist', () => {
    const r = portico('validate', 'no-such-file.json');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no-such-file.json: file not found');
  });

  it('accepts a valid JSON config and a typed defineConfig module', () => {
    const json = portico('validate', 'test/fixtures/overlap.json');
    expect(json.code).toBe(0);
    expect(json.stdout).toMatch(/overlap\.json: valid \(8 routes, 2 origin\(s\), sha256-[0-9a-f]{64}\)/);
    const ts = portico('validate', 'test/fixtures/typed.config.ts');
    expect(ts.code).toBe(0);
    expect(ts.stdout).toContain('valid (1 route,');
  });
});

describe('portico explain', () => {
  it('names the winner, its params, and why each overlapping route lost', () => {
    const r = portico(
      'explain',
      'GET',
      'http://api.example.com/api/users/42',
      '-H',
      'x-canary:1',
      '--config',
      'test/fixtures/overlap.json',
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('→ route "user-canary" (params /api/users/:id) → us');
    expect(r.stdout).toContain('params: id="42"');
    const line = (id: string) => r.stdout.split('\n').find((l) => l.includes(` ${id} `)) ?? '';
    expect(line('user-canary')).toContain('WINNER');
    expect(line('user')).toContain('lost (precedence)');
    expect(line('me')).toContain('lost (path)');
    expect(line('users-api')).toContain('lost (precedence)');
    expect(line('numeric')).toContain('lost (precedence)');
    expect(line('partner')).toContain('lost (host)');
    expect(line('catch-all')).toContain('lost (precedence)');
  });

  it('shows header and method losses, and normalization', () => {
    const r = portico('explain', 'post', '/api/users/../users/me', '--config', 'test/fixtures/overlap.json');
    expect(r.stdout).toContain('normalized path: /api/users/me');
    const line = (id: string) => r.stdout.split('\n').find((l) => l.includes(` ${id} `)) ?? '';
    expect(line('me')).toContain('lost (method)');
    expect(line('user-canary')).toContain('lost (method)');
    expect(line('users-api')).toContain('WINNER');
  });

  it('reports a path that cannot be routed safely', () => {
    const r = portico('explain', 'GET', '/api/%252e%252e/admin', '--config', 'test/fixtures/overlap.json');
    expect(r.stdout).toContain('400 Bad Request');
  });

  it('says a CORS preflight is answered by the cors policy of the route for the method it asks about', () => {
    const dir = mkdtempSync(join(tmpdir(), 'portico-'));
    const file = join(dir, 'cors.json');
    writeFileSync(
      file,
      JSON.stringify({
        origins: { eu: { url: 'http://eu.example.com', region: 'eu-west' } },
        routes: [
          {
            id: 'items',
            match: { path: '/items', methods: ['GET', 'PUT'] },
            upstream: 'eu',
            cors: { origins: ['http://localhost:5173'] },
          },
        ],
      }),
    );
    const ask = ['-H', 'origin:http://localhost:5173', '-H', 'access-control-request-method:PUT', '--config', file];
    const r = portico('explain', 'OPTIONS', '/items', ...ask);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('→ CORS preflight for PUT: answered by route "items"\'s cors policy, never forwarded');
    expect(r.stdout).toContain('pipeline: cors (http://localhost:5173) → upstream eu');
    // Without Access-Control-Request-Method it is a plain OPTIONS: 405.
    expect(portico('explain', 'OPTIONS', '/items', '--config', file).stdout).toContain('405 Method Not Allowed');
  });
});

describe('portico build and deploy', () => {
  it('fails a build on an invalid config with the same path-precise errors as validate', () => {
    const out = mkdtempSync(join(tmpdir(), 'portico-build-'));
    const r = portico('build', '--target', 'deno', '--config', 'test/fixtures/broken.json', '--out', out);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('broken.json: routes[1].upstream: unknown origin "us" (defined: eu)');
  });

  it('builds a target, then prints the exact deploy command on --dry-run', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'portico-build-')), 'cf');
    const built = portico('build', '--target', 'cloudflare', '--config', 'test/fixtures/overlap.json', '--out', out);
    expect(built.code).toBe(0);
    expect(built.stdout).toMatch(/built cloudflare in [\d.]+ s/);
    expect(built.stdout).toContain('wrangler.toml');
    const deploy = portico('deploy', '--target', 'cloudflare', '--dry-run', '--out', out);
    expect(deploy.code).toBe(0);
    expect(deploy.stdout).toContain('wrangler deploy');
  });

  it('names the valid targets when --target is wrong', () => {
    const r = portico('build', '--target', 'lambda');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--target: expected one of node, deno, vercel, cloudflare, fastly, wasi, got "lambda"');
  });
});

describe('portico dev', () => {
  it('starts the embedded demo, answers through the gateway, and drains on Ctrl-C', async () => {
    const child = spawn(process.execPath, [BIN, 'dev', '--port', '0'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stdout += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const base = await new Promise<string>((resolve, reject) => {
        const t = setInterval(() => {
          // The banner ends with the Ctrl-C line; wait for all of it.
          const m = /portico demo on (http:\/\/\S+)/.exec(stdout);
          if (m?.[1] && stdout.includes('Ctrl-C drains')) {
            clearInterval(t);
            resolve(m[1]);
          }
        }, 50);
        setTimeout(() => reject(new Error(`demo did not start: ${stdout}`)), 20_000);
      });
      expect(stdout).toContain('curl -s');

      const user = await fetch(`${base}/api/users/42`);
      expect(user.status).toBe(200);
      expect(await user.json()).toMatchObject({ region: 'eu-west', path: '/api/users/42' });
      const canary = await fetch(`${base}/api/users/42`, { headers: { 'x-canary': '1' } });
      expect(await canary.json()).toMatchObject({ region: 'us-east' });
      expect(canary.headers.get('x-portico-canary')).toBe('true');
      // The pool route: the demo's MMDB database puts 127.0.0.1 in Singapore (default: eu-west).
      const geo = await fetch(`${base}/geo/hello`);
      expect(await geo.json()).toMatchObject({ region: 'ap-south', path: '/hello' });

      // A slow request is in flight when Ctrl-C arrives: it must still complete.
      const slow = fetch(`${base}/api/slow?delay=800`);
      await new Promise((r) => setTimeout(r, 200));
      child.kill('SIGINT');
      const res = await slow;
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ path: '/slow?delay=800' });
      expect(await exited).toBe(0);
      expect(stdout).toContain('draining 1 request(s) in flight');
      expect(stdout).toContain('drained; bye');
    } finally {
      child.kill('SIGKILL');
    }
  });
});
