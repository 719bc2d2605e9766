// web/mvb.js fetchImage: an image address is read whole only when it is small enough to be a
// photo, a silent server is given up on, and every refusal is a UrlError of its own kind.
// Node's fetch against a local server that misbehaves on purpose.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot } from './engines.mjs';

const { fetchImage, UrlError } = await import(pathToFileURL(join(repoRoot, 'web', 'mvb.js')).href);

const BODY = Buffer.alloc(5000, 7);
const routes = {
  '/100%.jpg': (req, res) => res.writeHead(200, { 'Content-Type': 'image/jpeg' }).end(BODY),
  '/declared.bin': (req, res) => res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': BODY.length }).end(BODY),
  '/chunked.bin': (req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
    for (let at = 0; at < BODY.length; at += 500) res.write(BODY.subarray(at, at + 500));
    res.end();
  },
  '/silent.jpg': () => {}, // never answers
  '/stops.jpg': (req, res) => {
    res.writeHead(200, { 'Content-Type': 'image/jpeg' });
    res.write(BODY.subarray(0, 100)); // and nothing more
  },
  '/breaks.jpg': (req, res) => {
    res.writeHead(200, { 'Content-Type': 'image/jpeg', 'Content-Length': BODY.length });
    res.write(BODY.subarray(0, 100), () => res.destroy());
  },
};
let server;
let base;
before(async () => {
  server = createServer((req, res) => (routes[req.url] || ((q, r) => r.writeHead(404).end()))(req, res));
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${server.address().port}`;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

async function refusal(path, options) {
  const started = Date.now();
  const error = await fetchImage(base + path, options).then(() => null, (e) => e);
  assert.ok(error instanceof UrlError, `${path}: ${error}`);
  return { error, ms: Date.now() - started };
}

test('a file name with a lone "%" is shown as it is, and its bytes arrive whole', async () => {
  const { bytes, name } = await fetchImage(`${base}/100%.jpg`);
  assert.equal(name, '100%.jpg');
  assert.deepEqual(Buffer.from(bytes), BODY);
});

test('an answer within maxBytes is read whole, counted or declared', async () => {
  for (const path of ['/declared.bin', '/chunked.bin']) {
    const { bytes } = await fetchImage(base + path, { maxBytes: BODY.length });
    assert.deepEqual(Buffer.from(bytes), BODY, path);
  }
});

test('an answer over maxBytes is refused as too-large, from Content-Length or by counting', async () => {
  let { error } = await refusal('/declared.bin', { maxBytes: 1000 });
  assert.equal(error.kind, 'too-large');
  assert.equal(error.bytes, BODY.length);
  assert.match(error.message, /sends 5 KB: more than the 1000 B any photo here can take/);
  ({ error } = await refusal('/chunked.bin', { maxBytes: 1000 }));
  assert.equal(error.kind, 'too-large');
  assert.ok(error.bytes > 1000, `stopped counting at ${error.bytes}`); // chunks may arrive merged
  assert.match(error.message, /or more: more than the 1000 B/);
});

test('a server that does not answer, or stops sending, is given up on after stallMs', async () => {
  for (const path of ['/silent.jpg', '/stops.jpg']) {
    const { error, ms } = await refusal(path, { stallMs: 300 });
    assert.equal(error.kind, 'stalled', path);
    assert.match(error.message, /sent nothing for 0 seconds/);
    assert.ok(ms >= 290 && ms < 5000, `${path}: gave up after ${ms} ms`);
  }
});

test('a connection that breaks halfway is a network error that says so', async () => {
  const { error } = await refusal('/breaks.jpg');
  assert.equal(error.kind, 'network');
  assert.match(error.message, /broke before the whole image arrived/);
});
