// worker.js: a module Web Worker that owns the engine, so decoding and inference never
// block the page. Protocol (every request carries an id; replies echo it):
//   {type:'init', wasmUrl, modelUrl, variant?, threads?, precision?}
//       -> progress {type:'progress', loaded, total} ... then {ok, result:{variant, threads, precision, inputShape, modelBytes, meta}}
//   {type:'classify', bytes: ArrayBuffer | Blob, preview?}   encoded image; browser-decode fallback
//   {type:'classify-bitmap', bitmap: ImageBitmap, preview?}
//       -> {ok:true, result:{score, verdict, confidence, probabilities, decoder, ms, heatmap?, preview?, previewPhoto?}}
//        | {ok:false, error:{status, message}}
//   The result is the engine's (engine.js result()) as it is, plus decoder and ms, and with
//   preview: true a small image Blob of the photo (meta.js PREVIEW_BOX) and previewPhoto, the
//   size {width, height} of the whole photo at the preview's scale (the preview is its middle).
//   heatmap (models whose model.json describes a heatmap output): the map of the class that
//   explains the verdict, {cls, rows, cols, values: Float32Array} (heatmap.js pickHeatmap).
//   {type:'memory'} -> {ok:true, result:{wasm}}: bytes of wasm memory the engine holds
// Idle for TRIM_IDLE_MS, the worker replaces an engine that a large photo has grown (below).
import { loadEngine, chooseVariant, VARIANTS, MvbError, Status, ENGINE_FORMATS } from './engine.js';
import { fetchModel } from './model-fetch.js';
import { imageHeader } from './image-header.js';
import { MAX_INPUT_BYTES, PREVIEW_BOX, formatBytes } from './meta.js';
import { pickHeatmap } from './heatmap.js';

let engine = null;

// A large photo grows the engine's wasm memory (stb_image's planes and the decoded pixels:
// +10 MiB for a 2.5 MP JPEG), and wasm memory never shrinks. So after TRIM_IDLE_MS without a
// request, an engine grown by more than TRIM_SLACK since its model was loaded is replaced by
// a fresh one: the same compiled module and model bytes, in tens of milliseconds; the old
// one's memory goes with it. Only for a model of at most TRIM_MODEL_BYTES, whose bytes the
// worker keeps for this (the shipped one has 2.7 MB).
const TRIM_IDLE_MS = 2000;
const TRIM_SLACK = 4 * 1048576;
const TRIM_MODEL_BYTES = 16 * 1048576;
let loaded = null; // {options, model: {jsonText, shards}, wasmBytes}: what a fresh engine needs
                   // (options' variant gives way to the running engine's)

// Browsers decode more than stb_image does (WebP, AVIF, HEIC on Safari); images within the
// pixel limit but big are scaled down before they reach the wasm heap.
const MAX_BROWSER_PIXELS = 16e6;

function pixelsOf(bitmap) {
  if (typeof OffscreenCanvas !== 'function') {
    throw new MvbError(Status.UNSUPPORTED, 'this browser cannot read decoded pixels in a worker (no OffscreenCanvas)');
  }
  let { width, height } = bitmap;
  const scale = Math.min(1, Math.sqrt(MAX_BROWSER_PIXELS / (width * height)));
  width = Math.max(1, Math.round(width * scale));
  height = Math.max(1, Math.round(height * scale));
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(bitmap, 0, 0, width, height);
  const rgba = ctx.getImageData(0, 0, width, height).data;
  canvas.width = canvas.height = 0; // its pixels go now, not at the next GC
  return { rgba, width, height };
}

// Classifies decoded pixels; the bitmap stays open (its caller closes it).
function classifyDecoded(bitmap) {
  const { rgba, width, height } = pixelsOf(bitmap);
  return { ...engine.classifyPixels(rgba, width, height), decoder: 'browser' };
}

// Whether the browser may decode an image the engine refused: only one in a format the
// engine does not read (WebP, AVIF, HEIC) whose header gives a size within the engine's
// pixel limit; over it, this throws the engine's refusal. The engine's refusal of its own
// formats (JPEG, PNG, BMP, GIF) stands: it names what is wrong (a scan that ends early,
// the size against the limit), and a browser would show a half-decoded picture, or spend
// seconds and gigabytes on a decompression bomb. An image whose size cannot be read first
// is not decoded at all.
function browserMayDecode(e, bytes) {
  if (!(e instanceof MvbError) || e.status !== Status.IMAGE) return false;
  const header = imageHeader(bytes);
  if (!header || ENGINE_FORMATS.includes(header.format)) return false;
  if (!(header.width > 0 && header.height > 0)) {
    throw new MvbError(Status.IMAGE, `this ${header.format.toUpperCase()} file's header gives no image size`);
  }
  engine.checkImageSize(header.width, header.height);
  return true;
}

