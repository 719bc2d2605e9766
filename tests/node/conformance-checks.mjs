// conformance-checks.mjs: the checks of the original model's graph against TensorFlow.js
// (tests/node/conformance.test.mjs runs them on the native and Node builds,
// tests/browser/relaxed.test.mjs on the relaxed-SIMD builds in Chromium). With the kit's
// `centered` seed-1234 weights, the three kit inputs must give the reference probability
// within 1e-5 and logit within 1e-4 (TensorFlow.js 4.22 wasm backend). In int8 precision
// (weights and convolution inputs rounded to 8 bits) the bar is the issue's: |d prob| <= 0.01
// and the 512 hidden activations' cosine similarity with TensorFlow.js's >= 0.999.
// Needs ../shared/conformance/seed-inception-v3 (beside the checkout): kitSkip says why not.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ensureSeedModel, ensureVariantModel, INPUTS, kitSkipReason, reference } from './seed-model.mjs';

const PROB_TOL = 1e-5;
const LOGIT_TOL = 1e-4;
const HIDDEN_REL_TOL = 1e-4; // the 512 dense activations, relative to their largest
const INT8_PROB_TOL = 0.01;
const INT8_HIDDEN_COSINE = 0.999;

export const kitSkip = kitSkipReason();
// The three graph variants' model folders ({prob, logit, hidden}) and the reference outputs.
export const models = kitSkip ? null : { prob: ensureSeedModel(), logit: ensureVariantModel('logit'), hidden: ensureVariantModel('hidden') };
const ref = kitSkip ? null : reference('wasm').results;

function single(r, what) {
  assert.ok(r.ok, `${what}: ${r.message}`);
  assert.equal(r.output.length, 1, `${what}: expected one output value, got ${r.output.length}`);
  return r.output[0];
}

// run(modelDir, inputName) -> the engine's result object for that model and input.
export function conformanceTests(flavour, skipReason, run) {
  const skip = skipReason || false; // node:test skips on null too
  describe(`${flavour}: seed InceptionV3 vs TensorFlow.js 4.22`, () => {
    for (const name of INPUTS) {
      test(`${name}: prob within ${PROB_TOL} and logit within ${LOGIT_TOL}`, { skip }, (t) => {
        const prob = single(run(models.prob, name), `${flavour} prob on ${name}`);
        const logit = single(run(models.logit, name), `${flavour} logit on ${name}`);
        const dp = Math.abs(prob - ref[name].prob_value);
        const dl = Math.abs(logit - ref[name].logit_value);
        t.diagnostic(`prob ${prob} (|d| ${dp.toExponential(2)}), logit ${logit} (|d| ${dl.toExponential(2)})`);
        assert.ok(dp < PROB_TOL, `${name}: prob ${prob}, reference ${ref[name].prob_value}, |d| ${dp}`);
        assert.ok(dl < LOGIT_TOL, `${name}: logit ${logit}, reference ${ref[name].logit_value}, |d| ${dl}`);
        // The two graphs share every weight: the probability must be the logit's sigmoid.
        const implied = 1 / (1 + Math.exp(-logit));
        assert.ok(Math.abs(implied - prob) < 1e-6, `sigmoid(logit) ${implied} != prob ${prob}`);
      });
      test(`${name}: the 512 hidden activations within ${HIDDEN_REL_TOL} relative`, { skip }, (t) => {
        const r = run(models.hidden, name);
        assert.ok(r.ok, `${flavour} hidden on ${name}: ${r.message}`);
        const want = ref[name].dense_relu_values;
        assert.equal(r.output.length, want.length);
        const scale = Math.max(...want.map(Math.abs));
        let worst = 0;
        let at = 0;
        want.forEach((w, i) => {
          const d = Math.abs(r.output[i] - w);
          if (!(d <= worst)) [worst, at] = [d, i];
        });
        t.diagnostic(`max |d| ${worst.toExponential(2)} at [${at}], largest activation ${scale}`);
        assert.ok(worst <= HIDDEN_REL_TOL * scale, `${name}: activation [${at}] is ${r.output[at]}, reference ${want[at]}`);
      });
    }
  });
}

function cosine(a, b) {
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return ab / Math.sqrt(aa * bb);
}

export function int8Tests(flavour, skipReason, run) {
  const skip = skipReason || false;
  describe(`${flavour} int8: seed InceptionV3 vs TensorFlow.js 4.22`, () => {
    for (const name of INPUTS) {
      test(`${name}: prob within ${INT8_PROB_TOL}, hidden cosine >= ${INT8_HIDDEN_COSINE}`, { skip }, (t) => {
        const prob = single(run(models.prob, name), `${flavour} int8 prob on ${name}`);
        const r = run(models.hidden, name);
        assert.ok(r.ok, `${flavour} int8 hidden on ${name}: ${r.message}`);
        const dp = Math.abs(prob - ref[name].prob_value);
        const cos = cosine(r.output, ref[name].dense_relu_values);
        t.diagnostic(`prob ${prob} (|d| ${dp.toExponential(2)}), hidden cosine ${cos.toFixed(6)}`);
        assert.ok(dp <= INT8_PROB_TOL, `${name}: prob ${prob}, reference ${ref[name].prob_value}, |d| ${dp}`);
        assert.ok(cos >= INT8_HIDDEN_COSINE, `${name}: hidden cosine ${cos}`);
      });
    }
  });
}

