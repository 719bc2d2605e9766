#!/usr/bin/env node
// The same graph in both engines, in headless Chromium: the original system's graph
// (InceptionV3 to mixed7 + dense head, 200x200x3, the conformance kit's seed-1234 `centered`
// weights) run by this engine (web/engine.js from dist/, f32 and int8) and by TensorFlow.js
// 4.22's wasm backend, at 1 thread and at 2, on the kit's `rand01` input tensor. Each run is a
// fresh browser profile (a cold load); runs are interleaved and the order reversed every
// other round. Reports medians and ratios; nothing here asserts a time.
//
//   node bench/bench-browser-graph.mjs [--rounds 3] [--predictions 20] [--kinds a,b,...] [--no-write]
//
// --kinds runs some of KINDS only (e.g. mvb-int8-1,tfjs-1): per-run lines, no table.
//
// 1-thread runs are served as GitHub Pages serves a first visit (not crossOriginIsolated:
// tfjs picks its single-threaded SIMD binary, this engine its relaxed build, and for int8
// also its simd build); 2-thread runs with COOP/COEP (this engine's relaxed-threads and
// simd-threads builds with 2 threads; tfjs's threaded SIMD binary with setThreadsCount(2)
// and navigator.hardwareConcurrency reported as 4). Chromium runs without Playwright, over a
// DevTools pipe that enables no Network domain (bench/cdp-pipe.mjs says why). Needs dist/
// (./build.sh), ../shared/conformance/seed-inception-v3, /usr/bin/chromium and
// tests/node_modules (npm ci).
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { CHROMIUM, DIST, ROOT, skipReason } from '../tests/browser/helpers.mjs';
import { launchPipe } from './cdp-pipe.mjs';
import { ensureSeedModel, inputPath, kitSkipReason } from '../tests/node/seed-model.mjs';
import { browserMemory } from './browser-memory.mjs';
import { measuredOn, writeResultsSection } from './results-file.mjs';
import { serve } from './static-server.mjs';
import { median, option } from './stats.mjs';

const HEADING_GRAPH = '## In the browser, the same graph (bench/bench-browser-graph.mjs): this engine vs TensorFlow.js wasm';
const args = process.argv.slice(2);
const opt = (name, dflt) => option(args, name, dflt);
const ROUNDS = Number(opt('--rounds', 3));
// --model DIR: another graph model (e.g. weights/), on a seeded random input of its shape.
const MODEL = opt('--model', null);
const HEADING = MODEL ? `${HEADING_GRAPH}, on ${MODEL.replace(/\/$/, '')}` : HEADING_GRAPH;
const PREDICTIONS = Number(opt('--predictions', 20));
const TIMEOUT = 300000;
const MiB = 1048576;

// This engine runs the build it would choose in Chromium (relaxed SIMD), and also the plain
// SIMD build, the one browsers without relaxed SIMD get, in f32 and in int8.
const KINDS = {};
for (const threads of [1, 2]) {
  const t = threads === 1 ? '1 thread' : `${threads} threads`;
  for (const precision of ['f32', 'int8']) {
    KINDS[`mvb-${precision}-${threads}`] = { engine: 'mvb', precision, threads, label: `this engine, ${precision}, ${t}` };
    KINDS[`mvb-${precision}-simd-${threads}`] = { engine: 'mvb', precision, build: 'simd', threads, label: `this engine, ${precision}, simd build, ${t}` };
  }
  KINDS[`tfjs-${threads}`] = { engine: 'tfjs', threads, label: `tfjs-wasm, ${t}` };
}


// A snapshot of dist/ (engine.js and the wasm builds) plus a bench/ folder with the two
// pages, tfjs's files, the input tensor and the model.
function makeSite(tmp) {
  const root = join(tmp, 'site');
  cpSync(DIST, root, { recursive: true });
  const dir = join(root, 'bench');
  mkdirSync(dir);
  const modules = join(ROOT, 'tests', 'node_modules', '@tensorflow');
  copyFileSync(join(modules, 'tfjs', 'dist', 'tf.min.js'), join(dir, 'tf.min.js'));
  for (const f of ['tf-backend-wasm.min.js', 'tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm']) {
    copyFileSync(join(modules, 'tfjs-backend-wasm', 'dist', f), join(dir, f));
  }
  copyFileSync(join(ROOT, 'bench', 'graph-page.mjs'), join(dir, 'graph-page.mjs'));
  if (MODEL) writeFileSync(join(dir, 'input.f32'), randomInput(join(MODEL, 'model.json')));
  else copyFileSync(inputPath('rand01'), join(dir, 'input.f32'));
  const page = (scripts) => `<!doctype html><meta charset="utf-8"><title>same graph</title>${scripts}<script type="module" src="graph-page.mjs"></script>`;
  writeFileSync(join(dir, 'mvb.html'), page(''));
  writeFileSync(join(dir, 'tfjs.html'), page('<script src="tf.min.js"></script><script src="tf-backend-wasm.min.js"></script>'));
  const tfjsVersion = JSON.parse(readFileSync(join(modules, 'tfjs', 'package.json'), 'utf8')).version;
  return { mounts: { '/': root, '/bench/model/': MODEL || ensureSeedModel() }, tfjsVersion };
}

