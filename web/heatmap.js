// heatmap.js: "Where it looked", the class activation map of a result, drawn and put into
// words by the rules of docs/design.md "Where it looked" (src/heatmap.c draws them for
// `mvb explain`), so the page and the CLI agree. No DOM here: the worker and Node import it.

// Opacity of the map where t = 1 (MVB_HEATMAP_MAX_ALPHA in src/heatmap.h).
export const MAX_ALPHA = 0.7;

// matplotlib's inferno at t = 0, 1/8, ..., 1 (src/heatmap.c INFERNO).
export const INFERNO = Object.freeze([
  [0, 0, 4], [31, 12, 72], [85, 15, 109], [136, 34, 106], [186, 54, 85],
  [227, 89, 51], [249, 140, 10], [249, 201, 50], [252, 255, 164],
].map(Object.freeze));

// The name of the model's heatmap output and what it describes, from model.json's
// mvb.outputs ({kind: 'heatmap', classes, grid}); null for a model without one.
export function heatmapOutput(meta) {
  const outputs = meta && meta.outputs && typeof meta.outputs === 'object' ? meta.outputs : {};
  for (const [name, o] of Object.entries(outputs)) {
    if (o && o.kind === 'heatmap' && Array.isArray(o.classes) && Array.isArray(o.grid)) return { name, ...o };
  }
  return null;
}

// The class whose map explains a verdict: the verdict's own; for "not sure", the likelier
// of beach and mountain (src/cli.c verdict_class).
export function verdictClass(verdict, probabilities = {}) {
  if (verdict === 'beach' || verdict === 'mountain' || verdict === 'neither') return verdict;
  return (probabilities.mountain ?? 0) > (probabilities.beach ?? 0) ? 'mountain' : 'beach';
}

// {cls, rows, cols, values: Float32Array(rows * cols)} for a result, read from the engine's
// outputs ([{name, shape, data}], NHWC [1, rows, cols, classes]); null when the model has
// no heatmap, or the map does not have the shape model.json gives it.
export function pickHeatmap(meta, outputs, result) {
  const described = heatmapOutput(meta);
  if (!described) return null;
  const out = outputs.find((o) => o.name === described.name);
  const cls = verdictClass(result.verdict, result.probabilities);
  const k = described.classes.indexOf(cls);
  const [rows, cols] = described.grid;
  const channels = described.classes.length;
  if (!out || k < 0 || out.shape.length !== 4 || out.shape[1] !== rows || out.shape[2] !== cols ||
      out.shape[3] !== channels || out.data.length !== rows * cols * channels) return null;
  const values = new Float32Array(rows * cols);
  for (let i = 0; i < rows * cols; i++) values[i] = out.data[i * channels + k];
  return { cls, rows, cols, values };
}

// The map's intensities t in [0, 1] per cell (row-major); all 0 for a flat map (a range
// of at most 1e-5 of the largest magnitude: rounding, no place to point at).
export function intensities({ values }) {
  let lo = Infinity, hi = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) throw new Error(`heatmap value ${v} is not a finite number`);
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const range = Math.fround(hi - lo);
  const t = new Float32Array(values.length);
  if (range <= Math.fround(1e-5 * Math.max(Math.abs(lo), Math.abs(hi)))) return t;
  for (let i = 0; i < values.length; i++) t[i] = (values[i] - lo) / range;
  return t;
}

// The two cells pixel i of n reads along an axis of `cells`, and the second's weight
// (centres aligned, as PyTorch's align_corners=False). `offset`: where pixel 0 lies in a
// picture of n pixels (a preview cropped from the middle of the photo).
function sample(i, n, cells, offset = 0) {
  let g = (i + offset + 0.5) * cells / n - 0.5;
  g = Math.min(Math.max(g, 0), cells - 1);
  const lo = Math.floor(g);
  return [lo, lo + 1 < cells ? lo + 1 : lo, g - lo];
}

