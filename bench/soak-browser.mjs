#!/usr/bin/env node
// A long visit, in headless Chromium: N uploads of one photo through the page's file input,
// one at a time, with "Clear all" every 50 uploads and without it, each in a fresh browser.
// Every 100 uploads (after a forced GC in the page and its workers) it reports the renderer
// process's RSS, the page's JS heap, the engine's wasm memory, the cards on the page, the
// previews drawn and the object URLs still alive. Nothing here asserts; the table goes into
// bench/RESULTS.md.
//
//   node bench/soak-browser.mjs [--uploads 1000] [--every 100] [--clear-every 50]
//                               [--settle 5000] [--photo FILE] [--modes clear,keep] [--no-write]
//
// Each row is measured twice: at once, and again after --settle ms with the page idle, since
// Chromium releases some memory on its own timers a few seconds after the page lets go of it
// (measured: 3 uploads, each cleared, +32 MiB at once, +15 MiB 5 s later).
//
// The default photo is a 1950 x 1300 JPEG made from examples/picos-de-europa.jpg.
// Needs dist/ (./build.sh), /usr/bin/chromium and tests/node_modules (npm ci).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CHROMIUM, CHROMIUM_ARGS, DIST, ROOT, launch, skipReason, startServer, waitReady } from '../tests/browser/helpers.mjs';
import { pageMemory, mib } from './browser-memory.mjs';
import { measuredOn, writeResultsSection } from './results-file.mjs';

const HEADING = '## Memory over a long visit (bench/soak-browser.mjs)';

const { values: args } = parseArgs({
  options: {
    uploads: { type: 'string', default: '1000' },
    every: { type: 'string', default: '100' },
    'clear-every': { type: 'string', default: '50' },
    photo: { type: 'string' },
    modes: { type: 'string', default: 'clear,keep' },
    settle: { type: 'string', default: '5000' },
    'no-write': { type: 'boolean', default: false },
  },
});
const SETTLE = Number(args.settle);
const UPLOADS = Number(args.uploads);
const EVERY = Number(args.every);
const CLEAR_EVERY = Number(args['clear-every']);
const MODES = args.modes.split(',');
const MiB = 1048576;

// Counts the page's live object URLs (created and not yet revoked).
function countObjectUrls() {
  const live = new Set();
  const create = URL.createObjectURL.bind(URL);
  const revoke = URL.revokeObjectURL.bind(URL);
  URL.createObjectURL = (o) => { const u = create(o); live.add(u); return u; };
  URL.revokeObjectURL = (u) => { live.delete(u); revoke(u); };
  Object.defineProperty(window, '__liveObjectUrls', { get: () => live.size });
}

function makePhoto(dir) {
  const file = join(dir, 'photo-1950x1300.jpg');
  execFileSync('/usr/bin/python3', ['-c', [
    'import sys; from PIL import Image',
    'Image.open(sys.argv[1]).convert("RGB").resize((1950, 1300), Image.LANCZOS).save(sys.argv[2], quality=90)',
  ].join('\n'), join(DIST, 'examples', 'picos-de-europa.jpg'), file]);
  return file;
}

async function measure(page, uploads) {
  const urls = await page.evaluate(() => window.__liveObjectUrls);
  const row = { uploads, urls, ...(await pageMemory(page, '#results .result')) };
  if (SETTLE > 0) {
    await page.waitForTimeout(SETTLE);
    const idle = await pageMemory(page, '#results .result');
    row.idle = { rss: idle.rss, anon: idle.anon };
  }
  return row;
}

