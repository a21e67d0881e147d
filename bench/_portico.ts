/**
 * The portico contestants: the Wasm matcher (and its js-string build, which reads the path in
 * place, where the engine has JS String Builtins), its wasm2js build and the TypeScript twin,
 * all through the direct Matcher API of core/hot (the fast path, without the Hono Router
 * wrapper). Each route becomes one TableEntry in table order: `:x` a param segment, a trailing
 * `*` the rest, and in the multi-tenant table the route's host as an exact host.
 *
 * Each contestant runs on a copy of core/hot of its own (see `isolatedHotApi`).
 */
import { Buffer } from 'node:buffer';
import { readFileSync } from 'node:fs';
import { build } from 'esbuild';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { methodBit, type HotExports, type TableEntry } from '../core/hot/types.ts';
import { NOT_FOUND, type BuiltRouter, type Contestant, type UnavailableContestant } from './_contestants.ts';
import { parsePattern, type MatchOutcome, type RouteSpec, type RouteTable } from './_tables.ts';

export type HotApi = typeof import('../core/hot/index.ts') &
  Pick<typeof import('../core/hot/_hot-state.ts'), 'hotState' | 'freshState' | 'writeHost' | 'writeStr'>;

const HOT_INDEX = new URL('../core/hot/index.ts', import.meta.url);
const WASM_FILE = new URL('../wasm/build/portico.wasm', import.meta.url);
const JS_STRING_FILE = new URL('../wasm/build/portico.js-string.wasm', import.meta.url);
const WASM2JS_FILE = new URL('../wasm/build/portico.wasm2js.mjs', import.meta.url);

/** core/hot bundled into one ES module, once per process. */
let bundled: Promise<string> | undefined;

/**
 * A copy of core/hot of its own: the module bundled with esbuild and imported once per `tag`.
 * The three portico builds share core/hot's JS wrapper (match, the string copy, ...); in one
 * process they would share its type feedback too, and V8 would optimize that code for three
 * kinds of memory and exports at once. Measured: the Wasm matcher read 20–40% slower on the
 * multi-tenant table when the wasm2js and twin contestants had run through the same code. An
 * application runs one build, so each contestant gets its own copy, as each JS peer has its
 * own code.
 */
