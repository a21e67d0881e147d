#!/usr/bin/env node
// Builds the hot path from wasm/assembly into wasm/build:
//   portico.wasm          asc -O3, --runtime stub, no bindings (the raw ABI is the interface)
//   portico.wat           its text form, for review
//   core/hot/_wasm-embedded.ts   portico.wasm as base64, the default module of PorticoRouter
//                         (committed; rewritten only when the bytes change)
//   portico.wasm2js.mjs   the same module as an ES module, for engines without WebAssembly
//                         (compiled from a build with PORTICO_WASM2JS defined: see below)
//   portico.js-string.wasm  the js-string build: the same exports plus matchRouteStr, which reads
//                         the path in place through `wasm:js-string` (index-js-string.ts,
//                         --enable reference-types); for engines with JS String Builtins
//   core/hot/_wasm-js-string-embedded.ts   that build as base64, tried first by createDefaultHot()
// Usage: node scripts/build-wasm.mjs [--force]
// Skips the build when every output is newer than every source (pretest runs this each time);
// --force, or a missing output, builds.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const wasmDir = join(root, 'wasm');
const outDir = join(wasmDir, 'build');
const wasmFile = join(outDir, 'portico.wasm');
const watFile = join(outDir, 'portico.wat');
const jsFile = join(outDir, 'portico.wasm2js.mjs');
const jsStringFile = join(outDir, 'portico.js-string.wasm');
const embeddedFile = join(root, 'core', 'hot', '_wasm-embedded.ts');
const jsStringEmbeddedFile = join(root, 'core', 'hot', '_wasm-js-string-embedded.ts');
const wasm2js = join(root, 'node_modules', 'binaryen', 'bin', 'wasm2js');

const started = performance.now();
const sources = [
  fileURLToPath(import.meta.url),
  ...readdirSync(join(wasmDir, 'assembly')).map((f) => join(wasmDir, 'assembly', f)),
];
const outputs = [wasmFile, watFile, jsFile, jsStringFile];
if (
  !process.argv.includes('--force') &&
  outputs.every((f) => existsSync(f)) &&
  existsSync(embeddedFile) &&
  existsSync(jsStringEmbeddedFile)
) {
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
async function compile(outFile, extra, entry = 'index.ts') {
  const { error } = await asc.main(
    [
      join(wasmDir, 'assembly', entry),
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
// The js-string build: the same matcher source, one more entry file. Its two imports
// (`wasm:js-string` charCodeAt and length) are supplied by the engine itself when the module is
// compiled with `{ builtins: ['js-string'] }`; core/hot/instantiate.ts tries exactly that.
await compile(jsStringFile, ['--enable', 'reference-types'], 'index-js-string.ts');
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

// The js-string build must ask for exactly the two builtins and nothing else.
const jsStringImports = WebAssembly.Module.imports(new WebAssembly.Module(readFileSync(jsStringFile)));
const importNames = jsStringImports.map((i) => `${i.module}.${i.name}`).sort();
if (importNames.join(',') !== 'wasm:js-string.charCodeAt,wasm:js-string.length') {
  console.error(`portico.js-string.wasm: unexpected imports ${importNames.join(', ')}`);
  process.exit(1);
}

// The embedded copies: rewritten only when the bytes differ, so a clean build leaves git clean.
function writeEmbedded(file, from, name, what) {
  const text = [
    `// Generated by scripts/build-wasm.mjs from wasm/build/${from}: do not edit. A test checks`,
    `// that it matches the build. ${what}`,
    `export const ${name} =\n  '${readFileSync(join(outDir, from)).toString('base64')}';`,
    '',
  ].join('\n');
  if (!existsSync(file) || readFileSync(file, 'utf8') !== text) writeFileSync(file, text);
}
writeEmbedded(
  embeddedFile,
  'portico.wasm',
  'HOT_WASM_BASE64',
  'The bytes of the hot-path module, base64, for createDefaultHot().',
);
writeEmbedded(
  jsStringEmbeddedFile,
  'portico.js-string.wasm',
  'HOT_WASM_JS_STRING_BASE64',
  'The js-string build, base64: what createDefaultHot() tries first.',
);

const ms = (performance.now() - started).toFixed(0);
const size = (f) => `${relative(root, f)} ${statSync(f).size} B`;
const phases = `asc ${(ascDone - started).toFixed(0)} ms, wasm2js ${(wasm2jsDone - ascDone).toFixed(0)} ms`;
console.log(`build:wasm ${size(wasmFile)}, ${size(jsStringFile)}, ${size(jsFile)} in ${ms} ms (${phases})`);
