// Every op the engine supports, against TensorFlow.js 4.22 on the same files: the op
// models of tests/ops/op-cases.mjs are generated into build/ops-models/ with tfjs cpu
// reference outputs, then run through the native CLI and the wasm modules, in f32 and
// in int8 precision. Unsupported ops and attribute values must be refused at load
// time, naming the node.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { generateOpModels } from '../ops/make-op-models.mjs';
import { Status } from '../../web/meta.js';
import {
  compareOutputs, disposeEngine, loadWasmEngine, nativeSkipReason, readF32File, repoRoot, runNative, runWasm, wasmFlavours,
} from './engines.mjs';

// In int8 precision a convolution's or matmul's weights are rounded to 8 bits per output
// channel and its input to 8 bits per image (or row): each output then moves by up to
// about half a step of each, summed over the dot product. Measured worst over these
// cases, native: 1.7e-2 of max(1, max|ref|) (int8_conv_relu6_valid_s2_64, inputs in
// [-10, 10]), the others 5.7e-3 or less. Layers reading fewer than 64 channels,
// and every other op, stay f32 in int8 precision: a graph without an int8 layer
// (case.json's int8Layers) keeps f32's 1e-4.
const INT8_REL_TOL = 0.03;

const cases = await generateOpModels(join(repoRoot, 'build', 'ops-models'));

// Checks one engine's result for one case; returns a line for the test's diagnostics.
function check(c, r, flavour, { wasm, int8 = false }) {
  const int8Refuses = int8 && c.int8 === 'refuse';
  const refusing = c.expect === 'refuse' || int8Refuses || (c.expect === 'match-or-refuse' && !r.ok);
  if (refusing) {
    assert.ok(!r.ok, `${flavour} loaded and ran ${c.name}, which it must refuse`);
    assert.ok(!r.crashed, `${flavour} crashed on ${c.name}: ${r.message}`);
    const status = int8Refuses ? 'UNSUPPORTED' : c.status;
    if (wasm) assert.equal(r.status, Status[status], `status ${r.status}, expected ${status}: ${r.message}`);
    const mentions = int8Refuses ? c.int8Mentions : c.mentions;
    for (const m of mentions) assert.ok(r.message.includes(m), `the message does not name "${m}": ${r.message}`);
    if (c.mentionsAny.length) {
      const lower = r.message.toLowerCase();
      assert.ok(c.mentionsAny.some((m) => lower.includes(m.toLowerCase())), `the message names none of ${c.mentionsAny.join(', ')}: ${r.message}`);
    }
    return `refused: ${r.message}`;
  }
  assert.ok(r.ok, `${flavour} failed on ${c.name}: ${r.message}`);
  const quantized = int8 && c.int8Layers > 0;
  const cmp = compareOutputs(r.output, readF32File(join(c.dir, 'expected.f32')), quantized ? INT8_REL_TOL : undefined);
  assert.ok(cmp.ok, `${c.name} (${flavour}) differs from TensorFlow.js: ${cmp.text}`);
  // Rounding to 8 bits shows: an int8 case as close as f32 means int8 did not run.
  if (quantized && c.name.startsWith('int8_') && !c.int8Exact) {
    assert.ok(!compareOutputs(r.output, readF32File(join(c.dir, 'expected.f32'))).ok, `${c.name} (${flavour}) is as close as f32: was int8 used?`);
  }
  return `${cmp.text}${quantized ? ` (${(cmp.maxDiff / Math.max(1, c.maxAbsRef)).toExponential(2)} of max(1, max|ref|))` : ''}`;
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

describe(`native mvb run --precision int8 vs TensorFlow.js (convolutions and matmuls within ${INT8_REL_TOL} of max(1, max|ref|))`, () => {
  const skip = nativeSkipReason();
  if (skip) return void test(`${cases.length} op models`, { skip }, () => {});
  for (const c of cases) {
    test(c.name, (t) => {
      t.diagnostic(check(c, runNative(c.dir, join(c.dir, 'input.f32'), { precision: 'int8' }), 'native int8', { wasm: false, int8: true }));
    });
  }
  for (const c of cases.filter((x) => x.name.startsWith('mini_'))) {
    test(`${c.name} with --threads 2`, (t) => {
      const r = runNative(c.dir, join(c.dir, 'input.f32'), { threads: 2, precision: 'int8' });
      t.diagnostic(check(c, r, 'native int8', { wasm: false, int8: true }));
    });
  }
});

for (const flavour of wasmFlavours) {
  for (const precision of ['f32', 'int8']) {
    const { engine, skip } = await loadWasmEngine(flavour, { precision });
    const int8 = precision === 'int8';
    describe(`${flavour} ${precision} via web/engine.js vs TensorFlow.js`, () => {
      if (skip) return void test(`${cases.length} op models`, { skip }, () => {});
      for (const c of cases) {
        test(c.name, (t) => {
          t.diagnostic(check(c, runWasm(engine, c.dir, join(c.dir, 'input.f32')), `${flavour} ${precision}`, { wasm: true, int8 }));
        });
      }
      test('dispose', () => disposeEngine(engine));
    });
  }
}
