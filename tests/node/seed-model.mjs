// The original model's graph with the conformance kit's synthetic weights
// (../shared/conformance/seed-inception-v3, relative to the repo root; read-only, not
// part of this repository). Used by conformance.test.mjs and bench/.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { repoRoot } from './engines.mjs';

export const kitDir = join(repoRoot, '..', 'shared', 'conformance', 'seed-inception-v3');
export const seedModelDir = join(repoRoot, 'build', 'seed-model');
export const SEED_SHA256 = 'bb38e033033da07faabc1eacf867cc346990891cf05135280b8fdf210ef0c696';
export const INPUTS = ['half', 'rand01', 'page_u8'];

export function kitSkipReason() {
  return existsSync(join(kitDir, 'model.json'))
    ? null
    : `needs the conformance kit at ${kitDir} (../shared beside the checkout), which is absent`;
}

function shardsSha256(dir) {
  const model = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
  const h = createHash('sha256');
  for (const g of model.weightsManifest) {
    for (const p of g.paths) {
      const f = join(dir, p);
      if (!existsSync(f)) return null;
      h.update(readFileSync(f));
    }
  }
  return h.digest('hex');
}

// build/seed-model: model.json + the `centered` seed-1234 shards, generated once and
// reused while their concatenated sha256 is the kit's.
export function ensureSeedModel() {
  if (existsSync(join(seedModelDir, 'model.json')) && shardsSha256(seedModelDir) === SEED_SHA256) return seedModelDir;
  rmSync(seedModelDir, { recursive: true, force: true });
  const r = spawnSync(process.execPath, [
    join(kitDir, 'gen-shards.js'), '--model', join(kitDir, 'model.json'), '--mode', 'centered', '--seed', '1234', '--out', seedModelDir,
  ], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`gen-shards.js failed: ${r.stderr}`);
  const sha = shardsSha256(seedModelDir);
  if (sha !== SEED_SHA256) throw new Error(`generated shards have sha256 ${sha}, the kit says ${SEED_SHA256}`);
  return seedModelDir;
}

// build/seed-model-<name>: the same graph with the signature's output moved to an
// inner node (the nodes after it dropped), shards linked from seed-model. The logit
// variant gives the logit directly instead of recovering it from a rounded probability.
export const VARIANTS = {
  logit: 'StatefulPartitionedCall/model/dense_1/BiasAdd',
  hidden: 'StatefulPartitionedCall/model/dense/Relu', // the 512 dense activations
};

export function ensureVariantModel(variant) {
  const node = VARIANTS[variant];
  const base = ensureSeedModel();
  const dir = join(repoRoot, 'build', `seed-model-${variant}`);
  const model = JSON.parse(readFileSync(join(base, 'model.json'), 'utf8'));
  const [outName, out] = Object.entries(model.signature.outputs)[0];
  if (outName !== 'Identity:0') throw new Error(`unexpected signature output ${outName}`);
  const width = variant === 'hidden' ? '512' : '1';
  model.signature.outputs = {
    [`${node}:0`]: { ...out, name: `${node}:0`, tensorShape: { dim: [{ size: '-1' }, { size: width }] } },
  };
  const after = ['Identity', 'StatefulPartitionedCall/model/dense_1/Sigmoid', VARIANTS.logit];
  const dropped = new Set(after.slice(0, after.indexOf(node) < 0 ? after.length : after.indexOf(node)));
  model.modelTopology.node = model.modelTopology.node.filter((n) => !dropped.has(n.name));
  // The Consts that only dropped nodes read stay: the manifest and shards are unchanged.
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'model.json'), JSON.stringify(model));
  for (const g of model.weightsManifest) {
    for (const p of g.paths) symlinkSync(relative(dir, join(base, p)), join(dir, p));
  }
  return dir;
}

export function reference(backend = 'wasm') {
  return JSON.parse(readFileSync(join(kitDir, 'reference', `centered.${backend}.json`), 'utf8'));
}

export const inputPath = (name) => join(kitDir, 'inputs', `${name}.f32`);
