// The native CLI as a user runs it: `mvb classify` on good and bad files, plain and --json,
// finding the checkout's weights/ by itself; usage errors exit 2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nativeCli, nativeSkipReason, repoRoot } from './engines.mjs';

const skip = nativeSkipReason() ?? false; // node:test skips on null too
const mountain = join(repoRoot, 'web', 'examples', 'aitzgorri.jpg');

function mvb(args, cwd = tmpdir()) {
  // Run from elsewhere: the CLI must find weights/ from its own location.
  return spawnSync(nativeCli, args, { cwd, encoding: 'utf8' });
}

test('classify --json: one object per file, errors named, the rest go on, exit 1', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'mvb-cli-'));
  try {
    const text = join(dir, 'notes.jpg');
    writeFileSync(text, 'these are notes, not a photo');
    const missing = join(dir, 'missing.png');
    const r = mvb(['classify', '--json', mountain, text, missing]);
    assert.equal(r.status, 1, r.stderr);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines.length, 3);
    assert.equal(lines[0].file, mountain);
    assert.equal(lines[0].verdict, 'mountain');
    assert.ok(lines[0].score > 0.65 && lines[0].score <= 1, `score ${lines[0].score}`);
    assert.equal(lines[0].confidence, lines[0].score);
    assert.equal(lines[1].file, text);
    assert.match(lines[1].error, /not a JPEG, PNG, BMP or GIF/);
    assert.equal(lines[2].file, missing);
    assert.match(lines[2].error, /No such file/);
    assert.match(r.stderr, /notes\.jpg: not a JPEG/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('classify prints verdict, confidence and score; exit 0 when all succeed', { skip }, () => {
  const r = mvb(['classify', mountain]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /aitzgorri\.jpg: mountain \d+\.\d% \(score 0\.\d{4}\)/);
});

test('usage errors exit 2 and say what is wrong', { skip }, () => {
  let r = mvb(['classify']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /usage: mvb classify/);
  r = mvb(['classify', '--threads', '0', mountain]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--threads needs a number/);
  r = mvb(['classify', '--model', '/nonexistent/model-dir', mountain]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /cannot load model from \/nonexistent\/model-dir/);
});