async function soak(site, photo, clear) {
  const { context, close } = await launch({ args: [...CHROMIUM_ARGS, '--js-flags=--expose-gc'] });
  const rows = [];
  try {
    await context.addInitScript(countObjectUrls);
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(site.url);
    await waitReady(page);
    rows.push(await measure(page, 0));
    const t0 = Date.now();
    for (let i = 1; i <= UPLOADS; i++) {
      // The page shows a page of cards (card-pages.js): wait for a new first card, classified.
      await page.evaluate(() => { window.__lastFirst = document.querySelector('#results .result'); });
      await page.setInputFiles('#file', photo);
      await page.waitForFunction(() => {
        const first = document.querySelector('#results .result');
        return first && first !== window.__lastFirst && !first.classList.contains('pending');
      }, null, { timeout: 60000 });
      if (i === 1) {
        const verdict = await page.$eval('#results .result', (li) => li.dataset.verdict);
        if (verdict === 'error') throw new Error(`the page could not classify the photo: ${await page.textContent('#results .message')}`);
      }
      if (clear && i % CLEAR_EVERY === 0) await page.click('#clear');
      if (i % EVERY === 0) {
        rows.push(await measure(page, i));
        const r = rows[rows.length - 1];
        console.log(`${clear ? 'clear' : 'keep '} ${i}: renderer ${(r.rss / MiB).toFixed(0)} MiB (anonymous ${(r.anon / MiB).toFixed(0)}), ${r.cards} cards, ${r.urls} object URLs (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
      }
    }
    if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
  } finally {
    await close();
  }
  return rows;
}

// A row's change from the first row, in whole MiB with its sign ('-' for the first row).
function change(r, first, key) {
  if (!r.uploads) return '-';
  const d = (r[key] - first[key]) / MiB;
  return `${d >= 0 ? '+' : ''}${d.toFixed(0)}`;
}

function table(rows) {
  const idle = SETTLE > 0 ? ` after ${SETTLE / 1000} s idle` : '';
  const lines = [
    `| uploads | cards on the page | previews drawn | renderer RSS (MiB) | vs. before (MiB) | of it anonymous (MiB) | anonymous vs. before (MiB) | page JS heap (MiB) | engine wasm memory (MiB) | live object URLs |${idle ? ` renderer RSS${idle} (MiB) | vs. before${idle} (MiB) | anonymous${idle} vs. before (MiB) |` : ''}`,
    `|---|---|---|---|---|---|---|---|---|---|${idle ? '---|---|---|' : ''}`,
  ];
  for (const r of rows) {
    const settled = { ...r.idle, uploads: r.uploads };
    const later = idle ? ` ${mib(settled.rss)} | ${change(settled, rows[0].idle, 'rss')} | ${change(settled, rows[0].idle, 'anon')} |` : '';
    lines.push(`| ${r.uploads} | ${r.cards} | ${r.drawn} | ${mib(r.rss)} | ${change(r, rows[0], 'rss')} | ${mib(r.anon)} | ${change(r, rows[0], 'anon')} | ${mib(r.heap)} | ${mib(r.worker?.wasm)} | ${r.urls ?? '-'} |${later}`);
  }
  return lines.join('\n');
}

async function main() {
  const skip = skipReason();
  if (skip) { console.error(`soak-browser: ${skip}`); process.exit(2); }
  const tmp = mkdtempSync(join(os.tmpdir(), 'mvb-soak-'));
  const site = await startServer(DIST);
  try {
    const photo = args.photo || makePhoto(tmp);
    const results = {};
    for (const mode of MODES) results[mode] = await soak(site, photo, mode === 'clear');
    const on = measuredOn(ROOT, CHROMIUM);
    const text = [
      HEADING, '',
      `Measured ${new Date().toISOString()} by \`node bench/soak-browser.mjs --uploads ${UPLOADS}\` at commit ${on.commit}: ${UPLOADS} uploads of a ${(statSync(photo).size / 1024).toFixed(0)} KB 1950 x 1300 JPEG, one at a time through the file input, in ${on.browser}, headless, ${on.machine}.`,
      '',
      `Each row is taken after a forced GC (\`--js-flags=--expose-gc\`) in the page and in its workers. The renderer process holds the page, the engine's worker and its wasm memory (Chromium runs dedicated workers in the page's renderer); its RSS is from /proc, and "anonymous" is the part of it that is not mapped files (code pages of Chromium's libraries) or shared memory: RssAnon in /proc/PID/status. "Previews drawn" counts cards whose canvas holds its preview's pixels (those on or near the screen); the wasm memory comes from the classifier's \`memory()\`; live object URLs are counted by wrapping \`URL.createObjectURL\`/\`revokeObjectURL\`.`,
      '',
    ];
    if (results.clear) text.push(`With "Clear all" every ${CLEAR_EVERY} uploads (each row right after a clear):`, '', table(results.clear), '');
    if (results.keep) text.push('Without "Clear all" (every card stays on the page):', '', table(results.keep), '');
    console.log(text.join('\n'));
    if (!args['no-write']) writeResultsSection(ROOT, HEADING, text.join('\n'));
  } finally {
    await site.close();
    rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
