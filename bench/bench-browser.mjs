#!/usr/bin/env node
// What a visitor feels, in headless Chromium: our site (dist/, the page itself) against the
// original system's approach (TensorFlow.js 4.22, wasm backend, SIMD, one thread, with the
// original InceptionV3 graph model and the conformance kit's seed weights), measured in the
// same run, interleaved, each repetition in a fresh browser profile (nothing cached).
// Reports medians and ratios; nothing here asserts a time.
//
//   node bench/bench-browser.mjs [--rounds 3] [--predictions 20] [--photo picos-de-europa.jpg] [--no-write]
//
// Needs dist/ (./build.sh), /usr/bin/chromium and tests/node_modules (npm ci). The original's
// side needs ../shared/conformance/seed-inception-v3 beside the checkout; without it only our
// site is measured.
import { execSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { CHROMIUM, DIST, ROOT, launch, skipReason } from '../tests/browser/helpers.mjs';
import { ensureSeedModel, kitSkipReason } from '../tests/node/seed-model.mjs';
import { writeResultsSection } from './results-file.mjs';
import { browserMemory } from './browser-memory.mjs';
import { serve } from './static-server.mjs';
import { median, option } from './stats.mjs';

const HEADING = '## In the browser (bench/bench-browser.mjs)';

const args = process.argv.slice(2);
const opt = (name, dflt) => option(args, name, dflt);
const ROUNDS = Number(opt('--rounds', 3));
const PREDICTIONS = Number(opt('--predictions', 20));
const PHOTO = opt('--photo', 'picos-de-europa.jpg');
const TIMEOUT = 180000;

const MiB = 1048576;

// ---- One cold run ------------------------------------------------------------------------------

// Marks when <body data-ready> appears (both pages set it when the model is ready), in ms
// since navigation started.
function markReady() {
  new MutationObserver((_, obs) => {
    if (document.body && document.body.dataset.ready) {
      window.__mvbReadyAt = performance.now();
      obs.disconnect();
    }
  }).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-ready'] });
}

// In our page: classify the photo the way a visitor's upload goes (file input -> result
// card), timed from the change event to the finished card; the card's detail line carries
// the engine's own time in the worker.
function oursPredict() {
  return new Promise((resolve) => {
    const results = document.getElementById('results');
    const input = document.getElementById('file');
    const dt = new DataTransfer();
    dt.items.add(new File([window.__mvbPhoto], 'photo.jpg', { type: 'image/jpeg' }));
    const before = results.children.length;
    let t0 = 0;
    const obs = new MutationObserver(() => {
      const li = results.firstElementChild;
      if (results.children.length > before && !li.classList.contains('pending')) {
        obs.disconnect();
        const ms = performance.now() - t0;
        const engineMs = Number((li.querySelector('.detail').textContent.match(/(\d+) ms/) || [])[1]);
        resolve({ ms, engineMs, verdict: li.dataset.verdict });
      }
    });
    obs.observe(results, { subtree: true, childList: true, attributes: true });
    input.files = dt.files;
    t0 = performance.now();
    input.dispatchEvent(new Event('change'));
  });
}

async function waitReady(page, errorOf) {
  await page.waitForFunction(() => document.body && document.body.dataset.ready, null, { timeout: TIMEOUT });
  if (await page.evaluate(() => document.body.dataset.ready) !== 'true') throw new Error(`the page did not become ready: ${await errorOf()}`);
  return page.evaluate(() => window.__mvbReadyAt);
}

async function coldRun(kind, site) {
  const server = await serve(site.mounts, { isolate: kind === 'ours-threads' });
  const { context, close } = await launch();
  try {
    const page = context.pages()[0] || await context.newPage();
    await page.addInitScript(markReady);
    const cdp = await context.newCDPSession(page);
    await cdp.send('Performance.enable');
    await page.goto(server.url + site.page, { timeout: TIMEOUT });
    const r = { kind };
    const ours = kind !== 'original';
    r.readyMs = await waitReady(page, () => page.evaluate(() => (window.__mvbBench && window.__mvbBench.error) || document.getElementById('fatal')?.textContent));
    r.bytesReady = server.counter.bytes;
    r.requestsReady = server.counter.requests;
    r.rendererRssReady = browserMemory().rendererRss;
    let predict;
    if (ours) {
      r.engine = await page.evaluate(() => `${document.getElementById('engine-badge').textContent}; crossOriginIsolated=${crossOriginIsolated}`);
      await page.evaluate(async (photo) => { window.__mvbPhoto = await (await fetch(`examples/${photo}`)).arrayBuffer(); }, PHOTO);
      // Clearing the cards (untimed) keeps 20 decoded previews from counting as engine memory.
      predict = async () => {
        const p = await page.evaluate(oursPredict);
        if (p.verdict === 'error') throw new Error(`the page could not classify ${PHOTO}: ${await page.textContent('#results .message')}`);
        await page.evaluate(() => document.getElementById('clear').click());
        return p;
      };
    } else {
      r.engine = await page.evaluate(() => `tfjs ${tf.version.tfjs} ${tf.getBackend()}; simd=${__mvbBench.features.simd} threads=${__mvbBench.features.threads}`);
      predict = () => page.evaluate(() => __mvbBench.predict());
    }
    // The first prediction right after the page says ready, as an eager visitor would.
    const first = await predict();
    r.firstMs = first.ms;
    r.firstEngineMs = first.engineMs;
    if (ours) {
      // Let the service worker's first-visit precache finish so it does not run under the timed loop.
      await page.waitForFunction(() => !document.getElementById('offline-badge').hidden, null, { timeout: 60000 }).catch(() => {});
    }
    const times = [];
    const engineTimes = [];
    for (let i = 0; i < PREDICTIONS; i++) {
      const p = await predict();
      times.push(p.ms);
      engineTimes.push(p.engineMs);
    }
    r.medianMs = median(times);
    r.engineMedianMs = median(engineTimes);
    r.bytesTotal = server.counter.bytes;
    await cdp.send('HeapProfiler.collectGarbage');
    const { metrics } = await cdp.send('Performance.getMetrics');
    r.jsHeap = metrics.find((m) => m.name === 'JSHeapUsedSize')?.value;
    Object.assign(r, browserMemory());
    return r;
  } finally {
    await close();
    await server.close();
  }
}

// An idle renderer for scale: a blank page in a fresh profile.
async function idleRenderer() {
  const { context, close } = await launch();
  try {
    const page = context.pages()[0] || await context.newPage();
    await page.goto('data:text/html,<p>blank</p>');
    return browserMemory();
  } finally {
    await close();
  }
}

// ---- The original's page: tfjs bundles and the seed model in a temp folder -------------

function originalSite(tmp) {
  const modules = join(ROOT, 'tests', 'node_modules', '@tensorflow');
  const dir = join(tmp, 'original');
  mkdirSync(dir);
  copyFileSync(join(modules, 'tfjs', 'dist', 'tf.min.js'), join(dir, 'tf.min.js'));
  for (const f of ['tf-backend-wasm.min.js', 'tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm']) {
    copyFileSync(join(modules, 'tfjs-backend-wasm', 'dist', f), join(dir, f));
  }
  copyFileSync(join(ROOT, 'bench', 'bench-browser-page.mjs'), join(dir, 'page.mjs'));
  copyFileSync(join(DIST, 'examples', PHOTO), join(dir, 'photo.jpg'));
  writeFileSync(join(dir, 'index.html'), `<!doctype html><meta charset="utf-8"><title>the original approach</title>
<script src="tf.min.js"></script><script src="tf-backend-wasm.min.js"></script><script type="module" src="page.mjs"></script>
<p>TensorFlow.js, wasm backend, the original graph model</p>`);
  const tfjsVersion = JSON.parse(readFileSync(join(modules, 'tfjs', 'package.json'), 'utf8')).version;
  return { mounts: { '/': dir, '/model/': ensureSeedModel() }, page: '', tfjsVersion };
}

// ---- Report -------------------------------------------------------------------------------------

const METRICS = [
  ['readyMs', 'navigation -> model ready', 'ms'],
  ['firstMs', 'first prediction', 'ms'],
  ['medianMs', `median of ${PREDICTIONS} predictions`, 'ms'],
  ['engineMedianMs', '  of which in the engine (worker)', 'ms'],
  ['bytesReady', 'bytes until model ready', 'MB'],
  ['bytesTotal', 'bytes in total (incl. photo; ours: service-worker precache)', 'MB'],
  ['rendererRssReady', 'renderer RSS at model ready', 'MiB'],
  ['rendererRss', 'renderer RSS after the predictions', 'MiB'],
  ['rendererPeak', 'renderer peak RSS', 'MiB'],
  ['jsHeap', 'page JS heap used (after GC)', 'MiB'],
  ['browserPss', 'all Chromium processes (PSS)', 'MiB'],
];
const fmt = (v, unit) => {
  if (!Number.isFinite(v)) return '-';
  if (unit === 'MB') return (v / 1e6).toFixed(2);
  if (unit === 'MiB') return (v / MiB).toFixed(0);
  return v.toFixed(0);
};

function table(kinds, runs) {
  const label = { 'ours-simd': 'ours, SIMD', 'ours-threads': 'ours, SIMD + threads', original: 'original: tfjs wasm SIMD' };
  const med = Object.fromEntries(kinds.map((k) => [k, Object.fromEntries(METRICS.map(([key]) => [key, median(runs[k].map((r) => r[key]))]))]));
  const ratioKinds = kinds.includes('original') ? kinds.filter((k) => k !== 'original') : [];
  const head = ['metric', ...kinds.map((k) => label[k]), ...ratioKinds.map((k) => `${label[k]} / original`)];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const [key, name, unit] of METRICS) {
    const cells = kinds.map((k) => fmt(med[k][key], unit));
    const ratios = ratioKinds.map((k) => {
      const q = med[k][key] / med.original[key];
      return Number.isFinite(q) ? q.toFixed(3) : '-';
    });
    lines.push(`| ${name} (${unit}) | ${[...cells, ...ratios].join(' | ')} |`);
  }
  return lines.join('\n');
}

