// What getting a request path into linear memory costs, per call, on the engine running this
// file: the harness slice alone, then the slice plus each way in (encodeInto, a charCodeAt loop
// into a Uint8Array, and Node's Buffer#latin1Write where there is one). Plain JS, so it runs as
// is on Node and Deno; it is the evidence behind "the floor" in bench/README.md.
//
// Usage: node bench/copy-in.mjs   |   deno run bench/copy-in.mjs
// Prints the median of 9 rounds, ns per call, for a 14-character path (Hono's static request)
// and a 41-character one (GitHub's 3-param request), each sliced from 1,000 distinct URLs.
const ROUNDS = 9;
const CALLS = 1_000_000;
const memory = new Uint8Array(new ArrayBuffer(65536));
const encoder = new TextEncoder();
// Deno has a Buffer too, for Node compatibility, but not Node's C++ one: Node only.
const NodeBuffer = globalThis.Deno ? undefined : globalThis.Buffer;
const nodeBuffer = NodeBuffer ? NodeBuffer.from(memory.buffer) : undefined;

function urlsFor(path) {
  return Array.from({ length: 1000 }, (_, k) => `http://localhost${path}?x=${k}`);
}

/** The timed loops: each slices the path out of the next URL, as a server does, then copies it. */
const ways = {
  'slice only': (urls) => {
    let sink = 0;
    for (let i = 0, k = 0; i < CALLS; i++) {
      const u = urls[k];
      const p = u.slice(u.indexOf('/', 8), u.indexOf('?', 8));
      sink ^= p.length;
      k = k + 1 === 1000 ? 0 : k + 1;
    }
    return sink;
  },
  encodeInto: (urls) => {
    let sink = 0;
    for (let i = 0, k = 0; i < CALLS; i++) {
      const u = urls[k];
      const p = u.slice(u.indexOf('/', 8), u.indexOf('?', 8));
      sink ^= encoder.encodeInto(p, memory).written;
      k = k + 1 === 1000 ? 0 : k + 1;
    }
    return sink;
  },
  'charCodeAt loop': (urls) => {
    let sink = 0;
    for (let i = 0, k = 0; i < CALLS; i++) {
      const u = urls[k];
      const p = u.slice(u.indexOf('/', 8), u.indexOf('?', 8));
      for (let j = 0; j < p.length; j++) memory[j] = p.charCodeAt(j);
      sink ^= p.length;
      k = k + 1 === 1000 ? 0 : k + 1;
    }
    return sink;
  },
  ...(nodeBuffer && {
    'Buffer#latin1Write': (urls) => {
      let sink = 0;
      for (let i = 0, k = 0; i < CALLS; i++) {
        const u = urls[k];
        const p = u.slice(u.indexOf('/', 8), u.indexOf('?', 8));
        sink ^= nodeBuffer.latin1Write(p, 0);
        k = k + 1 === 1000 ? 0 : k + 1;
      }
      return sink;
    },
  }),
};

const engine = globalThis.Deno
  ? `Deno ${Deno.version.deno} (V8 ${Deno.version.v8})`
  : `Node ${process.versions.node} (V8 ${process.versions.v8})`;
console.log(`${engine}: ns per call, median of ${ROUNDS} rounds of ${CALLS.toLocaleString('en-US')}, rounds interleaved`);
for (const path of ['/user/comments', '/repos/julienschmidt/httprouter/issues/42']) {
  const urls = urlsFor(path);
  const times = Object.fromEntries(Object.keys(ways).map((name) => [name, []]));
  for (const fn of Object.values(ways)) fn(urls);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, fn] of Object.entries(ways)) {
      const start = performance.now();
      fn(urls);
      times[name].push(((performance.now() - start) * 1e6) / CALLS);
    }
  }
  const cells = Object.entries(times).map(([name, xs]) => `${name} ${xs.sort((a, b) => a - b)[ROUNDS >> 1].toFixed(1)}`);
  console.log(`  ${path} (${path.length} chars): ${cells.join(' · ')}`);
}
