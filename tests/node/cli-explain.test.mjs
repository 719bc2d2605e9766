// `mvb explain` as a user runs it: on a two-part photo (sky and peak above, sea and sand
// below) and a small model written here whose class activation maps follow colour (mountain:
// bluish and bright; beach: sandy), it writes a PNG of the photo's size with the map drawn where
// it belongs and says so in words; a model without a heatmap, or a bad command line, fails
// cleanly and writes nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nativeCli, nativeSkipReason } from './engines.mjs';
import { readPng, writeBmp } from './test-images.mjs';

const skip = nativeSkipReason() ?? false;

function mvb(args) {
  return spawnSync(nativeCli, args, { cwd: tmpdir(), encoding: 'utf8', timeout: 60000 });
}

// ---- the model: input (16, 16, 3) -> AvgPool 4x4 -> 1x1 conv (beach, mountain) = the heatmap
// (1, 4, 4, 2) -> Mean -> Softmax = the probabilities. tests/c/test_heatmap.c has its twin.

const b64 = (s) => Buffer.from(s).toString('base64');
const ints = (...v) => ({ list: { i: v.map(String) } });

function writeModel(dir, { heatmap = true } = {}) {
  const outputs = { 'Identity:0': { name: 'Identity:0' } };
  const described = { 'Identity:0': { kind: 'probabilities', classes: ['beach', 'mountain'] } };
  if (heatmap) {
    outputs['heatmap:0'] = { name: 'heatmap:0' };
    described['heatmap:0'] = { kind: 'heatmap', classes: ['beach', 'mountain'], grid: [4, 4] };
  }
  const model = {
    format: 'graph-model',
    mvb: { preprocess: { size: [16, 16], mean: [0, 0, 0], std: [1, 1, 1] }, outputs: described },
    signature: {
      inputs: {
        'x:0': { name: 'x:0', dtype: 'DT_FLOAT', tensorShape: { dim: [-1, 16, 16, 3].map((s) => ({ size: String(s) })) } },
      },
      outputs,
    },
    modelTopology: {
      node: [
        { name: 'x', op: 'Placeholder', attr: { dtype: { type: 'DT_FLOAT' } } },
        { name: 'filter', op: 'Const' },
        { name: 'bias', op: 'Const' },
        { name: 'axes', op: 'Const' },
        { name: 'pool', op: 'AvgPool', input: ['x'], attr: { padding: { s: b64('VALID') }, ksize: ints(1, 4, 4, 1), strides: ints(1, 4, 4, 1) } },
        {
          name: 'cam', op: '_FusedConv2D', input: ['pool', 'filter', 'bias'],
          attr: { padding: { s: b64('VALID') }, strides: ints(1, 1, 1, 1), fused_ops: { list: { s: [b64('BiasAdd')] } }, num_args: { i: '1' } },
        },
        { name: 'mean', op: 'Mean', input: ['cam', 'axes'], attr: { keep_dims: { b: false } } },
        { name: 'prob', op: 'Softmax', input: ['mean'] },
        { name: 'Identity', op: 'Identity', input: ['prob'] },
        { name: 'heatmap', op: 'Identity', input: ['cam'] },
      ],
    },
    weightsManifest: [{
      paths: ['group1-shard1of1.bin'],
      weights: [
        { name: 'filter', shape: [1, 1, 3, 2], dtype: 'float32' },
        { name: 'bias', shape: [2], dtype: 'float32' },
        { name: 'axes', shape: [2], dtype: 'int32' },
      ],
    }],
  };
  // filter [input channel][class]: beach = r + g/2 - 3b/2, mountain = -r + g/2 + b; bias 0, 1.
  const floats = new Float32Array([1, -1, 0.5, 0.5, -1.5, 1, 0, 1]);
  const axes = new Int32Array([1, 2]);
  mkdirSync(dir);
  writeFileSync(join(dir, 'model.json'), JSON.stringify(model));
  writeFileSync(join(dir, 'group1-shard1of1.bin'), Buffer.concat([Buffer.from(floats.buffer), Buffer.from(axes.buffer)]));
  return dir;
}

