#!/usr/bin/env node
// A whole folder at once, in headless Chromium: one folder of N photos chosen through the
// page's "Choose a folder" input (web/batch.js), classified in one batch. Every 100 photos
// (after a forced GC in the page and its worker, while the batch goes on) it reports the
// renderer process's RSS (the page and the engine's worker: Chromium runs dedicated workers
// in the page's renderer), the page's JS heap, the engine's wasm memory, the proportional
// share of every Chromium process together (the browser process holds Blob data, such as
// the results' previews), the cards on the page and the previews drawn. Nothing here
// asserts; the table goes into bench/RESULTS.md.
//
//   node bench/batch-memory.mjs [--photos 1000] [--every 100] [--distinct 20] [--no-write]
//
// The folder: `distinct` JPEGs of 1950 x 1300 made from the example photos (crops, mirror
// images), hard-linked under N names in subfolders of 100.
// Needs dist/ (./build.sh), /usr/bin/chromium, python3 with PIL and tests/node_modules (npm ci).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, linkSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CHROMIUM, CHROMIUM_ARGS, DIST, ROOT, launch, skipReason, startServer, waitReady } from '../tests/browser/helpers.mjs';
import { pageMemory, mib } from './browser-memory.mjs';
import { measuredOn, writeResultsSection } from './results-file.mjs';

const HEADING = '## Memory over a folder of 1,000 photos (bench/batch-memory.mjs)';

const { values: args } = parseArgs({
  options: {
    photos: { type: 'string', default: '1000' },
    every: { type: 'string', default: '100' },
    distinct: { type: 'string', default: '20' },
    'no-write': { type: 'boolean', default: false },
  },
});
const PHOTOS = Number(args.photos);
const EVERY = Number(args.every);
const DISTINCT = Number(args.distinct);
const MiB = 1048576;

// `distinct` different 1950 x 1300 JPEGs from the examples, then PHOTOS hard links to them.
function makeFolder(dir) {
  const made = join(dir, 'made');
  mkdirSync(made);
  execFileSync('/usr/bin/python3', ['-c', [
    'import sys, os; from PIL import Image, ImageOps',
    'src, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])',
    'names = sorted(f for f in os.listdir(src) if f.endswith(".jpg"))',
    'for i in range(n):',
    '    im = Image.open(os.path.join(src, names[i % len(names)])).convert("RGB")',
    '    w, h = im.size; k = (i // len(names)) % 4',
    '    im = im.crop((k * w // 16, k * h // 16, w - k * w // 16, h - k * h // 16))',
    '    if (i // len(names)) % 2: im = ImageOps.mirror(im)',
    '    im.resize((1950, 1300), Image.LANCZOS).save(os.path.join(out, f"{i:03d}.jpg"), quality=90)',
  ].join('\n'), join(DIST, 'examples'), made, String(DISTINCT)]);
  const sources = readdirSync(made).sort().map((f) => join(made, f));
  const folder = join(dir, 'holiday');
  for (let i = 0; i < PHOTOS; i++) {
    const sub = join(folder, `day ${String(Math.floor(i / 100) + 1).padStart(2, '0')}`);
    if (i % 100 === 0) mkdirSync(sub, { recursive: true });
    linkSync(sources[i % sources.length], join(sub, `IMG_${String(i + 1).padStart(4, '0')}.jpg`));
  }
  const bytes = sources.reduce((sum, f) => sum + statSync(f).size, 0) / sources.length;
  return { folder, meanBytes: bytes };
}

async function measure(page) {
  const photos = await page.$eval('#batch-bar', (bar) => bar.value);
  return { photos, ...(await pageMemory(page, '.result')) };
}

