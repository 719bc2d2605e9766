// mvb.js: the embeddable API. Any page can import it (same origin or not):
//
//   import { load, classify } from 'https://HOST/PATH/mvb.js';
//   const c = await load({ onProgress: (done, total) => ... });   // optional: base, variant, threads,
//                                                                 // precision ('f32' | 'int8'; default: the model's own)
//   const r = await c.classify(fileOrBlobOrImageBitmapOrUrl);     // {verdict, confidence, score, ...}
//
// Inference runs in a module Web Worker that owns the wasm engine (worker.js).
import { MvbError, Status, VARIANTS, chooseVariant, detectFeatures } from './engine.js';
import { FETCH_STALL_MS, MAX_INPUT_BYTES, NOT_SURE_REASONS, formatBytes, verdictInfo } from './meta.js';
import { readAll } from './read-all.js';

export { MvbError, Status, detectFeatures, NOT_SURE_REASONS };

// Why a URL could not be read; `kind` is one of invalid, scheme, mixed-content, offline,
// network (CORS or unreachable), http (with `status`), not-image, too-large (over
// MAX_INPUT_BYTES), stalled (nothing for FETCH_STALL_MS).
export class UrlError extends Error {
  constructor(kind, message, extra = {}) {
    super(message);
    this.name = 'UrlError';
    this.kind = kind;
    Object.assign(this, extra);
  }
}

const DOWNLOAD_HINT = 'Download the image and upload it here, or drag it from the other tab into this page.';

function pageUrl() {
  return globalThis.document ? document.baseURI : globalThis.location ? location.href : undefined;
}

function isLocalHost(host) {
  return host === 'localhost' || host === '127.0.0.1' || host === '[::1]' || host.endsWith('.localhost');
}

// The last segment of an address's path, as a name to show: decoded where it decodes (a
// lone "%" in "100%.jpg" does not), as it is where not.
function nameOf(u) {
  const last = u.pathname.split('/').pop();
  if (!last) return u.host;
  try {
    return decodeURIComponent(last);
  } catch {
    return last;
  }
}

// A response's body, refused as soon as it is known to pass maxBytes (from Content-Length,
// or by counting as it arrives) and given up on after stallMs without a byte.
async function readBody(res, { maxBytes, stallMs, abort }) {
  const tooLarge = (n, counted) => new UrlError('too-large', `This address sends ${formatBytes(n)}${counted ? ' or more' : ''}: more than the ${formatBytes(maxBytes)} any photo here can take. Is it a video or an archive?`, { bytes: n });
  const declared = Number(res.headers.get('content-length'));
  if (declared > maxBytes) {
    abort();
    throw tooLarge(declared, false);
  }
  if (!res.body) return res.arrayBuffer(); // data: and blob: answers in older browsers
  return readAll(res.body.getReader(), {
    read: (reader) => withStallTimer(reader.read(), stallMs, abort),
    onChunk: (value, total) => {
      if (total <= maxBytes) return;
      abort();
      throw tooLarge(total, true);
    },
  });
}

// `promise`, or a "stalled" UrlError (and the request aborted) if it takes longer than ms.
function withStallTimer(promise, ms, abort) {
  let timer;
  const stalled = new Promise((_, reject) => {
    timer = setTimeout(() => {
      // Rejected before the abort, whose own rejection of `promise` would win the race.
      reject(new UrlError('stalled', `The site sent nothing for ${Math.round(ms / 1000)} seconds, so the image was given up on. Try again later, or download the image and upload it here.`));
      abort();
    }, ms);
  });
  return Promise.race([promise, stalled]).finally(() => clearTimeout(timer));
}

