// web/heatmap.js, what the page's "Where it looked" draws and says, against the C side's
// rules (docs/design.md "Where it looked", src/heatmap.c): the same colour ramp and opacity,
// the same words for each place, the same sentence as `mvb explain` for every example photo,
// and the same blended pixels as the PNG `mvb explain` writes.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  INFERNO, MAX_ALPHA, blendHeatmap, colourAt, pickHeatmap, whereItLooked, whereSentence,
} from '../../web/heatmap.js';
import { disposeEngine, loadWasmEngine, nativeCli, nativeSkipReason, readModelDir, repoRoot } from './engines.mjs';
import { readPng, writeBmp } from './test-images.mjs';

const hex = (rgb) => `#${rgb.map((c) => c.toString(16).padStart(2, '0')).join('')}`;

test('the ramp and its opacity are the ones docs/design.md and src/heatmap.h give', () => {
  const design = readFileSync(join(repoRoot, 'docs', 'design.md'), 'utf8');
  const stops = design.match(/inferno at 9 stops[^`]*`([^`]+)`/)[1].split(/\s+/);
  assert.deepEqual(INFERNO.map(hex), stops);
  INFERNO.forEach((rgb, i) => assert.deepEqual(colourAt(i / 8), [...rgb], `stop ${i}`));
  // Linear between stops, clamped outside [0, 1], NaN as 0.
  assert.deepEqual(colourAt(1 / 16), INFERNO[0].map((c, ch) => Math.round((c + INFERNO[1][ch]) / 2)));
  assert.deepEqual(colourAt(-1), [...INFERNO[0]]);
  assert.deepEqual(colourAt(NaN), [...INFERNO[0]]);
  assert.deepEqual(colourAt(2), [...INFERNO[8]]);
  const header = readFileSync(join(repoRoot, 'src', 'heatmap.h'), 'utf8');
  assert.equal(MAX_ALPHA, Number(header.match(/#define MVB_HEATMAP_MAX_ALPHA ([\d.]+)f/)[1]));
});

// A rows x cols map with the given cells at 1 and the rest at 0.
function mapWith(rows, cols, hot) {
  const values = new Float32Array(rows * cols);
  for (const [r, c, v = 1] of hot) values[r * cols + c] = v;
  return { cls: 'mountain', rows, cols, values };
}

test('the words for each place follow the C rule', () => {
  const cases = [
    [mapWith(4, 4, [[0, 0], [0, 1], [1, 0]]), 'the upper left'],
    [mapWith(4, 4, [[3, 3], [2, 3]]), 'the lower right'],
    [mapWith(4, 4, [[0, 0], [0, 1], [0, 2], [0, 3]]), 'mostly the upper half'],
    [mapWith(4, 4, [[3, 0], [3, 3], [2, 1], [2, 2]]), 'mostly the lower half'],
    [mapWith(4, 4, [[0, 0], [1, 0], [2, 0], [3, 0]]), 'mostly the left half'],
    [mapWith(4, 4, [[0, 3], [3, 3], [1, 2], [2, 2]]), 'mostly the right half'],
    [mapWith(4, 4, [[1, 1], [1, 2], [2, 1], [2, 2]]), 'the middle'],
    [mapWith(4, 4, [[0, 0], [0, 3], [3, 0], [3, 3]]), 'all over the photo'],
    // An odd grid's middle row counts half each way.
    [mapWith(3, 3, [[1, 0], [1, 1], [1, 2]]), 'the middle'],
    [mapWith(3, 3, [[0, 1], [1, 1]]), 'mostly the upper half'],
    // Cells at or below t = 1/2 carry no weight.
    [mapWith(4, 4, [[0, 0], [3, 3, 0.5], [3, 2, 0.4]]), 'the upper left'],
    [mapWith(4, 4, []), 'evenly across the photo'],
    [{ cls: 'beach', rows: 2, cols: 2, values: new Float32Array([1000, 1000.000001, 1000, 1000]) }, 'evenly across the photo'],
  ];
  for (const [map, words] of cases) assert.equal(whereItLooked(map), words, JSON.stringify([...map.values]));
  assert.equal(whereSentence(cases[0][0]), 'Where it looked for mountain: the upper left');
});

const nativeSkip = nativeSkipReason();
const { engine, skip: wasmSkip } = await loadWasmEngine('wasm-simd');
const skip = nativeSkip || wasmSkip || false;
const weights = join(repoRoot, 'weights');
if (engine) {
  const { text, shards } = readModelDir(weights);
  engine.loadModel(text, shards);
}
const tmp = mkdtempSync(join(tmpdir(), 'mvb-heatmap-'));
after(() => {
  rmSync(tmp, { recursive: true, force: true });
  if (engine) disposeEngine(engine);
});

// `mvb explain` on a photo: its sentence ("where it looked for mountain: the upper left")
// and the PNG it wrote.
function explain(photo) {
  const out = join(tmp, 'explain.png');
  const r = spawnSync(nativeCli, ['explain', '--model', weights, photo, '-o', out], { encoding: 'utf8', timeout: 60000 });
  assert.equal(r.status, 0, r.stderr);
  return { where: r.stdout.match(/: (where it looked for \w+: .+)$/m)[1], png: readPng(out) };
}

// What the worker hands the page for these bytes.
function pageHeatmap(bytes) {
  const result = engine.classifyBytes(bytes);
  return pickHeatmap(engine.meta, engine.outputs(), result);
}

test('for every example photo the page says what `mvb explain` says', { skip }, () => {
  const dir = join(repoRoot, 'web', 'examples');
  const photos = readdirSync(dir).filter((f) => /\.(jpe?g|png)$/i.test(f));
  assert.ok(photos.length >= 4, `${photos.length} example photos`);
  for (const f of photos) {
    const map = pageHeatmap(readFileSync(join(dir, f)));
    assert.ok(map && map.rows === 4 && map.cols === 4 && map.values.length === 16, f);
    assert.equal(whereSentence(map).toLowerCase(), explain(join(dir, f)).where, f);
  }
});

// A peak under a sky above sand: a photo whose map has a place to point at.
function photoPixel(x, y, W, H) {
  const peak = y > H * 0.15 && y < H * 0.6 && Math.abs(x - W * 0.3) < (y - H * 0.15) * 0.9;
  if (peak) return [110 + (y % 7) * 8, 110, 125];
  return y < H * 0.6 ? [120, 170, 230 - (x % 5) * 4] : [225, 200, 150 - (x % 9) * 3];
}

test('the page blends the map over a photo as `mvb explain` does, each channel within 1', { skip }, () => {
  const W = 120, H = 90;
  const bmp = writeBmp(W, H, (x, y) => photoPixel(x, y, W, H));
  const rgba = new Uint8ClampedArray(W * H * 4);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) rgba.set([...photoPixel(x, y, W, H), 255], (y * W + x) * 4);
  const before = Uint8ClampedArray.from(rgba);
  const file = join(tmp, 'photo.bmp');
  writeFileSync(file, bmp);
  const map = pageHeatmap(bmp);
  assert.notEqual(whereItLooked(map), 'evenly across the photo', 'a map with somewhere to point');
  blendHeatmap(rgba, W, H, map);
  const { png } = explain(file);
  assert.deepEqual([png.width, png.height], [W, H]);
  let worst = 0, changed = 0;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const c = png.at(x, y);
      for (let ch = 0; ch < 3; ch++) worst = Math.max(worst, Math.abs(c[ch] - rgba[(y * W + x) * 4 + ch]));
      if (before[(y * W + x) * 4] !== c[0]) changed++;
    }
  }
  assert.ok(changed > W * H / 4, `the map is drawn (${changed} pixels changed)`);
  assert.ok(worst <= 1, `largest difference from the CLI's PNG: ${worst}`);
});
