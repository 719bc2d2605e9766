// engine.js: the one module that talks to the wasm exports (src/wasm_api.c, ABI 5).
// It runs in a page, in a (module) Web Worker and under Node 20. Everything else in
// web/ goes through this API; see docs/design.md "web/engine.js".

import { Status, STATUS_NAMES, MAX_THREADS, BROWSERS_NEEDED } from './meta.js';

export { Status };

const ABI_VERSION = 5;
// Decoded width * height above this is refused (MVB_DEFAULT_MAX_IMAGE_PIXELS in src/mvb.h);
// the web side reads it from here, through Engine.maxPixels.
export const DEFAULT_MAX_PIXELS = 50e6;
// The formats the engine decodes itself (stb_image), as image-header.js names them.
export const ENGINE_FORMATS = Object.freeze(['jpeg', 'png', 'bmp', 'gif']);
// mvbw_classify_* write these floats, in this order (src/wasm_api.c RESULT_*).
const RESULT = Object.freeze({
  SCORE: 0, VERDICT: 1, CONFIDENCE: 2, P_BEACH: 3, P_MOUNTAIN: 4, P_NEITHER: 5, HAS_NEITHER: 6,
});
const RESULT_FLOATS = 7;

export class MvbError extends Error {
  constructor(status, message) {
    super(message);
    this.name = 'MvbError';
    this.status = status;
    this.statusName = STATUS_NAMES[status] || `status ${status}`;
  }
}

const isNode = typeof process === 'object' && !!(process.versions && process.versions.node);

// The smallest module that uses a SIMD instruction (i8x16.splat); validate() is the
// feature test tfjs and squoosh use too.
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0,
  253, 15, 253, 98, 11,
]);

// The same, for relaxed SIMD: three i8x16.splat feeding i32x4.relaxed_dot_i8x16_i7x16_add_s
// (0xfd 0x113), the instruction the relaxed build's int8 kernels are made of. Exported for
// build-manifest.mjs, which hands it to the service worker (sw.js precaches the relaxed
// builds only where it validates).
export const RELAXED_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 19, 1, 17, 0, 65, 0,
  253, 15, 65, 0, 253, 15, 65, 0, 253, 15, 253, 147, 2, 11,
]);

// The wasm builds (build.sh), best first: each one's file name, what it needs of the
// browser beyond SIMD (relaxed SIMD: Chrome 114+; threads: cross-origin isolation), and the
// build to start instead if it fails to.
export const VARIANTS = Object.freeze({
  'relaxed-threads': Object.freeze({ file: 'mvb-relaxed-threads', relaxed: true, threads: true, fallback: 'relaxed' }),
  relaxed: Object.freeze({ file: 'mvb-relaxed', relaxed: true, threads: false, fallback: 'simd' }),
  'simd-threads': Object.freeze({ file: 'mvb-simd-threads', relaxed: false, threads: true, fallback: 'simd' }),
  simd: Object.freeze({ file: 'mvb-simd', relaxed: false, threads: false, fallback: null }),
});

export function detectFeatures() {
  const wasm = typeof WebAssembly === 'object';
  const simd = wasm && WebAssembly.validate(SIMD_PROBE);
  const relaxed = simd && WebAssembly.validate(RELAXED_PROBE);
  const isolated = typeof crossOriginIsolated === 'boolean' ? crossOriginIsolated : false;
  const threads = !isNode && isolated && typeof SharedArrayBuffer === 'function';
  const cores = (typeof navigator === 'object' && navigator.hardwareConcurrency) || 1;
  return { simd, relaxed, threads, cores };
}

// Chooses a build once: the first of VARIANTS this browser can run; an explicit one wins.
export function chooseVariant(requested) {
  if (requested !== undefined) {
    if (Object.hasOwn(VARIANTS, requested)) return requested;
    const names = Object.keys(VARIANTS).map((v) => `"${v}"`).join(', ');
    throw new MvbError(Status.INVALID_ARGUMENT, `unknown variant "${requested}" (use one of ${names})`);
  }
  const f = detectFeatures();
  if (!f.simd) {
    throw new MvbError(Status.UNSUPPORTED, `this browser has no WebAssembly SIMD (needs ${BROWSERS_NEEDED})`);
  }
  return Object.keys(VARIANTS).find((v) => (!VARIANTS[v].relaxed || f.relaxed) && (!VARIANTS[v].threads || f.threads));
}