// ---- the photo: a 64 x 48 BMP (not square: a transposed map would show) --------------------

const W = 64;
const H = 48;
const SKY = [110, 160, 235];
const SAND = [230, 200, 140];

function photoPixel(x, y) {
  if (y < H / 2) return y >= 3 && Math.abs(x - W / 2) <= (y - 3) * 1.5 ? (y < 12 ? [240, 240, 245] : [120, 120, 130]) : SKY;
  return y < H / 2 + 6 ? [30, 100, 150] : SAND;
}

const bmp = () => writeBmp(W, H, photoPixel);

// Runs fn({dir, model, photo, out}) in a fresh directory holding the model and the photo.
function withModelAndPhoto({ heatmap = true } = {}, fn) {
  const dir = mkdtempSync(join(tmpdir(), 'mvb-explain-'));
  try {
    const photo = join(dir, 'two-part.bmp');
    writeFileSync(photo, bmp());
    return fn({ dir, model: writeModel(join(dir, 'model'), { heatmap }), photo, out: join(dir, 'heat.png') });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('explain writes the photo with the map over it, at the photo\'s size, and says where it looked', { skip }, () => {
  withModelAndPhoto({}, ({ model, photo, out }) => {
    let r = mvb(['explain', '--model', model, photo, '-o', out]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '');
    const lines = r.stdout.trim().split('\n');
    assert.match(lines[0], /two-part\.bmp: mountain \d+\.\d% \(score 0\.\d{4}\)$/);
    assert.equal(lines[1], `${out}: where it looked for mountain: mostly the upper half`);
    const png = readPng(out);
    assert.deepEqual([png.width, png.height], [W, H]);
    // The mountain map is weakest on the sand (drawn clear) and strong in the sky (tinted).
    assert.deepEqual(png.at(5, H - 1), SAND, 'the bottom row keeps the photo');
    assert.notDeepEqual(png.at(5, 0), SKY, 'the sky is drawn over');

    r = mvb(['explain', '--model', model, '--class', 'beach', photo, '-o', out]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim().split('\n')[1], `${out}: where it looked for beach: mostly the lower half`);
    assert.notDeepEqual(readPng(out).at(5, H - 1), SAND, 'the sand is drawn over');
  });
});

test('explain on a model without a heatmap output fails cleanly and writes nothing', { skip }, () => {
  withModelAndPhoto({ heatmap: false }, ({ model, photo, out }) => {
    const r = mvb(['explain', '--model', model, photo, '-o', out]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /^mvb: this model \(.*model\) has no heatmap output/);
    assert.equal(r.stdout, '');
    assert.ok(!existsSync(out), 'no PNG was written');
    // The same model still classifies.
    assert.equal(mvb(['classify', '--model', model, photo]).status, 0);
  });
});

test('explain: a missing -o, an unknown --class, --json, or a bad photo fail, naming the problem', { skip }, () => {
  withModelAndPhoto({}, ({ dir, model, photo, out }) => {
    let r = mvb(['explain', '--model', model, photo]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /mvb explain .*\n +\[--precision P\] IMAGE -o OUT\.png/);
    r = mvb(['explain', '--model', model, '--class', 'sky', photo, '-o', out]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--class must be beach, mountain, neither or verdict, not "sky"/);
    r = mvb(['explain', '--model', model, '--json', photo, '-o', out]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--json is for classify/);
    r = mvb(['classify', '--model', model, '--class', 'beach', photo]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--class is for explain/);
    // This model has no "neither" class, so it has no map for it.
    r = mvb(['explain', '--model', model, '--class', 'neither', photo, '-o', out]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /heatmap has no map for neither/);
    const notes = join(dir, 'notes.jpg');
    writeFileSync(notes, 'these are notes, not a photo');
    r = mvb(['explain', '--model', model, notes, '-o', out]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /notes\.jpg: not a JPEG, PNG, BMP or GIF/);
    r = mvb(['explain', '--model', model, photo, '-o', join(dir, 'no-such-dir', 'heat.png')]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /cannot write .*no-such-dir\/heat\.png: No such file/);
    assert.ok(!existsSync(out), 'no PNG was written');
  });
});
