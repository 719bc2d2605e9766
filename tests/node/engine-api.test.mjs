// web/engine.js's own bookkeeping around the wasm exports: a model whose input is no image,
// the maxPixels option, what a failed load leaves behind, wasm memory when an allocation
// fails part-way, and the message for a module that does not match this loader.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { GraphBuilder, attr } from '../ops/graph-builder.mjs';
import { writeFixedModel } from '../browser/fixed-model.mjs';
import { DEFAULT_MAX_PIXELS, MvbError, Status, loadEngine } from '../../web/engine.js';
import { disposeEngine, loadWasmEngine, readModelDir, repoRoot } from './engines.mjs';

const photo = readFileSync(join(repoRoot, 'web', 'examples', 'picos-de-europa.jpg'));
const { engine, skip } = await loadWasmEngine('wasm-simd');
const tmp = mkdtempSync(join(tmpdir(), 'mvb-engine-api-'));
after(() => {
  if (engine) disposeEngine(engine);
  rmSync(tmp, { recursive: true, force: true });
});

function load(eng, dir) {
  const { text, shards } = readModelDir(dir);
  return eng.loadModel(text, shards);
}

// x [-1, 10] times W [10, 2], W[i][j] = (i - 4.5) * (j + 1) / 8: a tensor model, no image.
const K = 10;
const N = 2;
const W = Float32Array.from({ length: K * N }, (_, at) => ((Math.floor(at / N) - 4.5) * ((at % N) + 1)) / 8);

function writeTensorModel(dir) {
  const g = new GraphBuilder('tensor-10');
  const x = g.input([1, K]);
  const w = g.addConst('model/dense/kernel', [K, N], 'float32', Buffer.from(W.buffer));
  g.output(g.node('MatMul', 'model/dense/MatMul', [x, w], { transpose_a: attr.b(false), transpose_b: attr.b(false) }));
  const { json, files } = g.serialize({ outputShape: [-1, N] });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'model.json'), JSON.stringify(json));
  for (const [name, bytes] of files) writeFileSync(join(dir, name), bytes);
  return dir;
}

