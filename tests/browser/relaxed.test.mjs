// The relaxed-SIMD builds (issue 8, part 4) in headless Chromium, the only place they can be
// checked: Node 20's V8 runs relaxed SIMD only behind a flag, and computes its int8 dot
// product differently from Chromium's. Chromium must choose them (engine.js's feature test),
// and they must pass the same conformance checks against TensorFlow.js as the other builds
// (tests/node/conformance-checks.mjs), in f32 and in int8, on 1 thread and on 2.
// Needs dist/ (./build.sh) and ../shared/conformance/seed-inception-v3.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DIST, launch, skipReason } from './helpers.mjs';
import { serve } from '../../bench/static-server.mjs';
import { conformanceTests, int8Tests, kitSkip, models } from '../node/conformance-checks.mjs';
import { INPUTS, inputPath } from '../node/seed-model.mjs';

const BUILDS = ['relaxed', 'relaxed-threads'];
const KINDS = { f32: ['prob', 'logit', 'hidden'], int8: ['prob', 'hidden'] };

function relaxedSkipReason() {
  const skip = skipReason() || kitSkip;
  if (skip) return skip;
  for (const b of BUILDS) {
    const f = join(DIST, 'wasm', `mvb-${b}.wasm`);
    if (!existsSync(f)) return `${f} is missing: run ./build.sh first`;
  }
  return null;
}

// In a page of the site: the build the engine chooses, then every model kind on every kit
// input with the given build, in both precisions. {chosen, results: {precision: {kind: {input: r}}}}
// where r is {ok, output} or {ok: false, message}.
async function runInChromium(build, mounts) {
  const server = await serve(mounts, { isolate: build.endsWith('-threads') });
  const { context, close } = await launch();
  try {
    const page = context.pages()[0] || await context.newPage();
    await page.goto(`${server.url}t/blank.html`);
    return await page.evaluate(async ({ build, kinds, inputs }) => {
      const { loadEngine, chooseVariant } = await import('/engine.js');
      const { fetchModel } = await import('/model-fetch.js');
      const results = {};
      for (const [precision, names] of Object.entries(kinds)) {
        const engine = await loadEngine({ variant: build, precision, wasmUrl: new URL('/wasm/', location.href).href });
        results[precision] = {};
        for (const kind of names) {
          const { jsonText, shards } = await fetchModel(`/kit/${kind}/model.json`);
          results[precision][kind] = {};
          for (const name of inputs) {
            const input = new Float32Array(await (await fetch(`/kit/inputs/${name}.f32`)).arrayBuffer());
            try {
              engine.loadModel(jsonText, shards);
              results[precision][kind][name] = { ok: true, output: Array.from(engine.run(input)), variant: engine.variant };
            } catch (e) {
              results[precision][kind][name] = { ok: false, message: e.message };
            }
          }
        }
        engine.dispose();
      }
      return { chosen: chooseVariant(), results };
    }, { build, kinds: KINDS, inputs: INPUTS });
  } finally {
    await close();
    await server.close();
  }
}

const skip = relaxedSkipReason();
const runs = {};
if (!skip) {
  const tmp = mkdtempSync(join(tmpdir(), 'mvb-relaxed-'));
  writeFileSync(join(tmp, 'blank.html'), '<!doctype html><meta charset="utf-8"><title>relaxed</title>');
  const mounts = {
    '/': DIST, '/t/': tmp, '/kit/inputs/': dirname(inputPath(INPUTS[0])),
    '/kit/prob/': models.prob, '/kit/logit/': models.logit, '/kit/hidden/': models.hidden,
  };
  try {
    // A page that fails fails every check of its build (below), not the whole file.
    for (const build of BUILDS) runs[build] = await runInChromium(build, mounts).catch((e) => ({ error: e.message }));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

test('Chromium chooses the relaxed builds: relaxed on a first visit, relaxed-threads when crossOriginIsolated', { skip: skip ?? undefined }, () => {
  for (const build of BUILDS) assert.equal(runs[build].error, undefined, `${build}: ${runs[build].error}`);
  assert.equal(runs.relaxed.chosen, 'relaxed');
  assert.equal(runs['relaxed-threads'].chosen, 'relaxed-threads');
  assert.equal(runs.relaxed.results.f32.prob.half.variant, 'relaxed');
});

const kindOf = (dir) => Object.keys(models || {}).find((k) => models[k] === dir);
for (const build of BUILDS) {
  const lookup = (precision) => (dir, name) => (runs[build].error
    ? { ok: false, message: `the page failed: ${runs[build].error}` }
    : runs[build].results[precision][kindOf(dir)][name]);
  conformanceTests(`chromium ${build}`, skip, lookup('f32'));
  int8Tests(`chromium ${build}`, skip, lookup('int8'));
}
