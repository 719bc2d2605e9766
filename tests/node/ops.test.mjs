// Every op the engine supports, against TensorFlow.js 4.22 on the same files: the op
// models of tests/ops/op-cases.mjs are generated into build/ops-models/ with tfjs cpu
// reference outputs, then run through the native CLI and the wasm modules.
// Unsupported ops and attribute values must be refused at load time, naming the node.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { generateOpModels } from '../ops/make-op-models.mjs';
import {
  compareOutputs, disposeEngine, loadWasmEngine, nativeSkipReason, readF32File, repoRoot, runNative, runWasm, wasmFlavours,
} from './engines.mjs';

const UNSUPPORTED = 5; // mvb_status MVB_ERR_UNSUPPORTED

const cases = await generateOpModels(join(repoRoot, 'build', 'ops-models'));

// Checks one engine's result for one case; returns a line for the test's diagnostics.
function check(c, r, flavour, { wasm }) {
  const refusing = c.expect === 'refuse' || (c.expect === 'match-or-refuse' && !r.ok);
  if (refusing) {
    assert.ok(!r.ok, `${flavour} loaded and ran ${c.name}, which it must refuse`);
    assert.ok(!r.crashed, `${flavour} crashed on ${c.name}: ${r.message}`);
    if (wasm) assert.equal(r.status, UNSUPPORTED, `status ${r.status}, expected UNSUPPORTED: ${r.message}`);
    for (const m of c.mentions) assert.ok(r.message.includes(m), `the message does not name "${m}": ${r.message}`);
    if (c.mentionsAny.length) {
      const lower = r.message.toLowerCase();
      assert.ok(c.mentionsAny.some((m) => lower.includes(m.toLowerCase())), `the message names none of ${c.mentionsAny.join(', ')}: ${r.message}`);
    }
    return `refused: ${r.message}`;
  }
  assert.ok(r.ok, `${flavour} failed on ${c.name}: ${r.message}`);
  const cmp = compareOutputs(r.output, readF32File(join(c.dir, 'expected.f32')));
  assert.ok(cmp.ok, `${c.name} (${flavour}) differs from TensorFlow.js: ${cmp.text}`);
  return cmp.text;
}

describe('native mvb run vs TensorFlow.js', () => {
  const skip = nativeSkipReason();
  // One skipped test, not one per model, when the engine is not built.
  if (skip) return void test(`${cases.length} op models`, { skip }, () => {});
  for (const c of cases) {
    test(c.name, (t) => {
      t.diagnostic(check(c, runNative(c.dir, join(c.dir, 'input.f32')), 'native', { wasm: false }));
    });
  }
  for (const c of cases.filter((x) => x.name.startsWith('mini_'))) {
    test(`${c.name} with --threads 2`, (t) => {
      t.diagnostic(check(c, runNative(c.dir, join(c.dir, 'input.f32'), { threads: 2 }), 'native', { wasm: false }));
    });
  }
});

for (const flavour of wasmFlavours) {
  const { engine, skip } = await loadWasmEngine(flavour);
  describe(`${flavour} via web/engine.js vs TensorFlow.js`, () => {
    if (skip) return void test(`${cases.length} op models`, { skip }, () => {});
    for (const c of cases) {
      test(c.name, (t) => {
        t.diagnostic(check(c, runWasm(engine, c.dir, join(c.dir, 'input.f32')), flavour, { wasm: true }));
      });
    }
    test('dispose', () => disposeEngine(engine));
  });
}
