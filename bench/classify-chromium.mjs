#!/usr/bin/env node
// `mvb classify --json` with the site's engine in headless Chromium instead of the native CLI:
// the same arguments and the same JSON lines, so train/evaluate.py can measure what a browser
// computes (the wasm build Chromium chooses, relaxed SIMD, or the one named by --variant):
//
//   bench/classify-chromium.mjs classify [--model DIR] [--precision f32|int8] [--variant V] --json FILE...
//   /usr/bin/python3 train/evaluate.py --engine bench/classify-chromium.mjs --precision both
//
// The page runs web/engine.js from dist/ (./build.sh) and decodes each photo in the engine
// (stb_image, as `mvb classify` does). Needs /usr/bin/chromium and tests/node_modules.
import { createServer } from 'node:http';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DIST, launch, skipReason } from '../tests/browser/helpers.mjs';
import { serve } from './static-server.mjs';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    model: { type: 'string', default: 'weights' },
    precision: { type: 'string' },
    variant: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});
const [command, ...files] = positionals;
if (command !== 'classify' || !values.json || !files.length) {
  console.error('usage: bench/classify-chromium.mjs classify [--model DIR] [--precision f32|int8] [--variant V] --json FILE...');
  process.exit(2);
}
const skip = skipReason();
if (skip) {
  console.error(`classify-chromium: ${skip}`);
  process.exit(2);
}

// The photos, by index: /photo/0, /photo/1, ... (their paths stay out of the page).
const photos = createServer(async (req, res) => {
  const i = Number(new URL(req.url, 'http://x').pathname.split('/').pop());
  try {
    const body = await readFile(files[i]);
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Access-Control-Allow-Origin': '*' }).end(body);
  } catch (e) {
    res.writeHead(404, { 'Access-Control-Allow-Origin': '*' }).end(e.message);
  }
});
await new Promise((r) => photos.listen(0, '127.0.0.1', r));
const photoUrl = `http://127.0.0.1:${photos.address().port}/photo/`;

const blank = await mkdtemp(join(tmpdir(), 'mvb-classify-'));
await writeFile(join(blank, 'blank.html'), '<!doctype html><meta charset="utf-8"><title>classify</title>');
const site = await serve({ '/': DIST, '/model/': resolve(values.model), '/t/': blank });
const { context, close } = await launch();
try {
  const page = context.pages()[0] || await context.newPage();
  await page.goto(`${site.url}t/blank.html`);
  const results = await page.evaluate(async ({ count, photoUrl, precision, variant }) => {
    const { loadEngine } = await import('/engine.js');
    const { fetchModel } = await import('/model-fetch.js');
    const engine = await loadEngine({ variant, precision, wasmUrl: new URL('/wasm/', location.href).href });
    const { jsonText, shards } = await fetchModel('/model/model.json');
    engine.loadModel(jsonText, shards);
    const out = [];
    for (let i = 0; i < count; i++) {
      try {
        const res = await fetch(photoUrl + i);
        if (!res.ok) throw new Error(await res.text());
        const r = engine.classifyBytes(new Uint8Array(await res.arrayBuffer()));
        out.push({ verdict: r.verdict, confidence: r.confidence, score: r.score, probabilities: r.probabilities });
      } catch (e) {
        out.push({ error: e.message });
      }
    }
    return { variant: engine.variant, precision: engine.precision, out };
  }, { count: files.length, photoUrl, precision: values.precision, variant: values.variant });
  console.error(`classify-chromium: ${files.length} photo(s), ${results.variant} build, ${results.precision}`);
  results.out.forEach((r, i) => console.log(JSON.stringify({ file: files[i], ...r })));
} finally {
  await close();
  await site.close();
  photos.close();
  await rm(blank, { recursive: true, force: true });
}
