// static-server.mjs: the browser benchmarks' static server (Node): serves folders on
// 127.0.0.1 and counts the response bytes it sends.
import { createServer } from 'node:http';
import { readFileSync, statSync } from 'node:fs';
import { extname, join, normalize } from 'node:path';
import { TYPES } from '../tests/browser/helpers.mjs';


// Serves `mounts` ({'/': dir, '/model/': dir2}) on 127.0.0.1 with no compression (byte counts
// are file sizes). `isolate` adds the COOP/COEP headers that make the page crossOriginIsolated
// (what our service worker adds on static hosting from the second visit on).
export async function serve(mounts, { isolate = false } = {}) {
  const counter = { bytes: 0, requests: 0 };
  const prefixes = Object.keys(mounts).sort((a, b) => b.length - a.length);
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    const prefix = prefixes.find((p) => path.startsWith(p));
    const root = mounts[prefix];
    let file = normalize(join(root, path.slice(prefix.length)));
    if (!file.startsWith(root)) { res.writeHead(403).end(); return; }
    if (path.endsWith('/')) file = join(file, 'index.html');
    let body;
    let etag;
    try {
      body = readFileSync(file);
      const st = statSync(file);
      etag = `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
    } catch {
      res.writeHead(404).end();
      return;
    }
    // ETags as GitHub Pages sends them: the service worker's no-cache precache of files the
    // page already fetched is then answered 304, not sent again.
    const common = { ETag: etag, 'Cache-Control': 'max-age=600' };
    if (isolate) Object.assign(common, { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' });
    if (req.headers['if-none-match'] === etag) { res.writeHead(304, common).end(); return; }
    const headers = { ...common, 'Content-Type': TYPES[extname(file)] || 'application/octet-stream', 'Content-Length': body.length };
    res.writeHead(200, headers);
    if (req.method === 'HEAD') { res.end(); return; }
    counter.bytes += body.length;
    counter.requests += 1;
    res.end(body);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/`,
    counter,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
  };
}
