// Runs a graph-model directory through each flavour of the engine: the native CLI
// (`mvb run`) and the wasm modules through web/engine.js. Shared by the node tests.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
// MVB_CLI runs the tests against another build of the CLI.
export const nativeCli = process.env.MVB_CLI || join(repoRoot, 'build', 'native', 'mvb');

// MVB_WASM_SIMD_DIR and MVB_WASM_THREADS_DIR likewise for the wasm modules.
const WASM = {
  'wasm-simd': { variant: 'simd', dir: process.env.MVB_WASM_SIMD_DIR || join(repoRoot, 'build', 'wasm-simd'), file: 'mvb-simd.wasm' },
  'wasm-threads': {
    variant: 'simd-threads',
    dir: process.env.MVB_WASM_THREADS_DIR || join(repoRoot, 'build', 'wasm-threads'),
    file: 'mvb-simd-threads.wasm',
  },
};

export function readF32File(path) {
  const b = readFileSync(path);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

// The model.json text and its shards in manifest order, as a page would fetch them.
export function readModelDir(dir, modelFile = 'model.json') {
  const text = readFileSync(join(dir, modelFile), 'utf8');
  const shards = [];
  for (const group of JSON.parse(text).weightsManifest) {
    for (const p of group.paths) shards.push(readFileSync(join(dir, p)));
  }
  return { text, shards };
}

// ---- native ----------------------------------------------------------------------------

export function nativeSkipReason() {
  return existsSync(nativeCli) ? null : `${nativeCli} is missing: run ./build.sh first`;
}

// Returns {ok: true, output} or {ok: false, message} with the CLI's stderr + stdout.
// precision: 'f32' (the CLI's default) or 'int8'.
export function runNative(modelDir, inputPath, { threads, precision } = {}) {
  const tmp = mkdtempSync(join(tmpdir(), 'mvb-run-'));
  const outPath = join(tmp, 'out.f32');
  try {
    const args = ['run', '--model', modelDir, '--input', inputPath, '--output', outPath];
    if (threads) args.push('--threads', String(threads));
    if (precision) args.push('--precision', precision);
    const r = spawnSync(nativeCli, args, { encoding: 'utf8', timeout: 120000 });
    const message = `${r.stderr ?? ''}${r.stdout ?? ''}`.trim();
    if (r.error) return { ok: false, message: `${nativeCli}: ${r.error.message}` };
    if (r.signal) return { ok: false, crashed: true, message: `killed by ${r.signal}: ${message}` };
    if (r.status !== 0) return { ok: false, exitCode: r.status, message };
    if (!existsSync(outPath)) return { ok: false, message: `exit 0 but no ${outPath} written: ${message}` };
    return { ok: true, output: readF32File(outPath) };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

// ---- wasm ------------------------------------------------------------------------------

export const wasmFlavours = Object.keys(WASM);

// Loads web/engine.js and the flavour's module; {engine} or {skip: reason}.
export async function loadWasmEngine(flavour, options = {}) {
  const w = WASM[flavour];
  const js = join(w.dir, w.file.replace(/\.wasm$/, '.js'));
  const wasm = join(w.dir, w.file);
  if (!existsSync(js) || !existsSync(wasm)) return { skip: `${wasm} or its .js is missing: run ./build.sh first` };
  const engineJs = join(repoRoot, 'web', 'engine.js');
  if (!existsSync(engineJs)) return { skip: `${engineJs} is missing` };
  const { loadEngine } = await import(pathToFileURL(engineJs).href);
  try {
    const engine = await loadEngine({
      wasmUrl: pathToFileURL(w.dir + '/').href,
      variant: w.variant,
      wasmBinary: readFileSync(wasm),
      ...options,
    });
    return { engine };
  } catch (e) {
    if (flavour === 'wasm-threads') return { skip: `the threaded module does not start under Node: ${e.message}` };
    throw e;
  }
}

// Disposes the engine and ends the threaded module's pthread workers, which would
// otherwise keep Node from exiting (engine.js keeps the Emscripten module in `M`).
export function disposeEngine(engine) {
  const M = engine.M;
  engine.dispose();
  M?.PThread?.terminateAllThreads?.();
}

// {ok: true, output} or {ok: false, status, message}, like runNative.
export function runWasm(engine, modelDir, inputPath) {
  const { text, shards } = readModelDir(modelDir);
  try {
    engine.loadModel(text, shards);
  } catch (e) {
    if (e.name !== 'MvbError') throw e;
    return { ok: false, status: e.status, message: e.message };
  }
  try {
    return { ok: true, output: engine.run(readF32File(inputPath)) };
  } catch (e) {
    if (e.name !== 'MvbError') throw e;
    return { ok: false, status: e.status, message: `run: ${e.message}` };
  }
}

// ---- comparison ------------------------------------------------------------------------

// max |out - ref| against 1e-4 * max(1, max|ref|) (relative for large outputs); NaN
// anywhere fails.
export function compareOutputs(out, ref, relTol = 1e-4) {
  if (out.length !== ref.length) {
    return { ok: false, text: `output has ${out.length} values, TensorFlow.js ${ref.length}` };
  }
  let maxRef = 0;
  for (const v of ref) maxRef = Math.max(maxRef, Math.abs(v));
  const tol = relTol * Math.max(1, maxRef);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < ref.length; i++) {
    const d = Math.abs(out[i] - ref[i]);
    if (!(d <= worst)) {
      worst = d;
      at = i;
      if (Number.isNaN(d)) break;
    }
  }
  const text = at < 0 ? `identical (${ref.length} values)` : `max |diff| ${worst.toExponential(3)} at [${at}] (engine ${out[at]}, tfjs ${ref[at]}), tolerance ${tol.toExponential(3)}`;
  return { ok: worst <= tol, maxDiff: worst, tol, text };
}
