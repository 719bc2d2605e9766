// A tiny graph model whose answer is fixed by its final bias, whatever the photo: an 8x8
// input, its mean, a MatMul by zeros, then the bias as logits and a softmax over beach,
// mountain and neither. The browser tests use it to see each verdict's card without
// depending on what a trained model thinks of a photo.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GraphBuilder, attr } from '../ops/graph-builder.mjs';

const CLASSES = ['beach', 'mountain', 'neither'];

// logits: one per class, in CLASSES order. Returns {json, files} as GraphBuilder.serialize.
export function fixedModel(logits, { size = 8 } = {}) {
  const g = new GraphBuilder(`fixed-${logits.join('_')}`);
  const x = g.input([1, size, size, 3]);
  const axes = g.int32Const('model/gap/reduction_indices', [2], [1, 2]);
  const gap = g.node('Mean', 'model/gap/Mean', [x, axes], { keep_dims: attr.b(false), Tidx: attr.type('DT_INT32') });
  const zeros = g.addConst('model/dense/kernel', [3, 3], 'float32', Buffer.from(new Float32Array(9).buffer));
  const mm = g.node('MatMul', 'model/dense/MatMul', [gap, zeros], { transpose_a: attr.b(false), transpose_b: attr.b(false) });
  const bias = g.addConst('model/dense/bias', [3], 'float32', Buffer.from(Float32Array.from(logits).buffer));
  const z = g.node('AddV2', 'model/dense/BiasAdd', [mm, bias]);
  g.output(g.node('Softmax', 'model/softmax/Softmax', [z]));
  const model = g.serialize({ outputShape: [-1, 3] });
  model.json.mvb = {
    preprocess: { size: [size, size], resize: 'bilinear-antialias', mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] },
    outputs: { 'Identity:0': { kind: 'probabilities', classes: CLASSES } },
    verdict: { mountain_above: 0.65, beach_below: 0.35, neither_above: 0.5, unsure_above: 0.3 },
  };
  return model;
}

// The probabilities the model gives: softmax(logits).
export function fixedProbabilities(logits) {
  const e = logits.map((v) => Math.exp(v - Math.max(...logits)));
  const sum = e.reduce((a, b) => a + b, 0);
  return Object.fromEntries(CLASSES.map((c, i) => [c, e[i] / sum]));
}

export function writeFixedModel(dir, logits) {
  const { json, files } = fixedModel(logits);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'model.json'), JSON.stringify(json));
  for (const [name, bytes] of files) writeFileSync(join(dir, name), bytes);
  return dir;
}