// -> {result, bitmap}: bitmap (to close) when the browser decoded the image.
async function classifyEncoded(bytes) {
  try {
    return { result: { ...engine.classifyBytes(bytes), decoder: 'wasm' } };
  } catch (e) {
    if (!browserMayDecode(e, bytes)) throw e;
    // A format stb_image does not read (WebP, AVIF, ...): the browser decodes it and
    // pixelsOf scales it down. If the browser cannot either, the engine's reason stands.
    let bitmap;
    try {
      bitmap = await createImageBitmap(new Blob([bytes]));
    } catch {
      throw e;
    }
    try {
      return { result: classifyDecoded(bitmap), bitmap };
    } catch (err) {
      bitmap.close();
      throw err;
    }
  }
}

// The photo scaled to cover PREVIEW_BOX and cropped to at most twice it, as {blob, photo}: a
// small image Blob and the whole scaled photo's size; undefined when this browser cannot draw
// one here. source: an ImageBitmap, or the encoded bytes (decoded here only once the engine
// has accepted them).
async function previewOf(source) {
  if (typeof OffscreenCanvas !== 'function') return undefined;
  let bitmap = source;
  if (!(source instanceof ImageBitmap)) {
    try {
      bitmap = await createImageBitmap(new Blob([source]));
    } catch {
      return undefined; // the engine read it, the browser cannot: no preview
    }
  }
  try {
    const { width: bw, height: bh } = PREVIEW_BOX;
    const scale = Math.min(1, Math.max(bw / bitmap.width, bh / bitmap.height));
    const w = Math.max(1, Math.round(bitmap.width * scale));
    const h = Math.max(1, Math.round(bitmap.height * scale));
    const canvas = new OffscreenCanvas(Math.min(w, 2 * bw), Math.min(h, 2 * bh));
    const ctx = canvas.getContext('2d');
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(bitmap, (canvas.width - w) / 2, (canvas.height - h) / 2, w, h);
    let blob = await canvas.convertToBlob({ type: 'image/webp', quality: 0.85 });
    // A browser that cannot write WebP (Safari) gives a PNG instead, ten times larger per
    // card: a folder of photos keeps thousands of them.
    if (blob.type !== 'image/webp') blob = await canvas.convertToBlob({ type: 'image/jpeg', quality: 0.85 });
    canvas.width = canvas.height = 0; // its pixels go now, not at the next GC
    return { blob, photo: { width: w, height: h } };
  } finally {
    if (bitmap !== source) bitmap.close();
  }
}

// The threaded builds need more of the browser (nested workers, shared memory), the
// relaxed ones a newer one; a build that cannot start hands over to its fallback (VARIANTS),
// down to the plain SIMD build. An explicit variant is not second-guessed.
const engineOptions = (msg) => ({ wasmUrl: msg.wasmUrl, variant: msg.variant, threads: msg.threads, precision: msg.precision });

async function startEngine(msg) {
  const options = engineOptions(msg);
  if (msg.variant) return loadEngine(options);
  for (let variant = chooseVariant(); ; variant = VARIANTS[variant].fallback) {
    try {
      return await loadEngine({ ...options, variant });
    } catch (e) {
      if (!VARIANTS[variant].fallback) throw e;
    }
  }
}

async function init(msg, id) {
  let last = 0;
  const progress = (loaded, total) => {
    const now = Date.now();
    if (now - last < 50 && loaded !== total) return;
    last = now;
    postMessage({ id, type: 'progress', loaded, total });
  };
  const [eng, model] = await Promise.all([
    startEngine(msg),
    fetchModel(msg.modelUrl, progress),
  ]);
  if (engine) engine.dispose();
  engine = eng;
  const inputShape = engine.loadModel(model.jsonText, model.shards);
  const size = model.shards.reduce((n, s) => n + s.byteLength, 0);
  loaded = size > TRIM_MODEL_BYTES ? null : {
    options: engineOptions(msg),
    model: { jsonText: model.jsonText, shards: model.shards },
    wasmBytes: engine.memoryBytes,
  };
  return {
    variant: engine.variant, threads: engine.threads, precision: engine.precision, inputShape,
    modelBytes: model.bytes, meta: engine.meta,
  };
}