// Fetches an image URL (http, https, data:, blob:) and says precisely why when it cannot.
// options: maxBytes (default MAX_INPUT_BYTES), stallMs (default FETCH_STALL_MS).
export async function fetchImage(url, { maxBytes = MAX_INPUT_BYTES, stallMs = FETCH_STALL_MS } = {}) {
  let u;
  try {
    u = new URL(String(url).trim(), pageUrl());
  } catch {
    throw new UrlError('invalid', 'That is not a web address. Paste a link that starts with https:// or a data:image/… URL.');
  }
  if (!['http:', 'https:', 'data:', 'blob:'].includes(u.protocol)) {
    throw new UrlError('scheme', `Only http(s) and data: addresses can be read, not ${u.protocol} ones.`);
  }
  const here = globalThis.location;
  if (u.protocol === 'http:' && here && here.protocol === 'https:' && !isLocalHost(u.hostname)) {
    throw new UrlError('mixed-content', 'This page is served over https, so the browser blocks http:// images. Try the https:// address of the image, or download it and upload it here.');
  }
  const isData = u.protocol === 'data:';
  const controller = new AbortController();
  const abort = () => controller.abort();
  const limits = { maxBytes, stallMs, abort };
  let res;
  try {
    res = await withStallTimer(fetch(u.href, { mode: 'cors', credentials: 'omit', referrerPolicy: 'no-referrer', signal: controller.signal }), stallMs, abort);
  } catch (e) {
    if (e instanceof UrlError) throw e;
    if (isData) throw new UrlError('invalid', 'This data: URL is malformed (it could not be decoded).');
    if (globalThis.navigator && navigator.onLine === false) {
      throw new UrlError('offline', 'You are offline, so images from other sites cannot be fetched. Upload a photo from your device instead.');
    }
    throw new UrlError('network', `The site ${u.host} does not allow other pages to read its images (no CORS permission), or it could not be reached. ${DOWNLOAD_HINT}`, { host: u.host });
  }
  if (!res.ok) {
    abort();
    const text = res.statusText ? ` ${res.statusText}` : '';
    const hint = res.status === 404 || res.status === 410 ? 'Check the address: there is no image there.'
      : res.status === 401 || res.status === 403 ? `The site refuses to share this image. ${DOWNLOAD_HINT}`
        : 'The site may be having trouble; try again later, or download the image and upload it here.';
    throw new UrlError('http', `The server answered ${res.status}${text} for this address. ${hint}`, { status: res.status });
  }
  const type = (res.headers.get('content-type') || '').split(';')[0].trim().toLowerCase();
  // Some servers label images as octet-stream: let the decoder judge those.
  if (type && !type.startsWith('image/') && type !== 'application/octet-stream' && type !== 'binary/octet-stream') {
    abort();
    throw new UrlError('not-image', `This address points to ${type === 'text/html' ? 'a web page' : `a ${type} file`}, not an image. Open it, right-click the photo and choose "Copy image address", then paste that here.`, { contentType: type });
  }
  let bytes;
  try {
    bytes = await readBody(res, limits);
  } catch (e) {
    if (e instanceof UrlError) throw e;
    throw new UrlError('network', `The connection to ${u.host} broke before the whole image arrived. Try again, or download the image and upload it here.`, { host: u.host });
  }
  if (bytes.byteLength === 0) throw new UrlError('not-image', 'The address returned an empty file, not an image.');
  const name = isData ? 'pasted data: URL' : nameOf(u);
  return { bytes, type, name };
}

function startWorker() {
  const url = new URL('./worker.js', import.meta.url);
  if (!globalThis.location || url.origin === location.origin) {
    return new Worker(url, { type: 'module', name: 'mvb-engine' });
  }
  // Embedded from another origin: a worker script must be same-origin with the page, so a
  // one-line blob worker imports ours (needs CORS on our files, as GitHub Pages sends, and
  // worker-src blob: in the host page's CSP if it has one).
  const src = `import ${JSON.stringify(url.href)};`;
  const blobUrl = URL.createObjectURL(new Blob([src], { type: 'text/javascript' }));
  return new Worker(blobUrl, { type: 'module', name: 'mvb-engine' });
}

// The worker asks for the wasm only once it has booted and imported engine.js and the
// build's script. The page knows which build it will choose (engine.js's feature tests work
// here too), so it asks for that build's files now, at high priority; the HTTP cache hands
// them to the worker. Nothing here if the browser has no SIMD: the worker says why.
function preloadEngine({ wasmUrl, variant }) {
  if (!globalThis.document || !document.head) return;
  let file;
  try {
    file = VARIANTS[variant ?? chooseVariant()].file;
  } catch {
    return;
  }
  for (const [rel, name] of [['modulepreload', `${file}.js`], ['preload', `${file}.wasm.gz`]]) {
    const href = new URL(name, wasmUrl).href;
    if (document.head.querySelector(`link[href="${CSS.escape(href)}"]`)) continue;
    const link = Object.assign(document.createElement('link'), { rel, href, crossOrigin: 'anonymous' });
    if (rel === 'preload') {
      link.as = 'fetch';
      link.fetchPriority = 'high';
    }
    document.head.append(link);
  }
}

function resolveOptions(options = {}) {
  const base = new URL(options.base ?? './', options.base ? pageUrl() : import.meta.url);
  return {
    wasmUrl: new URL(options.wasmUrl ?? 'wasm/', base).href,
    modelUrl: new URL(options.modelUrl ?? 'weights/model.json', base).href,
    variant: options.variant,
    threads: options.threads,
    precision: options.precision,
  };
}

export class Classifier {
  constructor(worker, info) {
    this.worker = worker;
    this.info = info; // {variant, threads, precision ('f32' | 'int8'), inputShape, modelBytes, meta}
    this.nextId = 1;
    this.pending = new Map();
    this.idleWaiters = [];
    worker.onmessage = (e) => this.onMessage(e.data);
    worker.onerror = (e) => this.failAll(new MvbError(Status.BACKEND, `the engine worker failed: ${e.message || 'unknown error'}`));
  }

  // Starts the worker, downloads engine + model. onProgress(bytesDone, bytesTotal) follows
  // the weight download (total 0 while unknown).
  static async create(options = {}) {
    const opts = resolveOptions(options);
    preloadEngine(opts);
    const worker = startWorker();
    const c = new Classifier(worker, null);
    try {
      c.info = await c.request({ type: 'init', ...opts }, [], options.onProgress);
    } catch (e) {
      c.dispose();
      throw e;
    }
    return c;
  }

