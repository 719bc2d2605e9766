// Loads a graph-model directory (model.json + shards) into TensorFlow.js in Node
// without tfjs-node: tf.loadGraphModel('file://...') needs tfjs-node's file handler,
// so this reads the files itself and hands tfjs the model artifacts.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

export async function readModelArtifacts(tf, dir, modelFile = 'model.json') {
  const json = JSON.parse(await readFile(join(dir, modelFile), 'utf8'));
  return tf.io.getModelArtifactsForJSON(json, async (manifest) => {
    const specs = [];
    const buffers = [];
    // tfjs reads groups and shards in manifest order; so must the engine.
    for (const group of manifest) {
      for (const p of group.paths) buffers.push(await readFile(join(dir, p)));
      specs.push(...group.weights);
    }
    const all = Buffer.concat(buffers);
    return [specs, all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength)];
  });
}

export async function loadDirGraphModel(tf, dir, modelFile) {
  const artifacts = await readModelArtifacts(tf, dir, modelFile);
  return tf.loadGraphModel({ load: async () => artifacts });
}

export async function readF32(path) {
  const b = await readFile(path);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}