// mvb_precision (src/mvb.h): how convolutions and matrix products compute; 'model' (the
// default) is the model's own choice, model.json's "mvb".precision, else f32.
const PRECISIONS = Object.freeze({ model: -1, f32: 0, int8: 1 });
const precisionName = (code) => Object.keys(PRECISIONS).find((k) => PRECISIONS[k] === code);

function checkPrecision(requested) {
  if (requested === undefined || Object.hasOwn(PRECISIONS, requested)) return;
  throw new MvbError(Status.INVALID_ARGUMENT, `unknown precision "${requested}" (use "f32", "int8" or "model")`);
}

// options.maxPixels: absent, 0 or negative keeps the default (as mvbw_create does), else a
// whole number of pixels. The one value both checkImageSize and the engine are given.
function maxPixelsOption(requested) {
  if (requested === undefined || requested === null || (typeof requested === 'number' && requested <= 0)) {
    return DEFAULT_MAX_PIXELS;
  }
  if (Number.isInteger(requested)) return requested;
  throw new MvbError(Status.INVALID_ARGUMENT, `maxPixels must be a whole number of pixels (0 or less for the default ${DEFAULT_MAX_PIXELS}), not ${typeof requested === 'string' ? `"${requested}"` : String(requested)}`);
}

function dirUrl(wasmUrl) {
  let s = String(wasmUrl instanceof URL ? wasmUrl.href : wasmUrl);
  if (!s.endsWith('/')) s += '/';
  return s;
}

// Emscripten 3.1.6's MODULARIZE + EXPORT_ES6 output expects CommonJS `require` and
// `__dirname` under Node; an ES module has neither, so provide them before importing.
async function nodeShims(jsUrl) {
  const { createRequire } = await import('node:module');
  const { fileURLToPath } = await import('node:url');
  const path = await import('node:path');
  const file = jsUrl.startsWith('file:') ? fileURLToPath(jsUrl) : jsUrl;
  if (typeof globalThis.require !== 'function') globalThis.require = createRequire(file);
  if (typeof globalThis.__dirname !== 'string') globalThis.__dirname = path.dirname(file);
  if (typeof globalThis.__filename !== 'string') globalThis.__filename = file;
}

function toImportUrl(s) {
  if (!isNode || /^[a-z]+:/i.test(s)) return s;
  return 'file://' + (s.startsWith('/') ? '' : process.cwd() + '/') + s;
}

// The build stores each wasm build gzip-compressed beside it (NAME.wasm.gz, written by
// web/tools/compress.mjs): GitHub Pages documents no compression, so the browser inflates it
// while compiling it as it streams in. A host that sends it with a Content-Encoding has had
// the browser inflate it already.
async function instantiateCompressed(url, imports) {
  const res = await fetch(url, { credentials: 'same-origin' });
  if (!res.ok) throw new Error(`${url} answered HTTP ${res.status}`);
  const body = res.headers.get('content-encoding') ? res.body : res.body.pipeThrough(new DecompressionStream('gzip'));
  return WebAssembly.instantiateStreaming(new Response(body, { headers: { 'Content-Type': 'application/wasm' } }), imports);
}

