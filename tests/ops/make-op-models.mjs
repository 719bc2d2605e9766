#!/usr/bin/env node
// Writes the op models of op-cases.mjs as graph-model directories, each with a seeded
// random input (input.f32, NHWC float32 little-endian, uniform in inputOffset +-
// inputScale / 2) and TensorFlow.js 4.22's cpu backend output on it (expected.f32),
// read back from the files on disk, plus case.json (which also counts the layers that
// run int8 in int8 precision, so the int8 tests know which outputs it reaches).
//
//   node tests/ops/make-op-models.mjs [--out build/ops-models] [--only NAME_SUBSTRING]
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GraphBuilder, mulberry32, seedFromName } from './graph-builder.mjs';
import { cases } from './op-cases.mjs';
import { loadDirGraphModel } from './tfjs-dir-model.mjs';
import { tf } from './tfjs.mjs';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const defaultOutDir = join(repoRoot, 'build', 'ops-models');

const f32Bytes = (a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

function makeInput(c) {
  const rand = mulberry32(seedFromName(`${c.name}/input`));
  const amp = (c.inputScale ?? 2) / 2;
  const v = new Float32Array(c.input.reduce((a, b) => a * b, 1));
  for (let i = 0; i < v.length; i++) v[i] = (c.inputOffset ?? 0) + amp * (2 * rand() - 1);
  return v;
}

// The convolutions and matmuls that run int8 in int8 precision: those whose dot products
// read at least 64 input channels (INT8_MIN_CHANNELS in src/graph_weights.c); the rest stay f32.
const INT8_MIN_CHANNELS = 64;

function int8Layers(g) {
  const shapes = new Map(g.weights.map((w) => [w.entry.name, w.entry.shape]));
  return g.nodes.filter((n) => {
    const w = shapes.get(n.input?.[1]);
    if (!w) return false;
    if (n.op === 'Conv2D' || n.op === '_FusedConv2D') return w[2] >= INT8_MIN_CHANNELS;
    if (n.op === 'MatMul' || n.op === '_FusedMatMul') return w[n.attr.transpose_b?.b ? 1 : 0] >= INT8_MIN_CHANNELS;
    return false;
  }).length;
}

function build(c) {
  const g = new GraphBuilder(c.name);
  g.output(c.build(g, g.input(c.input)));
  return g;
}

async function writeModel(dir, { json, files }) {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'model.json'), JSON.stringify(json, null, 1));
  for (const [p, bytes] of files) await writeFile(join(dir, p), bytes);
}

async function runTfjs(dir, input, shape) {
  const model = await loadDirGraphModel(tf, dir);
  try {
    const x = tf.tensor(input, shape, 'float32');
    const y = model.execute(x);
    const out = { shape: y.shape, data: y.dataSync().slice() };
    tf.dispose([x, y]);
    return out;
  } finally {
    model.dispose();
  }
}

// Generates every case (or those whose name contains `only`) into outDir, replacing
// what was there. Returns the list of case descriptions written.
export async function generateOpModels(outDir = defaultOutDir, { only } = {}) {
  await tf.setBackend('cpu');
  await rm(outDir, { recursive: true, force: true });
  const written = [];
  for (const c of cases) {
    if (only && !c.name.includes(only)) continue;
    const dir = join(outDir, c.name);
    const input = makeInput(c);
    const desc = {
      name: c.name,
      expect: c.expect,
      status: c.status,
      mentions: c.mentions ?? [],
      mentionsAny: c.mentionsAny ?? [],
      int8: c.int8 ?? 'match',
      int8Mentions: c.int8Mentions ?? [],
      int8Exact: c.int8Exact ?? false, // int8 loses nothing (e.g. a filter of zeros)
      inputShape: c.input,
    };
    const g = build(c);
    desc.int8Layers = int8Layers(g);
    if (c.expect === 'refuse') {
      await writeModel(dir, g.serialize({ outputShape: [-1], ...c.serialize }));
    } else {
      // The signature's output shape is only known after a first run; the reference
      // then comes from a second run on the files as written.
      await writeModel(dir, g.serialize({ outputShape: [-1], ...c.serialize }));
      let first;
      try {
        first = await runTfjs(dir, input, c.input);
      } catch (e) {
        throw new Error(`TensorFlow.js cannot run op model ${c.name}: ${e.message}`);
      }
      await writeModel(dir, build(c).serialize({ outputShape: [-1, ...first.shape.slice(1)], ...c.serialize }));
      const ref = await runTfjs(dir, input, c.input);
      await writeFile(join(dir, 'expected.f32'), f32Bytes(ref.data));
      desc.outputShape = ref.shape;
      desc.maxAbsRef = ref.data.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    }
    await writeFile(join(dir, 'input.f32'), f32Bytes(input));
    await writeFile(join(dir, 'case.json'), JSON.stringify(desc, null, 1));
    written.push({ ...desc, dir });
  }
  await mkdir(outDir, { recursive: true });
  await writeFile(join(outDir, 'index.json'), JSON.stringify(written.map((d) => d.name), null, 1));
  return written;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const opt = (name) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const out = opt('--out') ? resolve(opt('--out')) : defaultOutDir;
  const written = await generateOpModels(out, { only: opt('--only') });
  for (const d of written) {
    const shape = d.outputShape ? `-> [${d.outputShape}] max|ref| ${d.maxAbsRef.toFixed(4)}` : '(must be refused)';
    console.log(`${d.name.padEnd(44)} [${d.inputShape}] ${shape}`);
  }
  console.log(`${written.length} op models in ${out}`);
}