export async function isolatedHotApi(tag: string): Promise<HotApi> {
  // The public surface, plus the string writes of the wrappers for the copy-in floor.
  bundled ??= build({
    stdin: {
      contents: "export * from './index.ts';\nexport { hotState, freshState, writeHost, writeStr } from './_hot-state.ts';\n",
      resolveDir: fileURLToPath(new URL('.', HOT_INDEX)),
      loader: 'ts',
    },
    bundle: true,
    format: 'esm',
    platform: 'node',
    write: false,
    logLevel: 'silent',
  }).then((out) => out.outputFiles[0]!.text);
  const code = `${await bundled}\n// portico bench copy: ${tag}\n`;
  return (await import(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`)) as HotApi;
}

/** The TableEntry for one route of a table. */
export function toTableEntry(route: RouteSpec, hosts: boolean): TableEntry {
  const pattern = parsePattern(route.path);
  return {
    host: hosts && route.host ? { kind: 'exact', value: route.host } : { kind: 'any' },
    methods: methodBit(route.method),
    path: {
      kind: 'segments',
      segments: pattern.segments.map((s) => (s === null ? { kind: 'param' } : { kind: 'static', value: s })),
      rest: pattern.rest,
    },
  };
}

function porticoContestant(id: string, label: string, api: HotApi, hot: HotExports): Contestant {
  const methodBitOf = api.methodBit;
  return {
    id,
    label,
    family: 'portico',
    hostRouting: true,
    capturesRest: true,
    build(table: RouteTable) {
      const blob = api.compileRouteTable(table.routes.map((r) => toTableEntry(r, table.hosts)));
      const matcher = api.createMatcher(hot, blob);
      const patterns = table.routes.map((r) => parsePattern(r.path));
      return {
        call: { expr: 'self.match(fn(M), H, P, 0)', self: matcher, fn: methodBitOf },
        decode(raw, path): MatchOutcome {
          const route = raw as number;
          if (route < 0) return { route: -1, params: [], rest: null, matches: 0 };
          const values: string[] = [];
          for (let i = 0; i < matcher.paramCount(); i++) {
            values.push(path.slice(matcher.paramStart(i), matcher.paramEnd(i)));
          }
          const pattern = patterns[route];
          const rest = pattern?.rest ? (values.pop() ?? '<missing>') : null;
          return { route, params: values, rest, matches: 1 };
        },
      };
    },
  };
}

/**
 * Not a router: what the Wasm wrapper does before it asks the module anything, with the
 * lookup taken out. Per call: the method's bit, the host check (and write when it changed),
 * the path written into linear memory, and one call of an empty export (paramsPtr) for the
 * crossing. Its time is the floor under every portico Wasm cell of its column, whatever the
 * matcher inside the module does; it includes the harness floor. Not checked, not a peer.
 */
function copyInFloor(api: HotApi, hot: HotExports): Contestant {
  return {
    id: 'copy-floor',
    label: '(portico copy-in floor, no lookup)',
    family: 'floor',
    hostRouting: true,
    capturesRest: false,
    build: (table: RouteTable) => copyInCall(api, hot, table.hosts),
  };
}

/**
 * The timed call of a copy-in floor: `self.copy(fn(M), H, P)` writes what a portico wrapper
 * writes before its one crossing (the host only when `withHost`: the matcher skips it on a
 * table without hosts, the request step always writes it) and makes one empty export call.
 */
export function copyInCall(api: HotApi, hot: HotExports, withHost: boolean): BuiltRouter {
  const st = api.hotState(hot);
  const self = {
    copy(bit: number, host: string, path: string): number {
      const fresh = api.freshState(st);
      const hostLen = withHost ? api.writeHost(fresh, host) : 0;
      return bit + hostLen + api.writeStr(fresh, path) + hot.paramsPtr();
    },
  };
  return { call: { expr: 'self.copy(fn(M), H, P)', self, fn: api.methodBit }, decode: () => NOT_FOUND };
}

/**
 * Loads the portico contestants. What cannot load (core/hot not there yet, wasm not built) is
 * listed as unavailable with the reason, and the run goes on with the others.
 */
export async function loadPorticoContestants(): Promise<{
  contestants: Contestant[];
  unavailable: UnavailableContestant[];
}> {
  const contestants: Contestant[] = [];
  let floor: Contestant | undefined;
  const unavailable: UnavailableContestant[] = [];
  const labels = {
    'wasm-js-string': 'portico Wasm, in place (js-string)',
    wasm: 'portico Wasm',
    wasm2js: 'portico wasm2js',
    twin: 'portico TS twin',
  };
  const attempts: [keyof typeof labels, (api: HotApi) => Promise<HotExports>][] = [
    [
      'wasm-js-string',
      async (api) => {
        const module = api.compileJsStringHot(readFileSync(fileURLToPath(JS_STRING_FILE)));
        if (!module) throw new Error(`Node ${process.versions.node} has no JS String Builtins (wasm:js-string)`);
        return api.instantiateHot(module);
      },
    ],
    ['wasm', async (api) => api.instantiateHot(new WebAssembly.Module(readFileSync(fileURLToPath(WASM_FILE))))],
    ['wasm2js', async (api) => api.hotFromWasm2js(await import(pathToFileURL(fileURLToPath(WASM2JS_FILE)).href))],
    ['twin', async (api) => api.createTwinHot()],
  ];
  for (const [id, load] of attempts) {
    let api: HotApi;
    try {
      api = await isolatedHotApi(id);
    } catch (error) {
      unavailable.push({ id, label: labels[id], reason: `core/hot did not load: ${(error as Error).message.split('\n')[0]}` });
      continue;
    }
    try {
      const hot = await load(api);
      contestants.push(porticoContestant(id, labels[id], api, hot));
      if (id === 'wasm') {
        const floorApi = await isolatedHotApi('copy-floor');
        floor = copyInFloor(floorApi, await load(floorApi));
      }
    } catch (error) {
      const hint = id === 'twin' || id === 'wasm-js-string' ? '' : ' (run `npm run build:wasm`)';
      unavailable.push({ id, label: labels[id], reason: `${(error as Error).message.split('\n')[0]}${hint}` });
    }
  }
  // The copy-in floor goes last, beside the harness floor.
  return { contestants: floor ? [...contestants, floor] : contestants, unavailable };
}
