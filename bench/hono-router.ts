/**
 * portico's matcher behind Hono's Router interface (`PorticoRouter`), beside Hono's own routers,
 * on the same tables and requests. Every router's answers (the handlers and params it returns)
 * are checked against TrieRouter's before anything is timed.
 *
 * Usage: npx tsx bench/hono-router.ts [--rounds N]
 * Prints CPU time per `match` (median of the rounds) and the ratio to the fastest Hono router.
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { RegExpRouter } from 'hono/router/reg-exp-router';
import { SmartRouter } from 'hono/router/smart-router';
import { TrieRouter } from 'hono/router/trie-router';
import type { Router } from 'hono/router';
import { PorticoRouter, instantiateHot } from '../core/hot/index.ts';

interface Table {
  title: string;
  routes: { method: string; path: string }[];
}

const ROOT = new URL('..', import.meta.url);
const read = (p: string) => readFileSync(new URL(p, ROOT), 'utf8');
const hot = instantiateHot(new WebAssembly.Module(readFileSync(new URL('wasm/build/portico.wasm', ROOT))));

/** Requests per table: real hits of several shapes and one miss. */
const REQUESTS: Record<string, [string, string][]> = {
  'bench/data/github-api.json': [
    ['GET', '/user/repos'],
    ['GET', '/users/julienschmidt/repos'],
    ['GET', '/repos/julienschmidt/httprouter/issues/42'],
    ['GET', '/repos/julienschmidt/httprouter/wiki'],
    ['DELETE', '/authorizations/12'],
  ],
  'bench/data/hono-routers.json': [
    ['GET', '/user'],
    ['GET', '/user/comments'],
    ['GET', '/user/lookup/username/hey'],
    ['GET', '/event/abcd1234/comments'],
    ['GET', '/very/deeply/nested/route/hello/there'],
    ['GET', '/static/index.html'],
    ['GET', '/nothing/here'],
  ],
};

type AnyRouter = Router<string>;
const CONTESTANTS: [string, () => AnyRouter][] = [
  ['PorticoRouter (Wasm)', () => new PorticoRouter<string>(hot)],
  ['Hono RegExpRouter', () => new RegExpRouter<string>()],
  ['Hono TrieRouter', () => new TrieRouter<string>()],
  ['Hono SmartRouter', () => new SmartRouter<string>({ routers: [new RegExpRouter(), new TrieRouter()] })],
];

/** Handlers and params of a Result, in one comparable form whatever the Result's shape. */
function answer(router: AnyRouter, method: string, path: string): string {
  const [matches, stash] = router.match(method, path) as [[string, Record<string, unknown>][], string[] | undefined];
  return JSON.stringify(
    matches.map(([handler, params]) => [
      handler,
      // Key order differs between routers; compare params sorted by name.
      Object.fromEntries(
        Object.entries(params)
          .map(([k, v]) => [k, stash ? stash[v as number] : v] as const)
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
      ),
    ]),
  );
}

const rounds = Number(process.argv[process.argv.indexOf('--rounds') + 1]) || 7;
const CALLS = 300_000;

for (const file of Object.keys(REQUESTS)) {
  const table = JSON.parse(read(file)) as Table;
  const requests = REQUESTS[file]!;
  // Distinct URL strings; the path is sliced from one per call, as a server would.
  const urls = Array.from({ length: 4096 }, (_, i) => {
    const [m, p] = requests[i % requests.length]!;
    return [m, `http://h${p}?n=${i}`] as const;
  });
  const results: { name: string; ns: number }[] = [];
  let expected: string[] | null = null;
  for (const [name, make] of CONTESTANTS) {
    const router = make();
    for (const r of table.routes) router.add(r.method, r.path, `${r.method} ${r.path}`);
    const answers = requests.map(([m, p]) => answer(router, m, p));
    expected ??= answers;
    if (JSON.stringify(answers) !== JSON.stringify(expected)) {
      console.log(`${name}: answers differ from ${CONTESTANTS[0]![0]}; not timed`);
      continue;
    }
    let sink = 0;
    const run = () => {
      for (let i = 0; i < CALLS; i++) {
        const [m, u] = urls[i & 4095]!;
        sink += router.match(m, u.slice(8, u.indexOf('?', 8)))[0].length;
      }
    };
    run();
    const times: number[] = [];
    for (let k = 0; k < rounds; k++) {
      const before = process.cpuUsage();
      run();
      const used = process.cpuUsage(before);
      times.push(((used.user + used.system) * 1000) / CALLS);
    }
    times.sort((a, b) => a - b);
    if (sink < 0) console.log(sink);
    results.push({ name, ns: times[Math.floor(times.length / 2)]! });
  }
  const fastestHono = Math.min(...results.filter((r) => r.name.startsWith('Hono')).map((r) => r.ns));
  console.log(`\n${table.title}: ${requests.length} requests, answers checked equal before timing`);
  console.log('| router | ns per match | vs fastest Hono router |\n| --- | ---: | ---: |');
  for (const r of results) console.log(`| ${r.name} | ${r.ns.toFixed(0)} | ${(r.ns / fastestHono).toFixed(2)}× |`);
}
console.log(
  `\nload average ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}, ${rounds} rounds of ${CALLS} calls, median`,
);