// Values in [0, 1) for the model's (1, H, W, C) input, the same on every run (an LCG).
function randomInput(modelJson) {
  const sig = JSON.parse(readFileSync(modelJson, 'utf8')).signature.inputs;
  const dims = Object.values(sig)[0].tensorShape.dim.map((d) => Math.max(1, Number(d.size)));
  const x = new Float32Array(dims.reduce((a, b) => a * b, 1));
  let state = 1234;
  for (let i = 0; i < x.length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    x[i] = state / 2 ** 32;
  }
  return Buffer.from(x.buffer);
}

// Every Chromium process's memory after a forced GC in the page (its fetched weights are
// garbage once an engine has copied them).
async function afterGc(page) {
  await page.evaluate(() => globalThis.gc && globalThis.gc());
  return browserMemory();
}

// Chromium is driven over a DevTools pipe with the Page domain only (bench/cdp-pipe.mjs):
// under Playwright, which enables the Network domain, the renderer keeps a copy of every
// downloaded shard for DevTools (59 MiB of the 48 MB model, in both engines' pages alike).
async function coldRun(name, site) {
  const k = KINDS[name];
  const server = await serve(site.mounts, { isolate: k.threads > 1 });
  const page = await launchPipe(['--js-flags=--expose-gc']);
  try {
    // tfjs sizes its thread pool from navigator.hardwareConcurrency / 2 (1 on 2 cores); as
    // the original's measurement did, it is told 4 cores so that it starts 2 threads.
    if (k.engine === 'tfjs' && k.threads > 1) {
      await page.addInitScript(() => Object.defineProperty(navigator, 'hardwareConcurrency', { get: () => 4 }));
    }
    const query = `engine=${k.engine}&threads=${k.threads}&precision=${k.precision || 'f32'}${k.build ? `&build=${k.build}` : ''}`;
    const t0 = Date.now();
    await page.goto(`${server.url}bench/${k.engine}.html?${query}`);
    await page.waitForFunction(() => document.body && document.body.dataset.ready, null, { timeout: TIMEOUT });
    const state = await page.evaluate(() => ({ ready: document.body.dataset.ready, error: window.__mvbBench.error, engine: window.__mvbBench.engine }));
    if (state.ready !== 'true') throw new Error(`${name}: the page did not load the model: ${state.error}`);
    const r = { name, engine: state.engine, loadMs: Date.now() - t0 };
    r.wasmLoad = await page.evaluate(() => window.__mvbBench.wasmBytes());
    const atLoad = await afterGc(page);
    const first = await page.evaluate(() => window.__mvbBench.predict());
    r.firstMs = first.ms;
    const times = [];
    for (let i = 0; i < PREDICTIONS; i++) {
      const p = await page.evaluate(() => window.__mvbBench.predict());
      times.push(p.ms);
      r.value = p.value;
    }
    r.medianMs = median(times);
    r.wasmEnd = await page.evaluate(() => window.__mvbBench.wasmBytes());
    const end = await afterGc(page);
    r.rendererPeak = end.rendererPeak;
    r.pss = Math.max(atLoad.browserPss, end.browserPss);
    return r;
  } finally {
    await page.close();
    await server.close();
  }
}

