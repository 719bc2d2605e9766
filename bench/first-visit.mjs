#!/usr/bin/env node
// The first verdict of a first visit: a fresh Chromium profile opens the site over an
// emulated slow link (CDP Network.emulateNetworkConditions on the page and on every worker
// it starts), chooses a photo through the file input as soon as the page listens for one,
// and times navigation start -> the first verdict on the page. The server counts the bytes
// it sends per request; those of requests that arrived before the verdict are "bytes before
// the verdict". Median of N cold runs (each a new profile: no HTTP cache, no service worker).
//
//   node bench/first-visit.mjs [--runs 3] [--mbit 10] [--latency 40] [--gzip none|text|text+wasm]
//                              [--dist DIR[=LABEL]]... [--photo FILE] [--requests]
//
// Several --dist builds (default: dist/) are measured interleaved, run 1 of each, then run 2
// of each, ..., so that a machine whose load changes treats them alike.
//
// The server behaves like GitHub Pages as far as it matters here: strong ETags and
// Last-Modified (If-None-Match / If-Modified-Since -> 304), Cache-Control: max-age=600,
// Access-Control-Allow-Origin: *, no COOP/COEP. --gzip models on-the-fly compression:
// none (the default: GitHub's documentation promises none), text (html, css, js, json,
// svg, webmanifest, md: what Pages is widely observed to gzip), text+wasm (also
// application/wasm, observed by some); octet-stream (the weight shards) and images never.
// bench/RESULTS.md, "First verdict of a first visit", says what is relied on and why.
//
// Needs dist/ (./build.sh), /usr/bin/chromium and tests/node_modules (npm ci).
import { createServer } from 'node:http';
import { execSync } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import os from 'node:os';
import { join, extname, normalize } from 'node:path';
import { parseArgs } from 'node:util';
import { CHROMIUM, DIST, ROOT, TYPES, launch, skipReason } from '../tests/browser/helpers.mjs';
import { median } from './stats.mjs';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    mbit: { type: 'string', default: '10' },
    latency: { type: 'string', default: '40' },
    gzip: { type: 'string', default: 'none' },
    dist: { type: 'string', multiple: true, default: [DIST] },
    photo: { type: 'string', default: join(ROOT, 'web', 'examples', 'picos-de-europa.jpg') },
    requests: { type: 'boolean', default: false },
  },
});
const RUNS = Number(args.runs);
const BYTES_PER_S = (Number(args.mbit) * 1e6) / 8;
const LATENCY = Number(args.latency);
const GZIP_TYPES = {
  none: [],
  text: ['text/', 'application/javascript', 'application/json', 'application/manifest+json', 'image/svg+xml'],
};
GZIP_TYPES['text+wasm'] = [...GZIP_TYPES.text, 'application/wasm'];
if (!GZIP_TYPES[args.gzip]) throw new Error(`--gzip must be one of ${Object.keys(GZIP_TYPES).join(', ')}`);
// ---- A GitHub-Pages-like static server that counts what it sends ------------------------

