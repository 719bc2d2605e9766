// helpers.mjs: the browser tests' static servers and Chromium launcher.
import { createServer } from 'node:http';
import { readFile, stat, mkdtemp, rm, mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, extname, normalize, dirname } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';

export const ROOT = normalize(join(dirname(fileURLToPath(import.meta.url)), '..', '..'));
export const DIST = process.env.MVB_DIST ? normalize(process.env.MVB_DIST) : join(ROOT, 'dist');
export const ARTIFACTS = join(ROOT, 'tests', 'artifacts');
export const CHROMIUM = process.env.MVB_CHROMIUM || '/usr/bin/chromium';

// From ../shared/notes/measurements.md: what headless Chromium needs as root on these machines.
export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

// Content types as GitHub Pages sends them (the bench servers share them).
export const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.json': 'application/json', '.wasm': 'application/wasm',
  '.bin': 'application/octet-stream', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.png': 'image/png',
  '.webp': 'image/webp', '.svg': 'image/svg+xml', '.webmanifest': 'application/manifest+json',
  '.md': 'text/markdown; charset=utf-8', '.txt': 'text/plain; charset=utf-8',
};

// Why the browser tests cannot run here, or null when they can.
export function skipReason() {
  for (const f of ['index.html', 'sw.js', 'weights/model.json', 'wasm/mvb-simd.js', 'wasm/mvb-simd.wasm']) {
    if (!existsSync(join(DIST, f))) return `${join(DIST, f)} is missing: run ./build.sh first`;
  }
  if (!existsSync(CHROMIUM)) return `${CHROMIUM} is missing (apt-get install chromium)`;
  try {
    createRequire(join(ROOT, 'tests', 'package.json')).resolve('playwright-core');
  } catch {
    return 'playwright-core is not installed (cd tests && npm ci)';
  }
  return null;
}

// A static file server on 127.0.0.1 and a free port. `routes` maps a path to a handler
// (req, res) for test-specific answers; everything else comes from `root`. Like GitHub
// Pages it sends no COOP/COEP headers: the service worker has to add them. `prefix` serves
// the site under a sub-path, as GitHub Pages serves a project site. Setting
// `state.throttle` slows down files under weights/.
// gzipEncoding: .gz files are sent with Content-Encoding: gzip (as some hosts do), so the
// browser inflates them before any script sees them.
export async function startServer(root, routes = {}, { prefix = '/', gzipEncoding = false } = {}) {
  const log = [];
  const state = { throttle: false };
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    log.push(path);
    if (routes[path]) return routes[path](req, res);
    if (!root || !path.startsWith(prefix)) { res.writeHead(404).end('not found'); return; }
    let file = normalize(join(root, path.slice(prefix.length - 1)));
    if (!file.startsWith(root)) { res.writeHead(403).end(); return; }
    try {
      if ((await stat(file)).isDirectory()) file = join(file, 'index.html');
      const body = await readFile(file);
      res.writeHead(200, {
        'Content-Type': TYPES[extname(file)] || 'application/octet-stream',
        'Content-Length': body.length,
        'Cache-Control': 'max-age=600',
        'Access-Control-Allow-Origin': '*', // as GitHub Pages sends
        ...(gzipEncoding && file.endsWith('.gz') ? { 'Content-Encoding': 'gzip' } : {}),
      });
      if (state.throttle && path.includes('/weights/') && req.method !== 'HEAD') {
        // Slow model downloads, so the progress bar can be seen and checked.
        for (let at = 0; at < body.length; at += 128 * 1024) {
          res.write(body.subarray(at, at + 128 * 1024));
          await new Promise((r) => setTimeout(r, 40));
        }
        res.end();
        return;
      }
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    state,
    url: `http://127.0.0.1:${port}${prefix}`,
    origin: `http://127.0.0.1:${port}`,
    log,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
  };
}

