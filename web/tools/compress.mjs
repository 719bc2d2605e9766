// compress.mjs DIST: stores the big downloads of a first visit gzip-compressed, and checks
// that index.html preloads what exists. build.sh runs it after copying web/, wasm/ and
// weights/ into DIST and before build-manifest.mjs.
//
// GitHub Pages documents no compression (bench/RESULTS.md, "First verdict of a first
// visit"), and serves the weight shards as application/octet-stream, which hosts do not
// compress. So the site carries its own:
// - each weight shard becomes SHARD.gz, named so in DIST's model.json (weightsManifest and
//   mvb.shards: the engine checks the shard's SHA-256 after model-fetch.js has inflated it);
// - each wasm build gets a NAME.wasm.gz beside it, which engine.js loads in the browser (the
//   plain .wasm stays for Node and for other pages' own loaders; build-manifest.mjs leaves
//   it out of the precache).
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile, rm } from 'node:fs/promises';
import { join, dirname, posix } from 'node:path';
import { gzipSync, constants } from 'node:zlib';

const gzip = (buf) => gzipSync(buf, { level: constants.Z_BEST_COMPRESSION });

async function compressShards(dist) {
  const modelPath = join(dist, 'weights', 'model.json');
  if (!existsSync(modelPath)) return [];
  const json = JSON.parse(await readFile(modelPath, 'utf8'));
  const digests = json.mvb && json.mvb.shards;
  const shards = [];
  let changed = false;
  for (const group of json.weightsManifest || []) {
    group.paths = await Promise.all((group.paths || []).map(async (p) => {
      if (p.endsWith('.gz')) return p;
      const file = join(dirname(modelPath), p);
      await writeFile(`${file}.gz`, gzip(await readFile(file)));
      await rm(file);
      changed = true;
      if (digests && digests[p]) {
        digests[`${p}.gz`] = digests[p];
        delete digests[p];
      }
      return `${p}.gz`;
    }));
    shards.push(...group.paths.map((p) => posix.join('weights', p)));
  }
  if (changed) await writeFile(modelPath, `${JSON.stringify(json)}\n`);
  return shards;
}

async function compressWasm(dist) {
  const dir = join(dist, 'wasm');
  if (!existsSync(dir)) return;
  for (const name of await readdir(dir)) {
    if (name.endsWith('.wasm')) await writeFile(join(dir, `${name}.gz`), gzip(await readFile(join(dir, name))));
  }
}

// Every preloaded file must exist (a missing one is a 404 on every visit), and every shard
// should be preloaded (else it starts only once model.json is in).
async function checkPreloads(dist, shards) {
  const html = await readFile(join(dist, 'index.html'), 'utf8');
  const hrefs = [...html.matchAll(/<link\s+rel="(?:module)?preload"\s+href="([^"]+)"/g)].map((m) => m[1]);
  const missing = hrefs.filter((h) => !existsSync(join(dist, h)));
  if (missing.length) throw new Error(`index.html preloads ${missing.join(', ')}, not in ${dist}`);
  const unloaded = shards.filter((s) => !hrefs.includes(s));
  if (unloaded.length) throw new Error(`index.html does not preload the weight shard(s) ${unloaded.join(', ')}`);
}

async function main() {
  const dist = process.argv[2];
  if (!dist) {
    console.error('usage: node web/tools/compress.mjs DIST_DIR');
    process.exit(2);
  }
  const shards = await compressShards(dist);
  await compressWasm(dist);
  await checkPreloads(dist, shards);
}

main().catch((e) => {
  console.error(`compress: ${e.message}`);
  process.exit(1);
});
