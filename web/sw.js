// sw.js: offline support and cross-origin isolation for static hosting.
//
// - Precache: every file of one site version (page, scripts, wasm, model.json + shards) goes
//   into one cache named after the version; the fetch handler answers only from the active
//   version's cache, so a page never gets old wasm with new weights. A new version installs
//   beside the old one and takes over only when the page asks (see app.js) or no page of
//   the old version is open.
// - Isolation: same-origin responses get COOP/COEP (+CORP) headers, which makes the page
//   crossOriginIsolated, so the threaded wasm build can run on hosts such as GitHub Pages
//   that cannot set headers. COEP is require-corp: the page loads nothing cross-origin except
//   URL-input images, which it fetches with CORS (allowed under require-corp) and previews
//   from blob: URLs.
//
// build-manifest.mjs replaces the next line in dist/sw.js with the version and file list.
const PRECACHE = null; // {version, files: [{url, sha256, size, inflated?, feature?}], features: {name: probe}}

const PREFIX = `mvb:${new URL(self.registration.scope).pathname}:`;
const CACHE = PRECACHE ? PREFIX + PRECACHE.version : null;
// The last failed install (a host half-way through a deploy, or damaged files), kept outside
// PREFIX so activation's clean-up leaves it. Until RETRY_AFTER_MS has passed, the same version
// fails at once instead of downloading every file again on each navigation; a page's Retry
// deletes this cache (its name travels in the messages below) and asks for an update.
const FAILURES = `mvb-failed:${new URL(self.registration.scope).pathname}`;
const FAILURE_KEY = new URL('install-failure', self.registration.scope).href;
const RETRY_AFTER_MS = 10 * 60 * 1000;

function isolated(res) {
  if (res.type === 'opaque' || res.type === 'opaqueredirect' || res.status === 0) return res;
  const headers = new Headers(res.headers);
  headers.set('Cross-Origin-Opener-Policy', 'same-origin');
  headers.set('Cross-Origin-Embedder-Policy', 'require-corp');
  headers.set('Cross-Origin-Resource-Policy', 'same-origin');
  return new Response(res.body, { status: res.status, statusText: res.statusText, headers });
}

async function sha256Hex(buffer) {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', buffer));
  return Array.from(d, (b) => b.toString(16).padStart(2, '0')).join('');
}

// The features (the manifest's probe modules) this browser has. A file that needs one (the
// relaxed-SIMD wasm builds) is precached only where it validates: elsewhere the page never
// asks for that file (engine.js chooseVariant).
function supportedFeatures() {
  const wasm = typeof WebAssembly === 'object';
  return new Set(Object.keys(PRECACHE.features)
    .filter((name) => wasm && WebAssembly.validate(new Uint8Array(PRECACHE.features[name]))));
}

// Downloads every file of this version that this browser can use, checks each against the
// manifest's hash (a host half-way through a deploy could serve a mix of versions), and only
// then fills the cache.
// The first file that fails stops the others: the ones not yet sent are not fetched.
async function precache() {
  const cache = await caches.open(CACHE);
  const scope = self.registration.scope;
  const abort = new AbortController();
  const features = supportedFeatures();
  const files = PRECACHE.files.filter((f) => !f.feature || features.has(f.feature));
  const entries = await Promise.all(files.map(async (f) => {
    const url = new URL(f.url, scope).href;
    const res = await fetch(url, { cache: 'no-cache', signal: abort.signal });
    if (!res.ok) throw new Error(`${f.url} answered HTTP ${res.status}`);
    const body = await res.arrayBuffer();
    // A .gz file sent with Content-Encoding arrives inflated (`inflated`: its hash). Its copy
    // keeps the header, which tells engine.js and model-fetch.js not to inflate it again;
    // any other file's copy is plain bytes and says so.
    const inflated = f.inflated && res.headers.get('Content-Encoding');
    const hash = await sha256Hex(body);
    if (hash !== (inflated ? f.inflated : f.sha256)) throw new Error(`${f.url} does not match version ${PRECACHE.version}`);
    const headers = new Headers(res.headers);
    headers.set('Content-Length', String(body.byteLength));
    if (!inflated) headers.delete('Content-Encoding');
    return [url, new Response(body, { status: 200, statusText: 'OK', headers })];
  })).catch((e) => {
    abort.abort();
    throw e;
  });
  for (const [url, res] of entries) {
    await cache.put(url, res.clone());
    if (url.endsWith('/index.html')) await cache.put(url.slice(0, -'index.html'.length), res);
  }
}

async function lastFailure() {
  const res = await (await caches.open(FAILURES)).match(FAILURE_KEY);
  return res ? res.json() : null;
}

// Every open page of this scope, controlled or not, hears why the new version was refused.
async function tellPages(message) {
  for (const client of await self.clients.matchAll({ type: 'window', includeUncontrolled: true })) {
    client.postMessage(message);
  }
}

self.addEventListener('install', (event) => {
  if (!PRECACHE) { self.skipWaiting(); return; } // unbuilt web/ (development): no caching
  event.waitUntil((async () => {
    const last = await lastFailure();
    if (last && last.version === PRECACHE.version && Date.now() < last.retryAt) {
      await tellPages(last);
      throw new Error(`${last.reason} (not retried before ${new Date(last.retryAt).toISOString()})`);
    }
    // Same files as the active worker (only sw.js changed): its cache must survive a failure.
    const existed = await caches.has(CACHE);
    try {
      await precache();
    } catch (e) {
      if (!existed) await caches.delete(CACHE); // never keep a half-filled version
      const failure = {
        type: 'install-failed', version: PRECACHE.version, reason: e.message,
        retryAt: Date.now() + RETRY_AFTER_MS, record: FAILURES,
      };
      await (await caches.open(FAILURES)).put(FAILURE_KEY, new Response(JSON.stringify(failure)));
      await tellPages(failure);
      throw e;
    }
    await caches.delete(FAILURES);
    // First install: nothing to be consistent with, take over at once.
    if (!self.registration.active) await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) {
      if (key.startsWith(PREFIX) && key !== CACHE) await caches.delete(key);
    }
    await self.clients.claim();
  })());
});

self.addEventListener('message', (event) => {
  const type = event.data && event.data.type;
  if (type === 'skip-waiting') self.skipWaiting();
  // A page that opens after an install failed asks the worker serving it.
  if (type === 'status' && PRECACHE) {
    event.waitUntil(lastFailure().then((failure) => {
      event.source.postMessage({ type: 'status', version: PRECACHE.version, failure });
    }));
  }
});

async function respond(request) {
  if (CACHE) {
    const cache = await caches.open(CACHE);
    const hit = await cache.match(request, { ignoreSearch: true });
    if (hit) return isolated(hit);
  }
  try {
    return isolated(await fetch(request));
  } catch (e) {
    if (request.mode === 'navigate' && CACHE) {
      const cache = await caches.open(CACHE);
      const index = await cache.match(new URL('./', self.registration.scope).href);
      if (index) return isolated(index);
    }
    throw e;
  }
}

self.addEventListener('fetch', (event) => {
  const { request } = event;
  if (request.method !== 'GET') return;
  // Other origins (URL input) go straight to the network, untouched.
  if (new URL(request.url).origin !== self.location.origin) return;
  // Ranged requests (media) are not in the precache; let the network answer them.
  if (request.headers.has('range')) return;
  event.respondWith(respond(request));
});