// The colour of intensity t on the ramp: [r, g, b] bytes, linear between the stops.
export function colourAt(t) {
  if (!(t > 0)) t = 0; // NaN too
  if (t > 1) t = 1;
  const pos = t * 8;
  const k = pos >= 8 ? 7 : Math.floor(pos);
  const f = pos - k;
  return INFERNO[k].map((c, ch) => Math.round(c * (1 - f) + INFERNO[k + 1][ch] * f));
}

// The ramp as a CSS gradient, for the legend.
export function rampGradient(direction = 'to right') {
  const hex = (rgb) => `#${rgb.map((c) => c.toString(16).padStart(2, '0')).join('')}`;
  return `linear-gradient(${direction}, ${INFERNO.map((rgb, i) => `${hex(rgb)} ${(i * 12.5).toFixed(1)}%`).join(', ')})`;
}

// Blends the map over RGBA pixels (an ImageData's data) of width x height, in place: each
// pixel becomes pixel * (1 - a) + colour(t) * a with a = MAX_ALPHA * t. The pixels may be a
// middle crop of the photo scaled to photoWidth x photoHeight (the model saw it uncropped).
export function blendHeatmap(rgba, width, height, map, photoWidth = width, photoHeight = height) {
  const t = intensities(map);
  const ox = (photoWidth - width) / 2, oy = (photoHeight - height) / 2;
  const xs = Array.from({ length: width }, (_, x) => sample(x, photoWidth, map.cols, ox));
  for (let y = 0; y < height; y++) {
    const [r0, r1, fy] = sample(y, photoHeight, map.rows, oy);
    for (let x = 0; x < width; x++) {
      const [c0, c1, fx] = xs[x];
      const top = t[r0 * map.cols + c0] * (1 - fx) + t[r0 * map.cols + c1] * fx;
      const bottom = t[r1 * map.cols + c0] * (1 - fx) + t[r1 * map.cols + c1] * fx;
      const v = top * (1 - fy) + bottom * fy;
      const a = MAX_ALPHA * v;
      const colour = colourAt(v);
      const p = (y * width + x) * 4;
      for (let ch = 0; ch < 3; ch++) rgba[p + ch] = Math.round(rgba[p + ch] * (1 - a) + colour[ch] * a);
    }
  }
}

// How much of cell i (covering [i, i + 1)) lies in [from, to).
const overlap = (i, from, to) => Math.max(0, Math.min(to, i + 1) - Math.max(from, i));

// Where the map points, in the words of src/heatmap.c mvb_heatmap_where: completes "Where it
// looked: ..." ("mostly the upper half", "the lower left", "the middle", ...).
export function whereItLooked(map) {
  const t = intensities(map);
  const { rows, cols } = map;
  if (t.every((v) => v === 0)) return 'evenly across the photo';
  let total = 0, upper = 0, left = 0, middle = 0;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const w = t[r * cols + c] - 0.5;
      if (w <= 0) continue;
      total += w;
      upper += w * overlap(r, 0, rows / 2);
      left += w * overlap(c, 0, cols / 2);
      middle += w * overlap(r, rows / 4, rows * 3 / 4) * overlap(c, cols / 4, cols * 3 / 4);
    }
  }
  const up = upper / total, lf = left / total;
  const v = up >= 2 / 3 ? 'upper' : up <= 1 / 3 ? 'lower' : '';
  const h = lf >= 2 / 3 ? 'left' : lf <= 1 / 3 ? 'right' : '';
  if (v && h) return `the ${v} ${h}`;
  if (v || h) return `mostly the ${v || h} half`;
  return middle / total >= 0.5 ? 'the middle' : 'all over the photo';
}

// The sentence a card shows and a screen reader reads, as `mvb explain` prints it.
export function whereSentence(map) {
  return `Where it looked for ${map.cls}: ${whereItLooked(map)}`;
}