async function startPagesServer(root) {
  const sent = []; // {at (ms since epoch, request arrival), path, status, bytes, encoding}
  const gzipCache = new Map();
  const server = createServer(async (req, res) => {
    const at = Date.now();
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    let file = normalize(join(root, path));
    const record = (status, bytes, encoding = '') => sent.push({ at, path, status, bytes, encoding });
    if (!file.startsWith(root)) { res.writeHead(403).end(); record(403, 0); return; }
    try {
      const st = await stat(file);
      if (st.isDirectory()) file = join(file, 'index.html');
      const info = await stat(file);
      const type = TYPES[extname(file)] || 'application/octet-stream';
      // nginx's (and Pages') ETag: hex mtime and size; weak when the body is compressed.
      const tag = `"${Math.floor(info.mtimeMs / 1000).toString(16)}-${info.size.toString(16)}"`;
      const gzip = GZIP_TYPES[args.gzip].some((t) => type.startsWith(t)) && /\bgzip\b/.test(req.headers['accept-encoding'] || '');
      const etag = gzip ? `W/${tag}` : tag;
      const headers = {
        'Content-Type': type,
        'Last-Modified': new Date(Math.floor(info.mtimeMs / 1000) * 1000).toUTCString(),
        ETag: etag,
        'Cache-Control': 'max-age=600',
        'Access-Control-Allow-Origin': '*',
        ...(GZIP_TYPES[args.gzip].length ? { Vary: 'Accept-Encoding' } : {}),
      };
      const inm = req.headers['if-none-match'];
      if (inm && inm.split(/\s*,\s*/).some((t) => t.replace(/^W\//, '') === tag)) {
        res.writeHead(304, headers).end();
        record(304, 0);
        return;
      }
      let body = await readFile(file);
      if (gzip) {
        if (!gzipCache.has(file)) gzipCache.set(file, gzipSync(body, { level: 6 }));
        body = gzipCache.get(file);
        headers['Content-Encoding'] = 'gzip';
      }
      headers['Content-Length'] = body.length;
      res.writeHead(200, headers).end(req.method === 'HEAD' ? undefined : body);
      record(200, req.method === 'HEAD' ? 0 : body.length, gzip ? 'gzip' : '');
    } catch {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
      record(404, 9);
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/`,
    sent,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
  };
}

// ---- One cold visit ------------------------------------------------------------------------

// In the page, before its scripts: note when the file input gets its change listener (the
// page then takes a photo) and when the first card shows a verdict.
function watchPage() {
  const add = EventTarget.prototype.addEventListener;
  EventTarget.prototype.addEventListener = function (type, ...rest) {
    if (type === 'change' && this instanceof HTMLInputElement && this.id === 'file' && window.__fileReady === undefined) {
      window.__fileReady = performance.now();
    }
    return add.call(this, type, ...rest);
  };
  new MutationObserver(() => {
    if (window.__ready === undefined && document.body && document.body.dataset.ready) window.__ready = performance.now();
    if (window.__verdict === undefined && document.querySelector('#results .result:not(.pending)')) {
      window.__verdict = performance.now();
    }
  }).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['class', 'data-ready'] });
}

const conditions = { offline: false, latency: LATENCY, downloadThroughput: BYTES_PER_S, uploadThroughput: BYTES_PER_S };

async function throttle(session) {
  await session.send('Network.enable');
  await session.send('Network.emulateNetworkConditions', conditions);
}

async function visit(site) {
  const { context, close } = await launch();
  try {
    await context.addInitScript(watchPage);
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    // The page's emulated link also carries its dedicated workers' requests (the engine's
    // worker downloads the wasm and the weights): at 2 Mbit/s the first verdict takes 19 s.
    // The service worker's own requests may not be throttled; the page registers it only
    // after the first verdict.
    const cdp = await context.newCDPSession(page);
    await throttle(cdp);
    const from = site.sent.length;
    await page.goto(site.url, { waitUntil: 'commit' });
    await page.waitForFunction(() => window.__fileReady !== undefined, null, { timeout: 60000, polling: 5 });
    await page.setInputFiles('#file', args.photo);
    await page.waitForFunction(() => window.__verdict !== undefined, null, { timeout: 120000, polling: 20 });
    const t = await page.evaluate(() => ({
      origin: performance.timeOrigin, fileReady: window.__fileReady, verdict: window.__verdict, ready: window.__ready,
      nav: performance.getEntriesByType('navigation')[0]?.startTime ?? 0,
      card: document.querySelector('#results .result').dataset.verdict,
    }));
    // When the engine's files were in (the last wasm or weights byte, in the page or its
    // workers): the rest of the time to the verdict is compiling, loading and classifying.
    let filesIn = 0;
    for (const ctx of [page, ...page.workers()]) {
      const ends = await ctx.evaluate(() => performance.getEntriesByType('resource')
        .filter((e) => /\/(wasm|weights)\//.test(e.name)).map((e) => performance.timeOrigin + e.responseEnd)).catch(() => []);
      filesIn = Math.max(filesIn, ...ends);
    }
    if (t.card === 'error') throw new Error(`the page could not classify the photo: ${await page.textContent('#results .message')}`);
    if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
    const verdictAt = t.origin + t.verdict;
    const requests = site.sent.slice(from);
    const before = requests.filter((r) => r.at <= verdictAt);
    // A few seconds more, to see what the visit fetches after the verdict (the precache).
    await page.waitForTimeout(4000);
    const after = site.sent.slice(from).filter((r) => r.at > verdictAt);
    return {
      ms: t.verdict - t.nav, fileReady: t.fileReady - t.nav, ready: t.ready - t.nav, filesIn: filesIn - t.origin - t.nav, verdict: t.card,
      bytes: before.reduce((a, r) => a + r.bytes, 0), requests: before.length,
      list: before.map((r) => ({ ...r, at: r.at - t.origin })), afterBytes: after.reduce((a, r) => a + r.bytes, 0),
    };
  } finally {
    await close();
  }
}

const secs = (ms) => (ms / 1000).toFixed(2);
const range = (xs, f) => `${f(median(xs))} (${f(Math.min(...xs))}-${f(Math.max(...xs))})`;

async function main() {
  const skip = skipReason();
  if (skip) { console.error(`first-visit: ${skip}`); process.exit(2); }
  const builds = args.dist.map((d) => {
    const [dir, label] = d.split('=');
    return { root: normalize(dir), label: label ?? dir, runs: [] };
  });
  for (const b of builds) b.site = await startPagesServer(b.root);
  try {
    for (let i = 0; i < RUNS; i++) {
      for (const b of builds) {
        const r = await visit(b.site);
        b.runs.push(r);
        console.log(`${b.label} run ${i + 1}: verdict ${r.verdict} at ${secs(r.ms)} s (file input ready at ${secs(r.fileReady)} s, engine files in at ${secs(r.filesIn)} s, model ready at ${secs(r.ready)} s), ${(r.bytes / 1e6).toFixed(2)} MB in ${r.requests} requests before it, ${(r.afterBytes / 1e6).toFixed(2)} MB in the 4 s after`);
        if (args.requests) {
          for (const q of r.list) console.log(`   ${q.at.toFixed(0).padStart(6)} ms  ${String(q.status)}  ${String(q.bytes).padStart(8)} B ${q.encoding.padEnd(4)} ${q.path}`);
        }
      }
    }
  } finally {
    for (const b of builds) await b.site.close();
  }
  let commit = '?';
  try { commit = execSync('git rev-parse --short HEAD', { cwd: ROOT, encoding: 'utf8' }).trim(); } catch {}
  console.log(`\nmedian (min-max) of ${RUNS} cold runs, ${args.mbit} Mbit/s, ${LATENCY} ms, host gzip: ${args.gzip}, commit ${commit}, load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}, ${CHROMIUM}`);
  console.log('| build | first verdict (s) | engine files in (s) | model ready (s) | bytes before the verdict (MB) |');
  console.log('|---|---|---|---|---|');
  for (const b of builds) {
    console.log(`| ${b.label} | ${range(b.runs.map((r) => r.ms), secs)} | ${range(b.runs.map((r) => r.filesIn), secs)} | ${range(b.runs.map((r) => r.ready), secs)} | ${range(b.runs.map((r) => r.bytes / 1e6), (x) => x.toFixed(2))} |`);
  }
}

await main();
