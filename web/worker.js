// worker.js: a module Web Worker that owns the engine, so decoding and inference never
// block the page. Protocol (every request carries an id; replies echo it):
//   {type:'init', wasmUrl, modelUrl, variant?, threads?}
//       -> progress {type:'progress', loaded, total} ... then {ok, result:{variant, threads, inputShape, modelBytes, meta}}
//   {type:'classify', bytes: ArrayBuffer}      encoded image; browser-decode fallback
//   {type:'classify-bitmap', bitmap: ImageBitmap}
//       -> {ok:true, result:{score, verdict, confidence, probabilities, decoder, ms}}
//        | {ok:false, error:{status, message}}
//   The result is the engine's (engine.js result()) as it is, plus decoder and ms.
import { loadEngine, chooseVariant, MvbError, Status, ENGINE_FORMATS } from './engine.js';
import { fetchModel } from './model-fetch.js';
import { imageHeader } from './image-header.js';

let engine = null;

// Browsers decode more than stb_image does (WebP, AVIF, HEIC on Safari); big images are
// scaled down first so a 100-megapixel photo cannot exhaust the wasm heap.
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
  return { rgba: ctx.getImageData(0, 0, width, height).data, width, height };
}

function classifyBitmap(bitmap) {
  try {
    const { rgba, width, height } = pixelsOf(bitmap);
    return engine.classifyPixels(rgba, width, height);
  } finally {
    bitmap.close();
  }
}

// Whether the browser may try an image the engine refused. Not when the engine reads the
// format itself (JPEG, PNG, BMP, GIF): its refusal names what is wrong (a scan that ends
// early, a damaged header), and a browser would show a half-decoded picture instead.
function browserMayDecode(e, bytes) {
  if (!(e instanceof MvbError)) return false;
  if (e.status === Status.IMAGE_TOO_LARGE) return true;
  if (e.status !== Status.IMAGE) return false;
  const header = imageHeader(bytes);
  return !header || !ENGINE_FORMATS.includes(header.format);
}

async function classifyEncoded(bytes) {
  try {
    return { ...engine.classifyBytes(new Uint8Array(bytes)), decoder: 'wasm' };
  } catch (e) {
    if (!browserMayDecode(e, bytes)) throw e;
    // A format stb_image does not read (WebP, AVIF, ...), or over the engine's pixel
    // limit: the browser decodes it and pixelsOf scales it down. If the browser cannot
    // either, the engine's reason stands.
    let bitmap;
    try {
      bitmap = await createImageBitmap(new Blob([bytes]));
    } catch {
      throw e;
    }
    return { ...classifyBitmap(bitmap), decoder: 'browser' };
  }
}

// The threaded build needs more of the browser (nested workers, shared memory); if it
// cannot start, the single-threaded build still can. An explicit variant is not second-guessed.
async function startEngine(msg) {
  const options = { wasmUrl: msg.wasmUrl, variant: msg.variant, threads: msg.threads };
  try {
    return await loadEngine(options);
  } catch (e) {
    if (msg.variant || chooseVariant() !== 'simd-threads') throw e;
    return loadEngine({ ...options, variant: 'simd' });
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
  return {
    variant: engine.variant, threads: engine.threads, inputShape,
    modelBytes: model.bytes, meta: engine.meta,
  };
}

async function handle(msg) {
  if (msg.type === 'init') return init(msg, msg.id);
  if (!engine) throw new MvbError(Status.STATE, 'the classifier is not loaded yet');
  const t0 = performance.now();
  let result;
  if (msg.type === 'classify') result = await classifyEncoded(msg.bytes);
  else if (msg.type === 'classify-bitmap') result = { ...classifyBitmap(msg.bitmap), decoder: 'browser' };
  else throw new MvbError(Status.INVALID_ARGUMENT, `unknown request "${msg.type}"`);
  return { ...result, ms: performance.now() - t0 };
}

// Requests run one at a time: the engine is single-threaded from JS's point of view.
let queue = Promise.resolve();
self.onmessage = (event) => {
  const msg = event.data;
  queue = queue.then(async () => {
    try {
      postMessage({ id: msg.id, ok: true, result: await handle(msg) });
    } catch (e) {
      const status = e instanceof MvbError ? e.status : Status.BACKEND;
      postMessage({ id: msg.id, ok: false, error: { status, message: e && e.message ? e.message : String(e) } });
    }
  });
};