function perRun(kinds, runs) {
  const short = { readyMs: 'ready', firstMs: 'first', medianMs: 'median', rendererPeak: 'peak MiB' };
  return kinds.map((k) => `- ${k}: ${Object.entries(short).map(([key, n]) => `${n} ${runs[k].map((r) => fmt(r[key], key === 'rendererPeak' ? 'MiB' : 'ms')).join('/')}`).join('; ')}`).join('\n');
}

// Replaces our section of bench/RESULTS.md (up to the next "## " heading), or appends it.
async function main() {
  const skip = skipReason();
  if (skip) {
    console.error(`bench-browser: ${skip}`);
    process.exit(2);
  }
  const tmp = mkdtempSync(join(os.tmpdir(), 'mvb-bench-browser-'));
  try {
    // A snapshot of dist/, so a rebuild during the run cannot mix two versions.
    const distCopy = join(tmp, 'dist');
    cpSync(DIST, distCopy, { recursive: true });
    const ourSite = { mounts: { '/': distCopy }, page: '' };
    const kinds = ['ours-simd', 'ours-threads'];
    const sites = { 'ours-simd': ourSite, 'ours-threads': ourSite };
    const kitSkip = kitSkipReason();
    if (kitSkip) {
      console.log(`bench-browser: the comparison with the original is skipped: ${kitSkip}`);
    } else {
      sites.original = originalSite(tmp);
      kinds.push('original');
    }
    const loadBefore = os.loadavg();
    const runs = Object.fromEntries(kinds.map((k) => [k, []]));
    const engines = {};
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate the order so a slow spell of the machine does not always hit one side.
      for (const kind of round % 2 ? [...kinds].reverse() : kinds) {
        const r = await coldRun(kind, sites[kind]);
        runs[kind].push(r);
        engines[kind] = r.engine;
        console.log(`round ${round + 1} ${kind}: ready ${r.readyMs.toFixed(0)} ms, first ${r.firstMs.toFixed(0)} ms, median ${r.medianMs.toFixed(1)} ms, ${(r.bytesReady / 1e6).toFixed(2)} MB, renderer ${(r.rendererRss / MiB).toFixed(0)} MiB (peak ${(r.rendererPeak / MiB).toFixed(0)}) [${r.engine}]`);
      }
    }
    const loadAfter = os.loadavg();
    const idle = await idleRenderer();
    let commit = 'unknown';
    try {
      commit = execSync('git rev-parse --short HEAD', { cwd: ROOT, encoding: 'utf8' }).trim();
    } catch {}
    const chromium = (() => {
      try { return execSync(`${CHROMIUM} --version`, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim(); } catch { return 'chromium'; }
    })();
    const cpu = os.cpus();
    const report = [
      HEADING,
      '',
      `Measured ${new Date().toISOString()} by \`node bench/bench-browser.mjs\` at commit ${commit}, ${ROUNDS} round${ROUNDS === 1 ? '' : 's'}. ` +
        `Machine: ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores; ${chromium}, headless; load average before ${loadBefore.map((x) => x.toFixed(2)).join(' ')}, after ${loadAfter.map((x) => x.toFixed(2)).join(' ')}.`,
      '',
      `Each run is a cold first visit: a fresh Chromium profile, the page served from 127.0.0.1 by a Node static server (uncompressed, with ETags like GitHub Pages; bytes are the response bodies it sent). Runs are interleaved (${kinds.join(', ')}, reversed every other round); the table holds the medians over the rounds.`,
      `- ours: the site in \`dist/\` with its own model (\`weights/\`); the simd run is served without COOP/COEP headers (like GitHub Pages on a first visit), the threads run with them (crossOriginIsolated, threaded engine). Predictions go through the page like an upload: a File of \`examples/${PHOTO}\` set on the file input, timed from the change event to the finished result card (decode, resize and inference in the worker, plus the page's own work; the cards are cleared between predictions, untimed); "in the engine" is the worker's time shown on the card. The service worker's first-visit precache is left to finish before the ${PREDICTIONS} timed predictions.`,
      sites.original
        ? `- original: TensorFlow.js ${sites.original.tfjsVersion} (\`tf.min.js\` + \`tf-backend-wasm.min.js\` and its .wasm files, served locally), wasm backend, the original graph model (InceptionV3 to mixed7, 200x200 input, ../shared/conformance/seed-inception-v3 with the seed-1234 \`centered\` shards). A prediction: \`fromPixels\` of the same photo (already decoded), resized to 200x200, \`predict\`, \`data()\`.`
        : '- original: not measured (../shared/conformance/seed-inception-v3 is absent).',
      `- Engines as the pages reported them: ${kinds.map((k) => `${k}: ${engines[k]}`).join('; ')}.`,
      '',
      table(kinds, runs),
      '',
      `Ratios below 1 mean ours is faster or smaller. Memory: the renderer process holds the page, its workers and their wasm memory; "peak" is its high-water mark (VmHWM), which catches load-time spikes (for scale: a blank page's renderer here ${(idle.rendererRss / MiB).toFixed(0)} MiB RSS, all processes ${(idle.browserPss / MiB).toFixed(0)} MiB PSS); the JS heap is the page's own (our engine lives in a worker, and wasm memory is not JS heap). The two models differ (ours is the project's own small network, the original is InceptionV3): this compares what a visitor gets, not the two engines on one model (for that, see bench-vs-tfjs above).`,
      '',
      'Per run (ms unless noted):',
      perRun(kinds, runs),
      '',
    ].join('\n');
    console.log(`\n${report}`);
    if (!args.includes('--no-write')) {
      writeResultsSection(ROOT, HEADING, report);
      console.log('written to bench/RESULTS.md');
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