  onMessage(msg) {
    const p = this.pending.get(msg.id);
    if (!p) return;
    if (msg.type === 'progress') {
      if (p.onProgress) p.onProgress(msg.loaded, msg.total);
      return;
    }
    this.pending.delete(msg.id);
    if (msg.ok) p.resolve(msg.result);
    else p.reject(new MvbError(msg.error.status, msg.error.message));
    if (!this.pending.size) this.wakeIdle();
  }

  // Resolves when the worker has nothing left to do: no request waiting for an answer once
  // the current task has run (so a request made as the classifier became ready counts).
  // The page starts its service worker's precache then, off the first verdict's path.
  idle() {
    return new Promise((resolve) => setTimeout(() => {
      if (this.pending.size) this.idleWaiters.push(resolve);
      else resolve();
    }, 0));
  }

  wakeIdle() {
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  failAll(error) {
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
    this.wakeIdle();
  }

  request(msg, transfer = [], onProgress) {
    if (!this.worker) return Promise.reject(new MvbError(Status.STATE, 'the classifier was disposed'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onProgress });
      this.worker.postMessage({ ...msg, id }, transfer);
    });
  }

  // input: File/Blob, ArrayBuffer/typed array of encoded bytes, ImageBitmap, an <img>,
  // <canvas>, <video> (its current frame: camera.js) or ImageData, or a URL (string or URL
  // object). Resolves to
  // {verdict, confidence, score, probabilities: {beach, mountain[, neither]}, decoder, ms,
  // reasons (for "not sure")}; verdict is the engine's: 'beach', 'mountain', 'not sure' or
  // 'neither' (models with that class). options.preview: also `preview`, a small image Blob
  // of the photo (meta.js PREVIEW_BOX) that the worker draws, so a page never has to
  // decode the full photo to show it, and `previewPhoto`, the whole photo's size at the
  // preview's scale. Models with a heatmap output also give `heatmap`, {cls, rows, cols,
  // values} (heatmap.js: where the model looked for the class that explains the verdict).
  async classify(input, options = {}) {
    if (typeof input === 'string' || input instanceof URL) {
      const { bytes } = await fetchImage(input);
      return this.classifyBytes(bytes, options);
    }
    // A Blob goes to the worker as it is (a File stays on disk until the worker reads it).
    if (typeof Blob !== 'undefined' && input instanceof Blob) return this.judge({ type: 'classify', bytes: input }, [], options);
    if (input instanceof ArrayBuffer) return this.classifyBytes(input.slice(0), options);
    if (ArrayBuffer.isView(input)) {
      return this.classifyBytes(input.buffer.slice(input.byteOffset, input.byteOffset + input.byteLength), options);
    }
    if (input && typeof createImageBitmap === 'function') {
      // A copy is transferred, so the caller's ImageBitmap stays usable.
      const bitmap = await createImageBitmap(input);
      return this.judge({ type: 'classify-bitmap', bitmap }, [bitmap], options);
    }
    throw new MvbError(Status.INVALID_ARGUMENT, 'classify() takes a File/Blob, bytes, an ImageBitmap, an image element or a URL');
  }

  // Encoded image bytes (the ArrayBuffer is transferred to the worker).
  classifyBytes(buffer, options = {}) {
    return this.judge({ type: 'classify', bytes: buffer }, [buffer], options);
  }

  async judge(msg, transfer, options = {}) {
    const result = await this.request({ ...msg, preview: !!options.preview }, transfer);
    const { reasons } = verdictInfo(result.verdict);
    if (reasons) result.reasons = [...reasons];
    return result;
  }

  // What the engine holds: {wasm}, its wasm memory in bytes (it grows to the largest photo
  // yet and never shrinks). For diagnosing memory; bench/soak-browser.mjs reads it.
  memory() {
    return this.request({ type: 'memory' });
  }

  // Ends the worker. A classifier that load() shares is forgotten by it too, so the next
  // load() starts a fresh one instead of handing this one out.
  dispose() {
    if (!this.worker) return;
    this.failAll(new MvbError(Status.STATE, 'the classifier was disposed'));
    this.worker.terminate();
    this.worker = null;
    this.onDispose?.();
  }
}

const loaded = new Map();

// One shared classifier per configuration; a failed load can be retried, and a disposed
// one is replaced.
export function load(options = {}) {
  const key = JSON.stringify(resolveOptions(options));
  let p = loaded.get(key);
  if (!p) {
    p = Classifier.create(options);
    loaded.set(key, p);
    const forget = () => { if (loaded.get(key) === p) loaded.delete(key); };
    p.then((c) => { c.onDispose = forget; }, forget);
  }
  return p;
}

// load(options), then classify(input, options): {preview: true} reaches the classifier.
export async function classify(input, options = {}) {
  return (await load(options)).classify(input, options);
}
