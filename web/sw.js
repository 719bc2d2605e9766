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
const PRECACHE = null; // {version, files: [{url, sha256, size}]}

const PREFIX = `mvb:${new URL(self.registration.scope).pathname}:`;
const CACHE = PRECACHE ? PREFIX + PRECACHE.version : null;

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

// Downloads every file of this version, checks each against the manifest's hash (a host
// half-way through a deploy could serve a mix of versions), and only then fills the cache.
async function precache() {
  const cache = await caches.open(CACHE);
  const scope = self.registration.scope;
  const entries = await Promise.all(PRECACHE.files.map(async (f) => {
    const url = new URL(f.url, scope).href;
    const res = await fetch(url, { cache: 'no-cache' });
    if (!res.ok) throw new Error(`precache: ${url} answered HTTP ${res.status}`);
    const body = await res.arrayBuffer();
    const hash = await sha256Hex(body);
    if (hash !== f.sha256) throw new Error(`precache: ${url} does not match version ${PRECACHE.version}`);
    const headers = new Headers(res.headers);
    headers.set('Content-Length', String(body.byteLength));
    headers.delete('Content-Encoding');
    return [url, new Response(body, { status: 200, statusText: 'OK', headers })];
  }));
  for (const [url, res] of entries) {
    await cache.put(url, res.clone());
    if (url.endsWith('/index.html')) await cache.put(url.slice(0, -'index.html'.length), res);
  }
}

self.addEventListener('install', (event) => {
  if (!PRECACHE) { self.skipWaiting(); return; } // unbuilt web/ (development): no caching
  event.waitUntil((async () => {
    try {
      await precache();
    } catch (e) {
      await caches.delete(CACHE); // never keep a half-filled version
      throw e;
    }
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
  if (event.data && event.data.type === 'skip-waiting') self.skipWaiting();
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