test('a model whose input is a [-1, 10] tensor, not an image, loads with input shape [0, 0, 0] and runs', { skip }, () => {
  const dir = writeTensorModel(join(tmp, 'tensor'));
  assert.equal(JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')).signature.inputs['input_1:0'].tensorShape.dim.map((d) => d.size).join(), '-1,10');
  assert.deepEqual(load(engine, dir), [0, 0, 0]);
  assert.deepEqual(engine.inputShape, [0, 0, 0]);
  const x = Float32Array.from({ length: K }, (_, i) => i + 1);
  const y = engine.run(x);
  assert.equal(y.length, N);
  for (let j = 0; j < N; j++) {
    let want = 0;
    for (let i = 0; i < K; i++) want += x[i] * W[i * N + j];
    assert.ok(Math.abs(y[j] - want) < 1e-4, `output ${j}: ${y[j]}, x·W gives ${want}`);
  }
  assert.throws(() => engine.run(new Float32Array(K + 1)), (e) => e instanceof MvbError && /input has 11 values; the model expects 10/.test(e.message));
});

test('a failed loadModel leaves no model loaded, nothing of the previous one described', { skip }, () => {
  const fixed = writeFixedModel(join(tmp, 'fixed'), [0, 4, 0]);
  load(engine, fixed);
  assert.ok(engine.meta && engine.precision === 'f32', 'the first model loaded');
  const { text } = readModelDir(fixed);
  assert.throws(() => engine.loadModel(text, []), (e) => e instanceof MvbError && e.status !== Status.OK);
  assert.equal(engine.handle, 0, 'the failed model\'s handle is still held');
  assert.equal(engine.meta, null);
  assert.equal(engine.precision, null);
  assert.deepEqual(engine.inputShape, [0, 0, 0]);
  assert.throws(() => engine.classifyBytes(photo), (e) => e.status === Status.STATE && /no model loaded/.test(e.message));
  load(engine, fixed); // and the engine loads again
  assert.equal(engine.classifyBytes(photo).verdict, 'mountain');
});

// Makes the `failAt`th engine.M._malloc from now on fail; `held` are the blocks it gave out
// that are not freed yet.
function failingMalloc(eng, failAt) {
  const M = eng.M;
  const { _malloc: malloc, _free: free } = M;
  const held = new Set();
  let calls = 0;
  M._malloc = (n) => {
    if (++calls === failAt) return 0;
    const p = malloc(n);
    held.add(p);
    return p;
  };
  M._free = (p) => {
    held.delete(p);
    free(p);
  };
  return { held, restore: () => Object.assign(M, { _malloc: malloc, _free: free }) };
}

test('an allocation failing after another in classifyBytes, classifyPixels or run frees the first', { skip }, () => {
  load(engine, writeFixedModel(join(tmp, 'fixed'), [0, 4, 0]));
  const calls = {
    classifyBytes: () => engine.classifyBytes(photo),
    classifyPixels: () => engine.classifyPixels(new Uint8ClampedArray(8 * 8 * 4), 8, 8),
    run: () => engine.run(new Float32Array(8 * 8 * 3)),
  };
  for (const [name, call] of Object.entries(calls)) {
    call(); // it works with memory to spare
    const m = failingMalloc(engine, 2);
    try {
      assert.throws(call, (e) => e instanceof MvbError && e.status === Status.OUT_OF_MEMORY, name);
      assert.equal(m.held.size, 0, `${name} left ${m.held.size} block(s) allocated`);
    } finally {
      m.restore();
    }
  }
});

test('maxPixels: 0 or less keeps the default; a limit that is no whole number is refused, naming the option', { skip }, async () => {
  for (const maxPixels of [0, -1]) {
    const { engine: e } = await loadWasmEngine('wasm-simd', { maxPixels });
    try {
      assert.equal(e.maxPixels, DEFAULT_MAX_PIXELS, `maxPixels ${maxPixels}`);
      e.checkImageSize(7000, 7000); // 49 MP: within the default
    } finally {
      disposeEngine(e);
    }
  }
  for (const maxPixels of [Infinity, 1.5, NaN, '1000']) {
    await assert.rejects(loadWasmEngine('wasm-simd', { maxPixels }), (e) => e instanceof MvbError &&
      e.status === Status.INVALID_ARGUMENT && /^maxPixels must be a whole number of pixels/.test(e.message), `maxPixels ${maxPixels}`);
  }
  // A small limit holds for the page's check and the engine's alike.
  const { engine: e } = await loadWasmEngine('wasm-simd', { maxPixels: 1000 });
  try {
    e.checkImageSize(40, 25);
    assert.throws(() => e.checkImageSize(40, 26), (x) => x.status === Status.IMAGE_TOO_LARGE && /more than the limit of 1000$/.test(x.message));
    load(e, writeFixedModel(join(tmp, 'fixed'), [0, 4, 0]));
    assert.throws(() => e.classifyBytes(photo), (x) => x.status === Status.IMAGE_TOO_LARGE);
  } finally {
    disposeEngine(e);
  }
});

// A stand-in engine script whose module reports the given ABI and result size.
function fakeEngineDir(name, abi, floats) {
  const dir = join(tmp, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'mvb-simd.js'), `export default async () => ({ _mvbw_abi_version: () => ${abi}, _mvbw_result_floats: () => ${floats} });\n`);
  return pathToFileURL(dir + '/').href;
}

test('a module of another ABI, or of this ABI with another result size, is refused saying which', { skip }, async () => {
  const abi = engine.M._mvbw_abi_version();
  const floats = engine.M._mvbw_result_floats();
  await assert.rejects(loadEngine({ variant: 'simd', wasmUrl: fakeEngineDir('other-abi', abi + 1, floats) }), (e) => e.status === Status.UNSUPPORTED &&
    e.message === `engine ABI ${abi + 1}, this engine.js speaks ${abi}`);
  await assert.rejects(loadEngine({ variant: 'simd', wasmUrl: fakeEngineDir('other-floats', abi, floats + 1) }), (e) => e.status === Status.UNSUPPORTED &&
    e.message === `engine ABI ${abi} writes ${floats + 1} floats per result, this engine.js reads ${floats}`);
});