export async function loadEngine(options = {}) {
  const variant = chooseVariant(options.variant);
  checkPrecision(options.precision);
  const maxPixels = maxPixelsOption(options.maxPixels); // refused before the download
  const base = toImportUrl(dirUrl(options.wasmUrl ?? './wasm/'));
  const name = VARIANTS[variant].file;
  const jsUrl = new URL(`${name}.js`, base).href;
  if (isNode) await nodeShims(jsUrl);

  let factory;
  try {
    factory = (await import(/* webpackIgnore: true */ jsUrl)).default;
  } catch (e) {
    throw new MvbError(Status.IO, `cannot load the engine script ${jsUrl}: ${e.message}`);
  }
  // Node's Worker (pthreads) wants a file path, not a file: URL.
  const fromUrl = isNode ? (await import('node:url')).fileURLToPath : null;
  const moduleArgs = {
    locateFile: (file) => {
      const url = new URL(file, base);
      return fromUrl && url.protocol === 'file:' ? fromUrl(url) : url.href;
    },
    mainScriptUrlOrBlob: jsUrl, // pthread workers import the module from here
    print: () => {},
    printErr: (line) => { if (options.log) options.log(line); },
  };
  if (options.wasmBinary) moduleArgs.wasmBinary = options.wasmBinary;
  // Emscripten waits for receive() for ever: a failure here must end the load itself.
  let failed;
  const failure = new Promise((_, reject) => { failed = reject; });
  // The compiled module: options.wasmModule (a restart: an Engine's wasmModule, of the same
  // variant), else the one compiled here as it downloads (the browser), else none (Node
  // compiles wasmBinary itself).
  let compiled = options.wasmModule ?? null;
  if (compiled) {
    moduleArgs.instantiateWasm = (imports, receive) => {
      WebAssembly.instantiate(compiled, imports).then((instance) => receive(instance, compiled), failed);
      return {};
    };
  } else if (!isNode && !options.wasmBinary && typeof DecompressionStream === 'function') {
    moduleArgs.instantiateWasm = (imports, receive) => {
      instantiateCompressed(new URL(`${name}.wasm.gz`, base).href, imports)
        .then(({ instance, module }) => {
          compiled = module;
          receive(instance, module);
        }, failed);
      return {}; // the exports come later, through receive()
    };
  }
  let M;
  try {
    M = await Promise.race([factory(moduleArgs), failure]);
  } catch (e) {
    throw new MvbError(Status.BACKEND, `cannot start the ${variant} engine: ${e && e.message ? e.message : e}`);
  }
  const abi = M._mvbw_abi_version();
  if (abi !== ABI_VERSION) {
    throw new MvbError(Status.UNSUPPORTED, `engine ABI ${abi}, this engine.js speaks ${ABI_VERSION}`);
  }
  const floats = M._mvbw_result_floats();
  if (floats !== RESULT_FLOATS) {
    throw new MvbError(Status.UNSUPPORTED, `engine ABI ${abi} writes ${floats} floats per result, this engine.js reads ${RESULT_FLOATS}`);
  }
  // Node 20 has no navigator.hardwareConcurrency; ask the OS there.
  const cores = isNode ? (await import('node:os')).cpus().length : detectFeatures().cores;
  const threads = VARIANTS[variant].threads ? Math.max(1, Math.min(options.threads ?? cores, MAX_THREADS)) : 1;
  const engine = new Engine(M, variant, threads, maxPixels, options);
  engine.wasmModule = compiled;
  return engine;
}

class Engine {
  constructor(M, variant, threads, maxPixels, options) {
    this.M = M;
    this.variant = variant;
    this.threads = threads;
    this.maxPixels = maxPixels; // maxPixelsOption's
    this.requestedPrecision = options.precision ?? 'model';
    this.precision = null; // what the loaded model runs in: 'f32' or 'int8'
    this.handle = 0;
    this.meta = null;
    this.wasmModule = null; // the compiled WebAssembly.Module (loadEngine sets it), for a restart
    // Verdict names come from the engine (mvb_verdict_name): one truth.
    this.verdicts = [];
    for (let code = 0; ; code++) {
      const p = M._mvbw_verdict_name(code);
      if (!p) break;
      this.verdicts.push(M.UTF8ToString(p));
    }
  }

  // Views must be re-made after every call: memory growth replaces the buffer, and in
  // the threaded build a pthread may grow it without updating this thread's views.
  view(Type, name) {
    const mem = this.M.wasmMemory;
    const v = this.M[name];
    return mem && v.buffer !== mem.buffer ? new Type(mem.buffer) : v;
  }
  u8() { return this.view(Uint8Array, 'HEAPU8'); }
  f32() { return this.view(Float32Array, 'HEAPF32'); }
  u32() { return this.view(Uint32Array, 'HEAPU32'); }

  alloc(bytes) {
    const p = this.M._malloc(Math.max(1, bytes));
    if (!p) throw new MvbError(Status.OUT_OF_MEMORY, `out of wasm memory allocating ${bytes} bytes`);
    return p;
  }

  check(status, what) {
    if (status === Status.OK) return;
    const msg = this.handle ? this.M.UTF8ToString(this.M._mvbw_error(this.handle)) : '';
    throw new MvbError(status, msg || `${what} failed (${STATUS_NAMES[status] || status})`);
  }

