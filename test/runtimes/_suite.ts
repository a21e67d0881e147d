/**
 * Runs THE case table (./_cases.ts) against one runtime: start the loopback origins, write the
 * conformance config with their addresses, `runBuild` the target, start the artifact in the real
 * runtime on 127.0.0.1, then every case. A runtime that never answers fails every case (with the
 * process output in the message); nothing is skipped.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBuild, SIZE_BUDGETS, type BuildResult } from '../../scripts/build/index.ts';
import { WASI_COMPONENT_BUDGET } from '../../scripts/build/budgets.ts';
import { REPO_ROOT } from '../../scripts/build/root.ts';
import { CASES, sendRaw, type CaseContext } from './_cases.ts';
import { startOrigins, type Origins } from './_origins.ts';
import { startRuntime, type RunningRuntime, type RuntimeSpec } from './_runtimes.ts';

export const CONFORMANCE_CONFIG = join(REPO_ROOT, 'test/runtimes/conformance.config.json');

/** The conformance config with its origins pointed at the running loopback origins. */
export async function writeConformanceConfig(dir: string, origins: Origins): Promise<string> {
  const config = JSON.parse(await readFile(CONFORMANCE_CONFIG, 'utf8')) as { origins: Record<string, { url: string }> };
  // `stall` is the stream origin under a 1000 ms timeout: it holds its response after the first chunk.
  const urls: Record<string, string> = {
    echo: origins.echo,
    slow: origins.slow,
    closed: origins.closed,
    stream: origins.stream,
    stall: origins.stream,
  };
  for (const [name, origin] of Object.entries(config.origins)) {
    const url = urls[name];
    if (!url) throw new Error(`conformance config names an origin the suite does not start: ${name}`);
    origin.url = url;
  }
  // JWKS URLs of issuers point at the suite's JWKS origin (their path kept).
  for (const issuer of Object.values((config as { issuers?: Record<string, { jwksUrl?: string }> }).issuers ?? {})) {
    if (issuer.jwksUrl) issuer.jwksUrl = origins.jwks + new URL(issuer.jwksUrl).pathname;
  }
  const file = join(dir, 'portico.config.json');
  await writeFile(file, JSON.stringify(config, null, 2));
  return file;
}

/** Builds, starts and tests one runtime. `buildTimeoutMs` covers build + start. */
export function defineConformanceSuite(
  spec: RuntimeSpec,
  options: {
    setupTimeoutMs: number;
    caseTimeoutMs?: number;
    /** Output (stdout and stderr) the runtime must never print while serving the cases, with why. */
    outputMustNotMatch?: { pattern: RegExp; what: string };
  },
): void {
  const excluded = CASES.filter((c) => c.notOn?.some((e) => e.runtime === spec.target));
  const scope =
    excluded.length === 0 ? 'all cases' : `functional subset: ${CASES.length - excluded.length} of ${CASES.length} cases`;
  describe(`conformance on ${spec.name} (target ${spec.target}, ${scope})`, () => {
    let dir = '';
    let origins: Origins | undefined;
    let build: BuildResult | undefined;
    let runtime: RunningRuntime | undefined;
    let setupError: unknown;
    let configHash = '';

    beforeAll(async () => {
      try {
        dir = await mkdtemp(join(tmpdir(), `portico-${spec.target}-`));
        origins = await startOrigins();
        const config = await writeConformanceConfig(dir, origins);
        build = await runBuild({ target: spec.target, config, out: join(dir, 'out') });
        const marker = JSON.parse(await readFile(join(build.outDir, '.portico-build.json'), 'utf8')) as { configHash: string };
        configHash = marker.configHash;
        runtime = await startRuntime(spec, build);
      } catch (err) {
        // Recorded, not thrown: every case then fails with this reason instead of being skipped.
        setupError = err;
      }
    }, options.setupTimeoutMs);

    afterAll(async () => {
      await runtime?.stop();
      await origins?.close();
      if (dir) await rm(dir, { recursive: true, force: true });
    }, 30_000);

    function context(): CaseContext {
      if (!runtime || !origins) {
        throw new Error(`${spec.name} never answered: ${setupError instanceof Error ? setupError.message : String(setupError)}`);
      }
      const base = runtime.url;
      return { url: base, origins, configHash, send: (req) => sendRaw(base, req) };
    }

    it(`builds ${spec.target} and the runtime answers /health from the built artifact`, async () => {
      const ctx = context();
      const res = await ctx.send({ path: '/health' });
      expect(res.status).toBe(200);
    });

    it(`keeps the ${spec.target} bundle within its size budget (${SIZE_BUDGETS[spec.target]} bytes)`, () => {
      context();
      expect(build?.budgetedBytes ?? Infinity).toBeGreaterThan(0);
      expect(build?.budgetedBytes ?? Infinity).toBeLessThanOrEqual(SIZE_BUDGETS[spec.target]);
      if (spec.target === 'wasi') {
        const component = build?.files.find((f) => f.path === 'gateway.wasm');
        expect(component?.bytes ?? Infinity).toBeLessThanOrEqual(WASI_COMPONENT_BUDGET);
      }
    });

    if (spec.target !== 'node') {
      it(`bundles no node:* module and no eval into the ${spec.target} artifact`, async () => {
        context();
        const scripts = (build?.files ?? []).filter((f) => /\.(m?js)$/.test(f.path));
        expect(scripts.length).toBeGreaterThan(0);
        for (const file of scripts) {
          const text = await readFile(join(build?.outDir ?? '', file.path), 'utf8');
          expect(text, file.path).not.toMatch(/["']node:[a-z_]+["']/);
          // A call of the global eval, not a method named eval (re2js's prefilter has one: `.eval(`, `}eval(`).
          expect(text, file.path).not.toMatch(/\bnew Function\(|(?<![.}\w$])eval\(/);
        }
      });
    }

    for (const c of CASES) {
      const excluded = c.notOn?.find((e) => e.runtime === spec.target);
      // Excluded cases are left out of this runtime's subset (the title counts them; the
      // README lists them with the reason), never registered as skipped tests.
      if (excluded) continue;
      it(
        `${c.group}: ${c.name}`,
        async () => {
          const ctx = context();
          await runtime?.ensureRunning();
          try {
            await c.run(ctx);
          } catch (err) {
            if (err instanceof Error)
              err.message += `\n--- ${spec.name} output (last 2000 chars) ---\n${runtime?.output().slice(-2000) ?? ''}`;
            throw err;
          }
        },
        options.caseTimeoutMs ?? 30_000,
      );
    }

    const banned = options.outputMustNotMatch;
    if (banned) {
      it(`prints no ${banned.what} while serving the cases`, () => {
        context();
        expect(runtime?.output() ?? '').not.toMatch(banned.pattern);
      });
    }
  });
}
