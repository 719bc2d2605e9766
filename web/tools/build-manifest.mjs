// build-manifest.mjs DIST: writes the service worker's precache list into DIST/sw.js and
// DIST/version.json. The version is a hash over every precached file's path and content, so
// a new wasm or new weights always make a new cache version. build.sh runs this after
// copying web/ to dist/.
//
// Each wasm build's files carry what the build needs of the browser ("relaxed-simd"), and the
// manifest carries the feature test for it (engine.js's probe module): the service worker
// does not download a build this browser cannot run.
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile, rm } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { RELAXED_PROBE, VARIANTS } from '../engine.js';

const MARKER = /^const PRECACHE = null;.*$/m;
// Build helpers and docs are not part of the site; .nojekyll and dotfiles are host hints.
const SKIP = [/^tools\//, /^README\.md$/, /(^|\/)\./, /^sw\.js$/, /^version\.json$/, /\.map$/];

async function walk(dir, root, out) {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) await walk(full, root, out);
    else if (entry.isFile()) out.push(relative(root, full).split(sep).join('/'));
  }
  return out;
}

const FEATURES = { 'relaxed-simd': Array.from(RELAXED_PROBE) };

// "relaxed-simd" for the files of a build that needs it (wasm/NAME.js, .wasm, .wasm.gz,
// .worker.js), else null.
function featureOf(path) {
  const m = /^wasm\/([^./]+)\./.exec(path);
  const variant = m && Object.values(VARIANTS).find((v) => v.file === m[1]);
  return variant && variant.relaxed ? 'relaxed-simd' : null;
}

async function main() {
  const dist = process.argv[2];
  if (!dist) {
    console.error('usage: node web/tools/build-manifest.mjs DIST_DIR');
    process.exit(2);
  }
  const swPath = join(dist, 'sw.js');
  const sw = await readFile(swPath, 'utf8');
  if (!MARKER.test(sw)) throw new Error(`${swPath}: no "const PRECACHE = null;" line to replace (already built?)`);

  // The site must not ship its build helpers.
  await rm(join(dist, 'tools'), { recursive: true, force: true });
  const all = await walk(dist, dist, []);
  // A file whose gzip copy the site loads instead (compress.mjs: the wasm builds) is not
  // precached twice.
  const paths = all.filter((p) => !SKIP.some((re) => re.test(p)) && !all.includes(`${p}.gz`)).sort();
  const files = [];
  const hash = createHash('sha256');
  let bytes = 0;
  for (const p of paths) {
    const body = await readFile(join(dist, p));
    const sha256 = createHash('sha256').update(body).digest('hex');
    const entry = { url: p.split('/').map(encodeURIComponent).join('/'), sha256, size: body.length };
    // A host may send a .gz file with Content-Encoding: gzip, and the browser hands the
    // service worker what it holds inflated: that is checked against this hash.
    if (p.endsWith('.gz')) entry.inflated = createHash('sha256').update(gunzipSync(body)).digest('hex');
    const feature = featureOf(p);
    files.push(feature ? { ...entry, feature } : entry);
    hash.update(`${p}\0${sha256}\n`);
    bytes += body.length;
  }
  if (!paths.includes('index.html')) throw new Error(`${dist}: no index.html`);
  const version = hash.digest('hex').slice(0, 16);
  // version.json is derived from the version, so it is precached but not hashed into it.
  const info = JSON.stringify({ version, files: files.length, bytes }, null, 2) + '\n';
  await writeFile(join(dist, 'version.json'), info);
  files.push({ url: 'version.json', sha256: createHash('sha256').update(info).digest('hex'), size: info.length });
  const manifest = { version, files, features: FEATURES };
  await writeFile(swPath, sw.replace(MARKER, `const PRECACHE = ${JSON.stringify(manifest)};`));
  // GitHub Pages: serve files as they are (no Jekyll), whether or not the copy kept dotfiles.
  await writeFile(join(dist, '.nojekyll'), '');
  const hasWasm = paths.some((p) => p.startsWith('wasm/'));
  const hasModel = paths.includes('weights/model.json');
  console.log(`precache: ${files.length} files, ${(bytes / 1048576).toFixed(1)} MiB, version ${version}` +
    `${hasWasm ? '' : ' (warning: no wasm/)'}${hasModel ? '' : ' (warning: no weights/model.json)'}`);
}

main().catch((e) => {
  console.error(`build-manifest: ${e.message}`);
  process.exit(1);
});