  requireModel() {
    if (!this.M) throw new MvbError(Status.STATE, 'the engine was disposed');
    if (!this.handle) throw new MvbError(Status.STATE, 'no model loaded: call loadModel first');
  }

  // jsonText: model.json's text; shards: ArrayBuffers (or views) in manifest order.
  loadModel(jsonText, shards) {
    if (!this.M) throw new MvbError(Status.STATE, 'the engine was disposed');
    let parsed;
    try {
      parsed = JSON.parse(jsonText);
    } catch (e) {
      throw new MvbError(Status.MODEL_FORMAT, `model.json is not valid JSON: ${e.message}`);
    }
    const meta = parsed && typeof parsed.mvb === 'object' ? parsed.mvb : null;
    // A fresh handle per model. The verdict rules are the model's own (model.json's
    // "mvb".verdict, read by the engine): NaN keeps each of them. Until this load succeeds
    // no model is loaded: nothing may describe the previous one.
    if (this.handle) { this.M._mvbw_free(this.handle); this.handle = 0; }
    this.meta = null;
    this.precision = null;
    const h = this.M._mvbw_create(this.threads, NaN, NaN, NaN, this.maxPixels, PRECISIONS[this.requestedPrecision]);
    if (!h) throw new MvbError(Status.OUT_OF_MEMORY, 'out of wasm memory creating the model handle');
    this.handle = h;

    const json = new TextEncoder().encode(jsonText);
    const views = shards.map((s) => (s instanceof Uint8Array ? s : ArrayBuffer.isView(s) ? new Uint8Array(s.buffer, s.byteOffset, s.byteLength) : new Uint8Array(s)));
    let jsonPtr = 0, sizes = 0, weights = 0;
    try {
      jsonPtr = this.alloc(json.length);
      this.u8().set(json, jsonPtr);
      sizes = this.alloc(4 * shards.length);
      // The shards back to back in one block, which mvbw_load takes over (and frees,
      // on failure too): the engine reads the weights where they lie.
      weights = this.alloc(views.reduce((n, v) => n + v.length, 0));
      let at = weights;
      views.forEach((v, i) => {
        this.u8().set(v, at);
        at += v.length;
        this.u32()[(sizes >> 2) + i] = v.length;
      });
      const block = weights;
      weights = 0;
      this.check(this.M._mvbw_load(h, jsonPtr, json.length, block, sizes, shards.length), 'loading the model');
      const shape = this.inputShape;
      this.meta = meta;
      this.precision = precisionName(this.M._mvbw_precision(h));
      return shape;
    } catch (e) {
      this.M._mvbw_free(h);
      this.handle = 0;
      throw e;
    } finally {
      if (weights) this.M._free(weights);
      if (jsonPtr) this.M._free(jsonPtr);
      if (sizes) this.M._free(sizes);
    }
  }

  // [height, width, channels]; [0, 0, 0] before a load and for a model whose input is not an
  // image (a [-1, 10] tensor, say), which only run() can feed.
  get inputShape() {
    if (!this.handle) return [0, 0, 0];
    const p = this.alloc(12);
    try {
      this.check(this.M._mvbw_input_shape(this.handle, p), 'reading the input shape');
      const v = this.u32().slice(p >> 2, (p >> 2) + 3);
      return [v[0], v[1], v[2]];
    } finally {
      this.M._free(p);
    }
  }

  // The pixel limit, for an image the browser is to decode instead of the engine: checked
  // from its header before any decoding, refused in the engine's words (src/image.c).
  checkImageSize(width, height) {
    const pixels = BigInt(width) * BigInt(height);
    if (pixels > BigInt(this.maxPixels)) {
      throw new MvbError(Status.IMAGE_TOO_LARGE, `image is ${width} x ${height} = ${pixels} pixels, more than the limit of ${this.maxPixels}`);
    }
  }

  // { score, verdict, confidence, probabilities: { beach, mountain[, neither] } }:
  // score = P(mountain) among beach + mountain; neither only for models that judge it.
  result(out) {
    const v = this.f32().slice(out >> 2, (out >> 2) + RESULT_FLOATS);
    const verdict = this.verdicts[Math.round(v[RESULT.VERDICT])];
    if (!verdict) throw new MvbError(Status.BACKEND, `engine returned verdict code ${v[RESULT.VERDICT]}`);
    const probabilities = { beach: v[RESULT.P_BEACH], mountain: v[RESULT.P_MOUNTAIN] };
    if (v[RESULT.HAS_NEITHER]) probabilities.neither = v[RESULT.P_NEITHER];
    return { score: v[RESULT.SCORE], verdict, confidence: v[RESULT.CONFIDENCE], probabilities };
  }

