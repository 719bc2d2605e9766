// web/model-fetch.js: a gzipped shard (as the site's build stores them) is inflated on the
// way in, its compressed bytes counted as progress; a browser that cannot inflate it is
// told which browsers can, instead of failing on an undefined name.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { repoRoot } from './engines.mjs';

const { fetchModel } = await import(pathToFileURL(join(repoRoot, 'web', 'model-fetch.js')).href);
const { Status, BROWSERS_NEEDED } = await import(pathToFileURL(join(repoRoot, 'web', 'meta.js')).href);

const SHARD = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7) % 251));
const GZ = gzipSync(SHARD);
const MODEL = JSON.stringify({ weightsManifest: [{ paths: ['group1-shard1of1.bin.gz'], weights: [] }] });
let server;
let base;
before(async () => {
  server = createServer((req, res) => {
    if (req.url === '/model.json') res.writeHead(200, { 'Content-Type': 'application/json' }).end(MODEL);
    else if (req.url === '/group1-shard1of1.bin.gz') res.writeHead(200, { 'Content-Length': GZ.length }).end(GZ);
    else res.writeHead(404).end();
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${server.address().port}`;
});
after(() => server.close());

test('a .gz shard arrives inflated, with its compressed bytes as the progress total', async () => {
  const seen = [];
  const { shards, bytes, jsonText } = await fetchModel(`${base}/model.json`, (done, total) => seen.push([done, total]));
  assert.equal(jsonText, MODEL);
  assert.deepEqual(Buffer.from(shards[0]), SHARD);
  assert.equal(bytes, GZ.length);
  assert.deepEqual(seen.at(-1), [GZ.length, GZ.length]);
});

test('without DecompressionStream a .gz shard is refused as unsupported, naming the browsers that work', async () => {
  const saved = globalThis.DecompressionStream;
  delete globalThis.DecompressionStream;
  try {
    await assert.rejects(fetchModel(`${base}/model.json`), (e) => {
      assert.equal(e.status, Status.UNSUPPORTED);
      assert.match(e.message, /no DecompressionStream/);
      assert.ok(e.message.includes(BROWSERS_NEEDED), e.message);
      return true;
    });
  } finally {
    globalThis.DecompressionStream = saved;
  }
});