async function handle(msg) {
  if (msg.type === 'init') return init(msg, msg.id);
  if (msg.type === 'memory') {
    return { wasm: engine ? engine.memoryBytes : 0 };
  }
  if (!engine) throw new MvbError(Status.STATE, 'the classifier is not loaded yet');
  let bytes = null;
  let run;
  if (msg.type === 'classify') {
    // A Blob (a File the page was given) is read here, off the page's thread, unless it is
    // too large to be a photo: reading a video dropped by mistake could take the tab down.
    if (msg.bytes instanceof Blob && msg.bytes.size > MAX_INPUT_BYTES) {
      throw new MvbError(Status.IMAGE_TOO_LARGE, `this file has ${formatBytes(msg.bytes.size)}, more than the ${formatBytes(MAX_INPUT_BYTES)} any photo here can take: is it a video or an archive?`);
    }
    bytes = new Uint8Array(msg.bytes instanceof Blob ? await msg.bytes.arrayBuffer() : msg.bytes);
    run = () => classifyEncoded(bytes);
  } else if (msg.type === 'classify-bitmap') {
    run = () => ({ result: classifyDecoded(msg.bitmap), bitmap: msg.bitmap });
  } else {
    throw new MvbError(Status.INVALID_ARGUMENT, `unknown request "${msg.type}"`);
  }
  const t0 = performance.now();
  let done;
  try {
    done = await run();
    done.result.ms = performance.now() - t0;
    const heatmap = pickHeatmap(engine.meta, engine.outputs(), done.result);
    if (heatmap) done.result.heatmap = heatmap;
    if (msg.preview) {
      // The verdict stands without its preview (the card then says it has none).
      const preview = await previewOf(done.bitmap || bytes).catch(() => undefined);
      if (preview) Object.assign(done.result, { preview: preview.blob, previewPhoto: preview.photo });
    }
    return done.result;
  } finally {
    (done ? done.bitmap : msg.bitmap)?.close();
  }
}

// A fresh engine in place of one that has grown (see TRIM_IDLE_MS). If it cannot start, or
// has not within TRIM_GIVE_UP_MS, the grown one stays: the trim runs in the request queue,
// and a threaded engine whose pthread workers never report (their script gone with an
// update accepted in another tab) would otherwise hold every later request for ever.
const TRIM_GIVE_UP_MS = 10000;
async function trim() {
  if (!engine || !loaded || engine.memoryBytes <= loaded.wasmBytes + TRIM_SLACK) return;
  const starting = loadEngine({ ...loaded.options, variant: engine.variant, wasmModule: engine.wasmModule })
    .then((e) => {
      try {
        e.loadModel(loaded.model.jsonText, loaded.model.shards);
        return e;
      } catch (err) {
        e.dispose();
        throw err;
      }
    });
  let timer;
  const late = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error('too slow')), TRIM_GIVE_UP_MS); });
  let fresh;
  try {
    fresh = await Promise.race([starting, late]);
  } catch {
    starting.then((e) => e.dispose(), () => {}); // if it starts after all, it is not used
    return;
  } finally {
    clearTimeout(timer);
  }
  engine.dispose();
  engine = fresh;
  loaded.wasmBytes = engine.memoryBytes;
}

// Requests run one at a time: the engine is single-threaded from JS's point of view. The
// queue also runs the trim, once every request is answered and none has come for
// TRIM_IDLE_MS.
let queue = Promise.resolve();
let received = 0;
let answered = 0;
let idle = 0;
self.onmessage = (event) => {
  const msg = event.data;
  received++;
  clearTimeout(idle);
  queue = queue.then(async () => {
    try {
      postMessage({ id: msg.id, ok: true, result: await handle(msg) });
    } catch (e) {
      const status = e instanceof MvbError ? e.status : Status.BACKEND;
      postMessage({ id: msg.id, ok: false, error: { status, message: e && e.message ? e.message : String(e) } });
    }
    if (++answered === received) idle = setTimeout(() => { queue = queue.then(trim); }, TRIM_IDLE_MS);
  });
};
