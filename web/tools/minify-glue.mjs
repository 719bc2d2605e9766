// minify-glue.mjs DIST: minifies the JavaScript glue of the wasm builds that emcc links at
// -O1 (the relaxed-SIMD ones: Binaryen 108, which emcc runs at -O2 and above, breaks relaxed
// SIMD; CMakeLists.txt). At -O1 emcc leaves its glue unminified: 65 KB against the -O3
// builds' 16 KB, fetched before a Chromium visitor's first verdict. terser (web/package.json)
// does what emcc's minifier would: compress and mangle local names; exported and imported
// names are properties and strings, which it leaves alone. build.sh runs this after copying
// the builds to dist/ and before compress.mjs and build-manifest.mjs.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { minify } from 'terser';
import { VARIANTS } from '../engine.js';

async function main() {
  const dist = process.argv[2];
  if (!dist) {
    console.error('usage: node web/tools/minify-glue.mjs DIST_DIR');
    process.exit(2);
  }
  for (const variant of Object.values(VARIANTS).filter((v) => v.relaxed)) {
    const path = join(dist, 'wasm', `${variant.file}.js`);
    const code = await readFile(path, 'utf8');
    const out = await minify(code, { module: true, compress: true, mangle: true });
    await writeFile(path, out.code);
    console.log(`minify-glue: ${variant.file}.js ${code.length} -> ${out.code.length} bytes`);
  }
}

main().catch((e) => {
  console.error(`minify-glue: ${e.message}`);
  process.exit(1);
});
