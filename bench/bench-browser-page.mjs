// bench-browser-page.mjs: the original system's approach, as bench-browser.mjs serves it to
// Chromium: TensorFlow.js 4.22 (the classic scripts tf.min.js + tf-backend-wasm.min.js, loaded
// before this module) with the wasm backend, loading the original graph model from model/.
// It marks <body data-ready> as our site's app.js does, and offers window.__mvbBench for the
// driver. This file runs in the browser only.
/* global tf */

const bench = {};
window.__mvbBench = bench;

async function start() {
  // The .wasm files sit beside the page; without cross-origin isolation tfjs picks the
  // single-threaded SIMD binary, as the original site got on GitHub Pages.
  tf.wasm.setWasmPaths(new URL('./', location.href).href);
  if (!(await tf.setBackend('wasm'))) throw new Error('tfjs could not start its wasm backend');
  await tf.ready();
  bench.model = await tf.loadGraphModel('model/model.json');
  bench.readyAt = performance.now();
  bench.features = {
    simd: await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'),
    threads: await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'),
  };
}

// One prediction as the original page made it: pixels of a decoded photo, resized to the
// model's 200x200, scaled, predicted, and the score read back.
bench.predict = async () => {
  if (!bench.photo) {
    const img = new Image();
    img.src = 'photo.jpg';
    await img.decode();
    bench.photo = img;
  }
  const t0 = performance.now();
  const x = tf.tidy(() => tf.browser.fromPixels(bench.photo).resizeBilinear([200, 200]).toFloat().div(255).expandDims(0));
  const y = bench.model.predict(x);
  const score = (await y.data())[0];
  x.dispose();
  y.dispose();
  return { ms: performance.now() - t0, score };
};

start().then(
  () => { document.body.dataset.ready = 'true'; },
  (e) => {
    bench.error = e && e.message ? e.message : String(e);
    document.body.dataset.ready = 'error';
  },
);
