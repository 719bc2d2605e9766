// One engine in its own process, so that its load time and memory are its own.
// Started by bench-vs-tfjs.mjs (child_process.fork, node --expose-gc) as
//   bench-child.mjs ENGINE MODEL_DIR INPUT.f32
// ENGINE: mvb | mvb-threads | tfjs, or mvb-int8 | mvb-threads-int8 (int8 precision)
// and driven over IPC: {cmd: 'run', n} -> {times, output}; {cmd: 'stats'} -> memory.
import { performance } from 'node:perf_hooks';
import { loadWasmEngine, readF32File, readModelDir } from '../tests/node/engines.mjs';
import { loadDirGraphModel } from '../tests/ops/tfjs-dir-model.mjs';

const [kind, modelDir, inputPath] = process.argv.slice(2);

// Free bytes inside an Emscripten heap, found by allocating 1 MiB blocks until the
// memory would have to grow (then freeing them): heap size minus this is what the
// engine keeps alive, which RSS cannot show because wasm memory never shrinks.
// Fragments under 1 MiB count as live, so this slightly overstates live memory.
function freeHeapBytes(M) {
  const size = () => M.HEAPU8.length;
  const start = size();
  const blocks = [];
  for (;;) {
    const p = M._malloc(1 << 20);
    if (!p) break;
    if (size() !== start) {
      M._free(p);
      break;
    }
    blocks.push(p);
  }
  for (const p of blocks) M._free(p);
  return blocks.length * (1 << 20);
}
const input = readF32File(inputPath);
const gc = globalThis.gc ?? (() => {});

// Each engine: {infer() -> first output value, module() -> its Emscripten module}.
async function loadMvb(flavour, precision) {
  const { engine, skip } = await loadWasmEngine(flavour, { precision });
  if (!engine) throw new Error(skip);
  const t = performance.now();
  const { text, shards } = readModelDir(modelDir);
  engine.loadModel(text, shards);
  return {
    modelLoadMs: performance.now() - t,
    infer: () => engine.run(input)[0],
    // engine.js keeps the Emscripten module in `M` (an internal: this is a benchmark).
    module: () => engine.M,
  };
}

async function loadTfjs() {
  const { tf, importWasmBackend } = await import('../tests/ops/tfjs.mjs');
  await importWasmBackend();
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false); // one thread, as the original page
  if (!(await tf.setBackend('wasm'))) throw new Error('tfjs wasm backend did not start');
  await tf.ready();
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  if (!simd) throw new Error('tfjs wasm backend has no SIMD here');
  const t = performance.now();
  const model = await loadDirGraphModel(tf, modelDir);
  const shape = [1, ...model.inputs[0].shape.slice(1)];
  return {
    modelLoadMs: performance.now() - t,
    infer: () => {
      const x = tf.tensor(input, shape);
      const y = model.execute(x);
      const v = y.dataSync()[0];
      tf.dispose([x, y]);
      return v;
    },
    module: () => tf.backend().wasm,
  };
}

const t0 = performance.now();
let engine;
try {
  const flavour = kind.startsWith('mvb-threads') ? 'wasm-threads' : 'wasm-simd';
  engine = kind === 'tfjs' ? await loadTfjs() : await loadMvb(flavour, kind.endsWith('-int8') ? 'int8' : 'f32');
} catch (e) {
  // Reported by the parent; an uncaught error would print the whole Emscripten script.
  process.send({ type: 'error', message: e.message });
  process.exit(1);
}
const loadMs = performance.now() - t0;
gc();
const rssAfterLoad = process.memoryUsage().rss;
const wasmAfterLoad = engine.module().HEAPU8.length;
const liveAfterLoad = wasmAfterLoad - freeHeapBytes(engine.module());
const t1 = performance.now();
const first = engine.infer();
const firstMs = performance.now() - t1;
process.send({ type: 'ready', loadMs, modelLoadMs: engine.modelLoadMs, firstMs, first, rssAfterLoad, wasmAfterLoad, liveAfterLoad });

process.on('message', (msg) => {
  if (msg.cmd === 'run') {
    const times = [];
    let output = NaN;
    for (let i = 0; i < msg.n; i++) {
      const t = performance.now();
      output = engine.infer();
      times.push(performance.now() - t);
    }
    process.send({ type: 'times', times, output });
  } else if (msg.cmd === 'stats') {
    gc();
    const m = process.memoryUsage();
    const M = engine.module();
    const wasmBytes = M.HEAPU8.length; // before the probe, which may grow it
    const liveWasm = wasmBytes - freeHeapBytes(M);
    process.send({
      type: 'stats',
      peakRss: process.resourceUsage().maxRSS * 1024, // the kernel's high-water mark
      rss: m.rss,
      rssAfterLoad,
      jsHeap: m.heapUsed,
      arrayBuffers: m.arrayBuffers,
      wasmBytes,
      liveWasm,
    }, () => process.exit(0)); // pthread workers would keep the process alive
  }
});