// The second origin for URL input: an image with CORS, the same image without, the same
// image held back until /release is asked for, a 404 and an HTML page; and /host.html, a page of this other origin that embeds <mvb-classifier>
// from siteUrl.
export async function startImageServer(jpegPath, siteUrl) {
  const jpeg = await readFile(jpegPath);
  const html = '<!doctype html><title>a page</title><p>not an image</p>';
  let release;
  const held = new Promise((resolve) => { release = resolve; });
  const host = `<!doctype html><meta charset="utf-8"><title>someone else's page</title>
<script type="module" src="${siteUrl}mvb-classifier.js"></script>
<h1>A blog post with a classifier in it</h1><mvb-classifier></mvb-classifier>`;
  return startServer(null, {
    '/favicon.ico': (req, res) => res.writeHead(204).end(),
    '/host.html': (req, res) => res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(host),
    '/cors.jpg': (req, res) => res.writeHead(200, { 'Content-Type': 'image/jpeg', 'Access-Control-Allow-Origin': '*', 'Content-Length': jpeg.length }).end(jpeg),
    // The same photo once /release has been asked for: a slow site, for runs that overlap.
    '/held.jpg': (req, res) => held.then(() => res.writeHead(200, { 'Content-Type': 'image/jpeg', 'Access-Control-Allow-Origin': '*', 'Content-Length': jpeg.length }).end(jpeg)),
    '/release': (req, res) => { release(); res.writeHead(204).end(); },
    '/nocors.jpg': (req, res) => res.writeHead(200, { 'Content-Type': 'image/jpeg', 'Content-Length': jpeg.length }).end(jpeg),
    '/missing.jpg': (req, res) => res.writeHead(404, { 'Content-Type': 'text/plain', 'Access-Control-Allow-Origin': '*' }).end('no such image'),
    '/page.html': (req, res) => res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Access-Control-Allow-Origin': '*' }).end(html),
  });
}

export async function launch(options = {}) {
  const require = createRequire(join(ROOT, 'tests', 'package.json'));
  const { chromium } = require('playwright-core');
  const profile = await mkdtemp(join(tmpdir(), 'mvb-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 860 },
    ...options,
  });
  const close = async () => {
    await context.close();
    await rm(profile, { recursive: true, force: true });
  };
  return { context, close };
}

// Collects console errors and uncaught exceptions of a page.
export function watchErrors(page) {
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('crash', () => errors.push('the page crashed'));
  return errors;
}

export async function screenshot(page, name, options = {}) {
  await mkdir(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true, animations: 'disabled', ...options });
}

// Waits until the results grid holds `count` finished cards; returns their contents.
export async function waitForResults(page, count, timeout = 120000) {
  await page.waitForFunction((n) => document.querySelectorAll('#results .result:not(.pending)').length >= n, count, { timeout });
  return page.$$eval('#results .result', (cards) => cards.map((c) => ({
    name: c.querySelector('.result-name').textContent,
    verdict: c.dataset.verdict,
    title: c.querySelector('.verdict-text').textContent,
    detail: c.querySelector('.detail').textContent,
    line: c.querySelector('.verdict-line').textContent,
    message: c.querySelector('.message').textContent,
    reasons: [...c.querySelectorAll('.reasons li')].map((li) => li.textContent),
    // "Beach 3%" per class, as a screen reader reads the disclosure's list.
    probabilities: [...c.querySelectorAll('.probabilities li')].map((li) => `${li.querySelector('.prob-name').textContent} ${li.querySelector('.prob-value').textContent}`),
  })));
}

// What `mvb explain` says of a photo ("where it looked for mountain: the upper left"), or null
// where the native CLI is not built; its picture goes to dir.
export function explainSentence(photo, dir) {
  const cli = join(ROOT, 'build', 'native', 'mvb');
  if (!existsSync(cli)) return null;
  const out = execFileSync(cli, ['explain', photo, '-o', join(dir, 'explain.png')], { encoding: 'utf8' });
  return out.match(/^.*: (where it looked for \w+: .+)$/m)[1];
}

export async function waitReady(page, timeout = 120000) {
  await page.waitForFunction(() => document.body.dataset.ready, null, { timeout });
  const state = await page.evaluate(() => document.body.dataset.ready);
  if (state !== 'true') throw new Error(`the classifier did not start: ${await page.textContent('#fatal')}`);
}