  // The outputs of the last classify or run, in the model's signature order:
  // [{ name, shape, data: Float32Array (a copy) }].
  outputs() {
    this.requireModel();
    const list = [];
    const dims = this.alloc(4 * 8);
    try {
      const n = this.M._mvbw_output_count(this.handle);
      for (let i = 0; i < n; i++) {
        const rank = this.M._mvbw_output_shape(this.handle, i, dims);
        const shape = Array.from(new Int32Array(this.u8().buffer, dims, rank));
        const size = this.M._mvbw_output_size(this.handle, i);
        const p = this.M._mvbw_output_data(this.handle, i);
        const name = this.M.UTF8ToString(this.M._mvbw_output_name(this.handle, i));
        list.push({ name, shape, data: this.f32().slice(p >> 2, (p >> 2) + size) });
      }
    } finally {
      this.M._free(dims);
    }
    return list;
  }

  // Encoded JPEG/PNG/BMP/GIF bytes; other formats fail with status IMAGE (7).
  classifyBytes(bytes) {
    this.requireModel();
    if (!(bytes instanceof Uint8Array)) bytes = new Uint8Array(bytes);
    if (bytes.length === 0) throw new MvbError(Status.IMAGE, 'the file is empty');
    let p = 0, out = 0;
    try {
      p = this.alloc(bytes.length);
      out = this.alloc(4 * RESULT_FLOATS);
      this.u8().set(bytes, p);
      this.check(this.M._mvbw_classify_encoded(this.handle, p, bytes.length, out), 'classifying the image');
      return this.result(out);
    } finally {
      if (p) this.M._free(p);
      if (out) this.M._free(out);
    }
  }

  // rgba: width*height*4 bytes, rows packed (what a canvas's getImageData returns).
  classifyPixels(rgba, width, height) {
    this.requireModel();
    if (!(width > 0 && height > 0 && rgba.length === width * height * 4)) {
      throw new MvbError(Status.INVALID_ARGUMENT, `pixels: ${rgba.length} bytes do not hold ${width}x${height} RGBA`);
    }
    let p = 0, out = 0;
    try {
      p = this.alloc(rgba.length);
      out = this.alloc(4 * RESULT_FLOATS);
      this.u8().set(rgba, p);
      this.check(this.M._mvbw_classify_rgba(this.handle, p, width, height, out), 'classifying the pixels');
      return this.result(out);
    } finally {
      if (p) this.M._free(p);
      if (out) this.M._free(out);
    }
  }

  // Raw float32 NHWC input of the model's exact input size -> its first output.
  run(input) {
    this.requireModel();
    const n = input.length;
    let inp = 0, countPtr = 0, out = 0;
    let capacity = 1024;
    try {
      inp = this.alloc(4 * n);
      countPtr = this.alloc(4);
      this.f32().set(input, inp >> 2);
      for (;;) {
        out = this.alloc(4 * capacity);
        this.check(this.M._mvbw_run(this.handle, inp, n, out, capacity, countPtr), 'running the model');
        const count = this.u32()[countPtr >> 2];
        if (count <= capacity) return this.f32().slice(out >> 2, (out >> 2) + count);
        this.M._free(out); // the output did not fit: run again with room for all of it
        out = 0;
        capacity = count;
      }
    } finally {
      if (inp) this.M._free(inp);
      if (countPtr) this.M._free(countPtr);
      if (out) this.M._free(out);
    }
  }

  // Bytes of wasm memory the engine holds (it grows to the largest image yet and never
  // shrinks: wasm memory cannot).
  get memoryBytes() {
    return this.M ? this.u8().buffer.byteLength : 0;
  }

  // Frees the model and ends the threaded builds' pthread workers; the wasm memory goes
  // when nothing references this engine any more.
  dispose() {
    if (!this.M) return;
    if (this.handle) this.M._mvbw_free(this.handle);
    this.handle = 0;
    this.M.PThread?.terminateAllThreads?.();
    this.M = null;
  }
}