async function run(site, folder) {
  const { context, close } = await launch({ args: [...CHROMIUM_ARGS, '--js-flags=--expose-gc'] });
  const rows = [];
  let seconds;
  let progress;
  try {
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(site.url);
    await waitReady(page);
    rows.push(await measure(page));
    const t0 = Date.now();
    await page.setInputFiles('#folder', folder);
    for (let k = EVERY; k <= PHOTOS; k += EVERY) {
      await page.waitForFunction((n) => document.getElementById('batch-bar').value >= n, k, { timeout: 0, polling: 200 });
      const r = await measure(page);
      rows.push(r);
      console.log(`${r.photos} photos: renderer ${(r.rss / MiB).toFixed(0)} MiB, ${r.cards} cards, ${r.drawn} drawn (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
    }
    await page.waitForFunction(() => document.getElementById('batch').dataset.state === 'done', null, { timeout: 0 });
    seconds = (Date.now() - t0) / 1000;
    progress = await page.textContent('#batch-progress');
    const failed = await page.$eval('#batch-filter option[value="error"]', (o) => o.textContent);
    if (!/\(0\)$/.test(failed)) throw new Error(`some photos failed: ${failed}`);
    rows.push({ ...(await measure(page)), final: true });
    if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
  } finally {
    await close();
  }
  return { rows, seconds, progress };
}

function table(rows) {
  const base = rows[0].rss;
  const lines = [
    '| photos classified | cards on the page | previews drawn | renderer RSS (MiB) | vs. before (MiB) | renderer peak (MiB) | page JS heap (MiB) | engine wasm memory (MiB) | all Chromium processes, PSS (MiB) |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const d = (r.rss - base) / MiB;
    lines.push(`| ${r.photos}${r.final ? ' (done)' : ''} | ${r.cards} | ${r.drawn} | ${mib(r.rss)} | ${r.photos ? `${d >= 0 ? '+' : ''}${d.toFixed(0)}` : '-'} | ${mib(r.peak)} | ${mib(r.heap)} | ${mib(r.worker?.wasm)} | ${mib(r.pss)} |`);
  }
  return lines.join('\n');
}

async function main() {
  const skip = skipReason();
  if (skip) { console.error(`batch-memory: ${skip}`); process.exit(2); }
  const tmp = mkdtempSync(join(os.tmpdir(), 'mvb-batch-memory-'));
  const site = await startServer(DIST);
  try {
    const { folder, meanBytes } = makeFolder(tmp);
    const { rows, seconds, progress } = await run(site, folder);
    const on = measuredOn(ROOT, CHROMIUM);
    const text = [
      HEADING, '',
      `Measured ${new Date().toISOString()} by \`node bench/batch-memory.mjs --photos ${PHOTOS}\` at commit ${on.commit}: one folder of ${PHOTOS} JPEGs of 1950 x 1300 (${DISTINCT} different ones of ${(meanBytes / 1024).toFixed(0)} KB on average, hard-linked under ${PHOTOS} names in folders of 100) chosen through "Choose a folder" and classified in one batch in ${seconds.toFixed(0)} s ("${progress}"), in ${on.browser}, headless, ${on.machine}.`,
      '',
      'Each row is taken while the batch goes on (the first before it starts, the last after it ends), after a forced GC (`--js-flags=--expose-gc`) in the page and in its worker. The renderer process holds the page, the engine\'s worker and its wasm memory (Chromium runs dedicated workers in the page\'s renderer, so the worker has no RSS of its own: its share is the wasm memory and its decoders); RSS and peak RSS (VmHWM) are from /proc; the peak goes down between some rows, so it is reset meanwhile (Chromium can reset it): read it as the highest RSS in about the last 100 photos. "Previews drawn" counts cards whose canvas holds its preview\'s pixels (those on or near the screen); the last column is the proportional set size of every Chromium process together, including the browser process, which holds Blob data such as the results\' small previews.',
      '',
      table(rows),
      '',
    ];
    console.log(text.join('\n'));
    if (!args['no-write']) writeResultsSection(ROOT, HEADING, text.join('\n'));
  } finally {
    await site.close();
    rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
