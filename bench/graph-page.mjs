// graph-page.mjs: one engine running a graph model on a fixed input tensor in Chromium, for
// bench/bench-browser-graph.mjs (the same graph, the same input, this engine against
// TensorFlow.js). The query string says which: ?engine=mvb|tfjs&threads=1|2&precision=f32|int8
// &build=simd|relaxed (this engine's wasm build; without it, the one the engine would choose).
// The model is in model/, the input (raw float32, the model's input shape) in input.f32.
// Marks <body data-ready> when the model is loaded and offers window.__mvbBench to the driver.
// This file runs in the browser only.
/* global tf */

const params = new URLSearchParams(location.search);
const ENGINE = params.get('engine');
const THREADS = Number(params.get('threads') || 1);
const PRECISION = params.get('precision') || 'f32';
const BUILD = params.get('build');
const bench = {};
window.__mvbBench = bench;

async function fetchBytes(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

async function startMvb(input) {
  const { loadEngine, chooseVariant, VARIANTS } = await import('../engine.js');
  const { fetchModel } = await import('../model-fetch.js');
  const build = BUILD || (VARIANTS[chooseVariant()].relaxed ? 'relaxed' : 'simd');
  const variant = THREADS > 1 ? `${build}-threads` : build;
  const engine = await loadEngine({ variant, threads: THREADS, precision: PRECISION, wasmUrl: new URL('../wasm/', location.href).href });
  const { jsonText, shards } = await fetchModel('model/model.json');
  engine.loadModel(jsonText, shards);
  bench.engine = `this engine ${engine.variant}, ${engine.threads} thread(s), ${PRECISION}`;
  bench.run = () => engine.run(input)[0];
  bench.wasmBytes = () => engine.M.HEAPU8.buffer.byteLength;
}

async function startTfjs(input) {
  tf.wasm.setWasmPaths(new URL('./', location.href).href);
  // tfjs takes its thread count from navigator.hardwareConcurrency unless told.
  tf.wasm.setThreadsCount(THREADS);
  if (!(await tf.setBackend('wasm'))) throw new Error('tfjs could not start its wasm backend');
  await tf.ready();
  const model = await tf.loadGraphModel('model/model.json');
  const shape = [1, ...model.inputs[0].shape.slice(1)];
  const threaded = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
  bench.engine = `tfjs ${tf.version.tfjs} wasm, simd=${await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')}, ` +
    `threads=${threaded ? THREADS : 1}`;
  bench.run = () => {
    const x = tf.tensor(input, shape);
    const y = model.execute(x); // a tensor, or one per output
    const v = (Array.isArray(y) ? y[0] : y).dataSync()[0];
    tf.dispose([x, y]);
    return v;
  };
  bench.wasmBytes = () => tf.backend().wasm.HEAPU8.buffer.byteLength;
}

// One timed prediction: the input tensor in, the first output value read back.
bench.predict = () => {
  const t0 = performance.now();
  const value = bench.run();
  return { ms: performance.now() - t0, value };
};

async function start() {
  const input = new Float32Array((await fetchBytes('input.f32')).buffer);
  await (ENGINE === 'tfjs' ? startTfjs(input) : startMvb(input));
}

start().then(
  () => { document.body.dataset.ready = 'true'; },
  (e) => {
    bench.error = e && e.message ? e.message : String(e);
    document.body.dataset.ready = 'error';
  },
);