function report(names, runs, site, loads) {
  const med = (n, key) => median(runs[n].map((r) => r[key]));
  const rows = [
    ['median of predictions (ms)', 'medianMs', (v) => v.toFixed(1)],
    ['first prediction (ms)', 'firstMs', (v) => v.toFixed(0)],
    ['page open -> model loaded (ms)', 'loadMs', (v) => v.toFixed(0)],
    ['wasm memory after load (MiB)', 'wasmLoad', (v) => (v / MiB).toFixed(0)],
    [`wasm memory after ${PREDICTIONS + 1} predictions (MiB)`, 'wasmEnd', (v) => (v / MiB).toFixed(0)],
    ['renderer peak RSS (MiB)', 'rendererPeak', (v) => (v / MiB).toFixed(0)],
    ['all Chromium processes, PSS, larger of 2 samples after GC (MiB)', 'pss', (v) => (v / MiB).toFixed(0)],
  ];
  const out = [];
  for (const threads of [1, 2]) {
    const ns = names.filter((n) => KINDS[n].threads === threads);
    const tfjs = ns.find((n) => KINDS[n].engine === 'tfjs');
    const ours = ns.filter((n) => n !== tfjs);
    const head = ['', ...ns.map((n) => KINDS[n].label), ...ours.map((n) => `${KINDS[n].precision}${KINDS[n].build ? ` ${KINDS[n].build}` : ''} / tfjs`)];
    out.push(`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`);
    for (const [title, key, f] of rows) {
      const cells = ns.map((n) => f(med(n, key)));
      const ratios = ours.map((n) => (med(n, key) / med(tfjs, key)).toFixed(2));
      out.push(`| ${title} | ${[...cells, ...ratios].join(' | ')} |`);
    }
    const value = ns.map((n) => `${KINDS[n].label} ${runs[n][0].value.toFixed(7)}`).join('; ');
    const ms = (n) => med(`mvb-${n}-${threads}`, 'medianMs');
    const latency = `int8 / f32 latency: relaxed build ${(ms('int8') / ms('f32')).toFixed(2)}, simd build ` +
      `${(ms('int8-simd') / ms('f32-simd')).toFixed(2)}; relaxed int8 / simd f32 ${(ms('int8') / ms('f32-simd')).toFixed(2)}`;
    out.push('', `${latency}.`, '', `First output value: ${value}.`, '');
  }
  const perRun = names.map((n) => `- ${n}: median ${runs[n].map((r) => r.medianMs.toFixed(1)).join('/')} ms; wasm after ${runs[n].map((r) => (r.wasmEnd / MiB).toFixed(0)).join('/')} MiB; engine: ${runs[n][0].engine}`);
  const { commit, browser: chromium } = measuredOn(ROOT, CHROMIUM);
  const cpu = os.cpus();
  return [
    HEADING,
    '',
    `Measured ${new Date().toISOString()} by \`node bench/bench-browser-graph.mjs --rounds ${ROUNDS} --predictions ${PREDICTIONS}${MODEL ? ` --model ${MODEL}` : ''}\` at commit ${commit}. ` +
      `Machine: ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores; ${chromium}, headless; load average before ${loads[0].map((x) => x.toFixed(2)).join(' ')}, after ${loads[1].map((x) => x.toFixed(2)).join(' ')}.`,
    '',
    `${MODEL ? `The graph model in \`${MODEL}\` on a seeded random input tensor of its shape` : "The original's graph (InceptionV3 to mixed7 + dense head, 200x200x3, the conformance kit's seed-1234 `centered` weights, 48.3 MB of uint8 shards) on the kit's `rand01` input tensor"}, in this engine (web/engine.js and the wasm builds of dist/, called in the page) and in TensorFlow.js ${site.tfjsVersion} (\`tf.min.js\` + \`tf-backend-wasm.min.js\`, \`execute\` + \`dataSync\`). Each run is a cold first load in a fresh Chromium profile; ${ROUNDS} rounds of all ${names.length} kinds, interleaved, the order reversed every other round; each cell is the median over the rounds of that run's figure (a run's latency is the median of its ${PREDICTIONS} predictions after a first one). 1 thread: served without COOP/COEP (tfjs's single-threaded SIMD binary; our relaxed build, the one Chromium gets, and the simd build where a row says so); 2 threads: with COOP/COEP (tfjs's threaded SIMD binary with \`setThreadsCount(2)\` and \`navigator.hardwareConcurrency\` reported as 4, without which it starts one thread on 2 cores; our relaxed-threads build, or simd-threads, with 2 threads). Wasm memory is the size of the engine's WebAssembly memory, which never shrinks (so it holds the load-time peak); PSS is sampled after the load and after the predictions, each time after a forced GC in the page. Chromium is driven over a DevTools pipe with the Page and Runtime domains only: under Playwright, whose Network domain makes the renderer keep every downloaded shard for DevTools, both engines' PSS was about 70 MiB higher (the int8 / tfjs ratio 0.60 instead of 0.57).`,
    '',
    ...out,
    'Per run:',
    ...perRun,
    '',
  ].join('\n');
}

async function main() {
  const skip = skipReason() || kitSkipReason();
  if (skip) {
    console.error(`bench-browser-graph: ${skip}`);
    process.exit(2);
  }
  const tmp = mkdtempSync(join(os.tmpdir(), 'mvb-bench-graph-'));
  try {
    const site = makeSite(tmp);
    const names = opt('--kinds', null)?.split(',') ?? Object.keys(KINDS);
    const unknown = names.filter((n) => !KINDS[n]);
    if (unknown.length) throw new Error(`unknown kind(s) ${unknown.join(', ')}; known: ${Object.keys(KINDS).join(', ')}`);
    const runs = Object.fromEntries(names.map((n) => [n, []]));
    const before = os.loadavg();
    for (let round = 0; round < ROUNDS; round++) {
      for (const n of round % 2 ? [...names].reverse() : names) {
        const r = await coldRun(n, site);
        runs[n].push(r);
        console.log(`round ${round + 1} ${n}: median ${r.medianMs.toFixed(1)} ms, first ${r.firstMs.toFixed(0)} ms, wasm ${(r.wasmLoad / MiB).toFixed(0)} -> ${(r.wasmEnd / MiB).toFixed(0)} MiB, PSS ${(r.pss / MiB).toFixed(0)} MiB, renderer peak ${(r.rendererPeak / MiB).toFixed(0)} MiB, output ${r.value} [${r.engine}]`);
      }
    }
    if (args.includes('--kinds')) return; // the per-run lines above are the result
    const text = report(names, runs, site, [before, os.loadavg()]);
    console.log(`\n${text}`);
    if (!args.includes('--no-write')) {
      writeResultsSection(ROOT, HEADING, text);
      console.log('written to bench/RESULTS.md');
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
