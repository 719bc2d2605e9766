// engine.js's wasm builds (VARIANTS): the site carries each one, each names a fallback that
// exists and ends at the plain SIMD build, and the choice follows the feature tests.
// (Which build Chromium chooses, and that a failing one hands over, the browser tests check.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './engines.mjs';
import { VARIANTS, chooseVariant, detectFeatures, MvbError, Status } from '../../web/engine.js';

const dist = join(repoRoot, 'dist', 'wasm');

test('every build in VARIANTS is in the site: its script, its wasm and the gzip copy the browser loads', { skip: existsSync(dist) ? undefined : 'dist/ is missing: run ./build.sh first' }, () => {
  for (const [name, v] of Object.entries(VARIANTS)) {
    for (const ext of ['.js', '.wasm', '.wasm.gz']) assert.ok(existsSync(join(dist, v.file + ext)), `${name}: dist/wasm/${v.file}${ext}`);
    if (v.threads) assert.ok(existsSync(join(dist, `${v.file}.worker.js`)), `${name}: its pthread worker script`);
  }
});

test('the relaxed builds\' glue is minified (web/tools/minify-glue.mjs): no larger than its plain SIMD twin\'s', { skip: existsSync(dist) ? undefined : 'dist/ is missing: run ./build.sh first' }, () => {
  const size = (v) => statSync(join(dist, `${v.file}.js`)).size;
  for (const v of Object.values(VARIANTS).filter((x) => x.relaxed)) {
    const twin = Object.values(VARIANTS).find((x) => !x.relaxed && x.threads === v.threads);
    assert.ok(size(v) <= size(twin), `${v.file}.js is ${size(v)} bytes, ${twin.file}.js ${size(twin)}`);
  }
});

test('fallbacks lead from every build to the plain SIMD build, which needs nothing more', () => {
  for (const name of Object.keys(VARIANTS)) {
    const seen = new Set();
    let v = name;
    while (VARIANTS[v].fallback) {
      assert.ok(!seen.has(v), `${name}: a fallback loop`);
      seen.add(v);
      assert.ok(VARIANTS[VARIANTS[v].fallback], `${v}: fallback ${VARIANTS[v].fallback} is not a build`);
      v = VARIANTS[v].fallback;
    }
    assert.equal(v, 'simd', `${name} ends at ${v}`);
  }
  assert.deepEqual([VARIANTS.simd.relaxed, VARIANTS.simd.threads], [false, false]);
});

test('the choice: the first build the runtime can run; an explicit one wins; an unknown one is refused', () => {
  const f = detectFeatures();
  assert.equal(f.threads, false, 'Node never runs the threaded builds');
  assert.equal(chooseVariant(), f.relaxed ? 'relaxed' : 'simd');
  assert.equal(chooseVariant('simd-threads'), 'simd-threads');
  assert.throws(() => chooseVariant('sse'), (e) => e instanceof MvbError && e.status === Status.INVALID_ARGUMENT
    && /unknown variant "sse" \(use one of "relaxed-threads", "relaxed", "simd-threads", "simd"\)/.test(e.message));
});
