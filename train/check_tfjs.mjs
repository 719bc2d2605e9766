// Runs a graph model (model.json + shards in a directory) in TensorFlow.js
// and prints its outputs as JSON, so the exported weights can be compared
// with the Python reference (train/graph_ref.py) and the C engine. Every
// signature output is written, in the signature's order, each for the
// whole batch (with one input this is the layout of `mvb run --output`).
//
//   node train/check_tfjs.mjs --model weights --input x.f32 [--output y.f32]
//
// x.f32: raw little-endian float32 NHWC inputs of the model's size (any
// batch). @tensorflow/tfjs is resolved from $MVB_TFJS_DIR, tests/, or the
// current directory. Plain tfjs in Node has no file:// loader (that is
// tfjs-node), so the files are handed over through an IOHandler that reads
// them exactly as they are on disk; the cpu backend computes in float32.
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

async function loadTf() {
  const dirs = [process.env.MVB_TFJS_DIR, path.join(here, '..', 'tests'), process.cwd()].filter(Boolean);
  for (const dir of dirs) {
    if (!existsSync(path.join(dir, 'node_modules', '@tensorflow', 'tfjs'))) continue;
    const require = createRequire(path.join(dir, 'package.json'));
    return import(pathToFileURL(require.resolve('@tensorflow/tfjs')).href);
  }
  throw new Error(`@tensorflow/tfjs not found under ${dirs.join(', ')} (set MVB_TFJS_DIR)`);
}

function fileHandler(tf, dir) {
  return {
    async load() {
      const model = JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8'));
      const specs = [];
      const buffers = [];
      for (const group of model.weightsManifest) {
        specs.push(...group.weights);
        for (const p of group.paths) buffers.push(readFileSync(path.join(dir, p)));
      }
      const all = Buffer.concat(buffers);
      return {
        modelTopology: model.modelTopology,
        format: model.format,
        generatedBy: model.generatedBy,
        convertedBy: model.convertedBy,
        signature: model.signature,
        userDefinedMetadata: model.userDefinedMetadata,
        weightSpecs: specs,
        weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
      };
    },
  };
}

const modelDir = arg('--model', path.join(here, '..', 'weights'));
const input = arg('--input');
const output = arg('--output');
if (!input) {
  console.error('usage: node train/check_tfjs.mjs --model DIR --input X.f32 [--output Y.f32]');
  process.exit(2);
}
const tf = await loadTf();
await tf.setBackend('cpu');
const model = await tf.loadGraphModel(fileHandler(tf, modelDir));
const [, h, w, c] = model.inputs[0].shape;
const bytes = readFileSync(input);
const x = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
const n = x.length / (h * w * c);
if (!Number.isInteger(n) || n < 1) {
  console.error(`${input}: ${x.length} floats is not a whole number of ${h}x${w}x${c} inputs`);
  process.exit(1);
}
const sig = JSON.parse(readFileSync(path.join(modelDir, 'model.json'), 'utf8')).signature;
const names = Object.values(sig.outputs).map((o) => o.name);
const parts = tf.tidy(() => {
  const outs = model.execute(tf.tensor4d(x, [n, h, w, c]), names);
  return (Array.isArray(outs) ? outs : [outs]).map((t) => Array.from(t.dataSync()));
});
const y = parts.flat();
if (output) writeFileSync(output, Buffer.from(new Float32Array(y).buffer));
console.log(JSON.stringify(y));
console.error(`tfjs ${tf.version.tfjs} backend ${tf.getBackend()}: ${n} input(s) of ${h}x${w}x${c}`);
