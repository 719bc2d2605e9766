// What web/engine.js hands the page for a photo: the engine's verdict, confidence, score and
// probabilities (neither only for models with that class), and its own refusals.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { disposeEngine, loadWasmEngine, readModelDir, repoRoot } from './engines.mjs';
import { writeFixedModel, fixedProbabilities } from '../browser/fixed-model.mjs';

const photo = readFileSync(join(repoRoot, 'web', 'examples', 'picos-de-europa.jpg'));
const { engine, skip } = await loadWasmEngine('wasm-simd');

function load(dir) {
  const { text, shards } = readModelDir(dir);
  engine.loadModel(text, shards);
}

test('a model with a "neither" class: the engine\'s verdict and all three probabilities', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'mvb-fixed-'));
  try {
    const logits = [0, 0, 4];
    load(writeFixedModel(dir, logits));
    const r = engine.classifyBytes(photo);
    const p = fixedProbabilities(logits);
    assert.deepEqual(Object.keys(r).sort(), ['confidence', 'probabilities', 'score', 'verdict']);
    assert.equal(r.verdict, 'neither');
    assert.deepEqual(Object.keys(r.probabilities), ['beach', 'mountain', 'neither']);
    for (const k of Object.keys(p)) assert.ok(Math.abs(r.probabilities[k] - p[k]) < 1e-5, `${k}: ${r.probabilities[k]} vs ${p[k]}`);
    assert.ok(Math.abs(r.confidence - p.neither) < 1e-5);
    assert.ok(Math.abs(r.score - 0.5) < 1e-5, 'score = P(mountain) among beach + mountain');
    const [out] = engine.outputs();
    assert.deepEqual(out.shape, [1, 3]);
    assert.equal(out.data.length, 3);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the shipped model: probabilities for the classes it has, and a verdict the engine names', { skip }, () => {
  load(join(repoRoot, 'weights'));
  const r = engine.classifyBytes(photo);
  assert.ok(engine.verdicts.includes(r.verdict), `${r.verdict} among ${engine.verdicts}`);
  assert.ok(Object.keys(r.probabilities).every((k) => ['beach', 'mountain', 'neither'].includes(k)));
  const sum = Object.values(r.probabilities).reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(sum - 1) < 1e-3, `probabilities add up to ${sum}`);
});

test('an image over the pixel limit is refused from its size alone, in the engine\'s words', { skip }, () => {
  assert.throws(() => engine.checkImageSize(20000, 20000), (e) => e.status === 8 &&
    e.message === 'image is 20000 x 20000 = 400000000 pixels, more than the limit of 50000000');
  engine.checkImageSize(7000, 7000); // 49 MP: within
  assert.ok(engine.memoryBytes > 0);
});

test('a shipped shard with one flipped bit is refused by the wasm engine, naming the shard', { skip }, () => {
  const { text, shards } = readModelDir(join(repoRoot, 'weights'));
  assert.ok(JSON.parse(text).mvb.shards, 'the shipped model.json records its shards\' digests');
  const damaged = shards.map((s) => Uint8Array.from(new Uint8Array(s.buffer ?? s, s.byteOffset ?? 0, s.byteLength)));
  damaged[0][1000] ^= 0x01;
  assert.throws(() => engine.loadModel(text, damaged), (e) => e.status === 4 &&
    /weight shard 1 \("group1-shard1of1\.bin"\) is damaged: its SHA-256 is [0-9a-f]+, model\.json says [0-9a-f]+/.test(e.message),
  'a damaged shard must be refused');
  // The intact files still load and classify.
  engine.loadModel(text, shards);
  assert.ok(engine.verdicts.includes(engine.classifyBytes(photo).verdict));
});

after(() => { if (engine) disposeEngine(engine); });

test('the model chooses its precision ("mvb".precision) unless the caller does; engine.precision says which ran', { skip }, async () => {
  const { text, shards } = readModelDir(join(repoRoot, 'weights'));
  const doc = JSON.parse(text);
  delete doc.mvb.precision;
  const withKey = (value) => JSON.stringify({ ...doc, mvb: { ...doc.mvb, precision: value } });
  engine.loadModel(JSON.stringify(doc), shards);
  assert.equal(engine.precision, 'f32', 'a model without the key runs in f32');
  const f32 = engine.classifyBytes(photo);
  engine.loadModel(withKey('int8'), shards);
  assert.equal(engine.precision, 'int8');
  const int8 = engine.classifyBytes(photo);
  assert.notEqual(int8.score, f32.score, 'the int8 model gave f32\'s exact score: did the key reach the engine?');
  assert.throws(() => engine.loadModel(withKey('int4'), shards), /mvb\.precision must be "f32" or "int8"/);
  const told = await loadWasmEngine('wasm-simd', { precision: 'f32' });
  try {
    told.engine.loadModel(withKey('int8'), shards);
    assert.equal(told.engine.precision, 'f32', 'an explicit precision wins over the model\'s');
    assert.equal(told.engine.classifyBytes(photo).score, f32.score);
  } finally {
    disposeEngine(told.engine);
  }
});
