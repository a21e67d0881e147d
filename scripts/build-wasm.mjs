#!/usr/bin/env node
// Builds the hot path from wasm/assembly into wasm/build:
//   portico.wasm          asc -O3, --runtime stub, no bindings (the raw ABI is the interface)
//   portico.wat           its text form, for review
//   portico.wasm2js.mjs   the same module as an ES module, for engines without WebAssembly
//                         (compiled from a build with PORTICO_WASM2JS defined: see below)
// Usage: node scripts/build-wasm.mjs [--force]
// Skips the build when every output is newer than every source (pretest runs this each time);
// --force, or a missing output, builds.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const wasmDir = join(root, 'wasm');
const outDir = join(wasmDir, 'build');
const wasmFile = join(outDir, 'portico.wasm');
const watFile = join(outDir, 'portico.wat');
const jsFile = join(outDir, 'portico.wasm2js.mjs');
const wasm2js = join(root, 'node_modules', 'binaryen', 'bin', 'wasm2js');

const started = performance.now();
const sources = [
  fileURLToPath(import.meta.url),
  ...readdirSync(join(wasmDir, 'assembly')).map((f) => join(wasmDir, 'assembly', f)),
];
const outputs = [wasmFile, watFile, jsFile];
if (!process.argv.includes('--force') && outputs.every((f) => existsSync(f))) {
  const newestSource = Math.max(...sources.map((f) => statSync(f).mtimeMs));
  const oldestOutput = Math.min(...outputs.map((f) => statSync(f).mtimeMs));
  if (oldestOutput > newestSource) {
    console.log('build:wasm up to date (wasm/build is newer than wasm/assembly; --force to rebuild)');
    process.exit(0);
  }
}
mkdirSync(outDir, { recursive: true });
// Loaded only when building: the compiler takes a second or two to load.
const { default: asc } = await import('assemblyscript/asc');

/** Compiles wasm/assembly to `outFile` with the common flags plus `extra`; exits on failure. */
async function compile(outFile, extra) {
  const { error } = await asc.main(
    [
      join(wasmDir, 'assembly', 'index.ts'),
      '--runtime',
      'stub',
      '-O3',
      '--noAssert',
      // No `abort` import: the module never throws across the boundary; it returns status codes.
      '--use',
      'abort=',
      // wasm2js has no bulk-memory lowering by default; the module does not need those ops.
      '--disable',
      'bulk-memory',
      '--outFile',
      outFile,
      ...extra,
    ],
    { stdout: process.stdout, stderr: process.stderr },
  );
  if (error) {
    console.error(`asc failed: ${error.message}`);
    process.exit(1);
  }
}

await compile(wasmFile, ['--textFile', watFile]);
// The module that wasm2js translates is built apart with PORTICO_WASM2JS defined: where an
// algorithm reads words, that build aligns them first (wasm2js makes an aligned load one HEAP32
// read, an unaligned one four byte reads), which Wasm has no need of. Same exports, same answers;
// the differential tests run both builds.
const tmp = mkdtempSync(join(tmpdir(), 'portico-wasm2js-'));
const wasm2jsInput = join(tmp, 'portico.wasm');
await compile(wasm2jsInput, ['--use', 'PORTICO_WASM2JS=1']);

const ascDone = performance.now();
const js = spawnSync(wasm2js, [wasm2jsInput, '-O3', '-o', jsFile], { stdio: 'inherit' });
rmSync(tmp, { recursive: true, force: true });
if (js.status !== 0) {
  console.error(`wasm2js failed with status ${js.status}`);
  process.exit(1);
}

const wasm2jsDone = performance.now();

// Check both artifacts before anyone uses them: exports present, memory usable from JS.
const REQUIRED = ['memory', 'reserve', 'matchRoute', 'hash64', 'bucketConsume'];
const instance = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(wasmFile)), {});
const ns = await import(`${pathToFileURL(jsFile).href}?check=${Date.now()}`);
for (const [label, exports] of [
  ['wasm', instance.exports],
  ['wasm2js', ns],
]) {
  for (const name of REQUIRED) {
    if (!(name in exports)) {
      console.error(`${label}: missing export ${name}`);
      process.exit(1);
    }
  }
  if (!(exports.memory.buffer instanceof ArrayBuffer)) {
    console.error(`${label}: memory.buffer is not an ArrayBuffer`);
    process.exit(1);
  }
}

const ms = (performance.now() - started).toFixed(0);
const size = (f) => `${relative(root, f)} ${statSync(f).size} B`;
const phases = `asc ${(ascDone - started).toFixed(0)} ms, wasm2js ${(wasm2jsDone - ascDone).toFixed(0)} ms`;
console.log(`build:wasm ${size(wasmFile)}, ${size(jsFile)} in ${ms} ms (${phases})`);
