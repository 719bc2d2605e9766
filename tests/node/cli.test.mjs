// The native CLI as a user runs it: `mvb classify` on good and bad files, plain and --json,
// finding the checkout's weights/ by itself; usage errors exit 2. Then as a hostile or unlucky
// user runs it: FIFOs, devices, directories and huge files are refused at once, a failed write
// is said, and names and model strings never reach the terminal or the JSON raw.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { nativeCli, nativeSkipReason, repoRoot } from './engines.mjs';

const skip = nativeSkipReason() ?? false; // node:test skips on null too
const mountain = join(repoRoot, 'web', 'examples', 'aitzgorri.jpg');
const weights = join(repoRoot, 'weights');

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
    // The confidence is the verdict's probability; score = P(mountain) among beach + mountain.
    const p = lines[0].probabilities;
    assert.equal(lines[0].confidence, p.mountain);
    assert.ok(Math.abs(lines[0].score - p.mountain / (p.beach + p.mountain)) < 2e-6, JSON.stringify(lines[0]));
    if ('neither' in p) assert.ok(Math.abs(p.beach + p.mountain + p.neither - 1) < 1e-5, JSON.stringify(p));
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
  assert.match(r.stdout, /aitzgorri\.jpg: mountain \d+\.\d% \(score 0\.\d{4}(; beach 0\.\d{3}, mountain 0\.\d{3}, neither 0\.\d{3})?\)/);
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
  r = mvb(['classify', '--precision', 'int4', mountain]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--precision is f32 or int8, not "int4"/);
});

test('classify --precision int8 gives the f32 verdict on the example photo', { skip }, () => {
  const [f32, int8] = ['f32', 'int8'].map((p) => mvb(['classify', '--json', '--precision', p, mountain]));
  assert.equal(f32.status, 0, f32.stderr);
  assert.equal(int8.status, 0, int8.stderr);
  const [a, b] = [f32, int8].map((r) => JSON.parse(r.stdout));
  assert.equal(b.verdict, a.verdict);
  assert.ok(Math.abs(b.score - a.score) <= 0.03, `int8 score ${b.score}, f32 ${a.score}`);
  assert.notEqual(b.score, a.score, 'int8 printed f32\'s exact score: was --precision passed on?');
});

// ---- hostile files, failed writes, untrusted text ----------------------------------------

// Each run below has a deadline, so a CLI that blocks fails its test instead of hanging the suite.
const DEADLINE_MS = 10000;

// Runs cmd with raw Buffer output (decoding would hide a byte that is not UTF-8) under the
// deadline; fails the test if it had to be killed. {status, stdout, stderr (text), err (bytes), ms}.
function runRaw(cmd, args, { stdio = 'pipe', cwd = tmpdir() } = {}) {
  const start = performance.now();
  const r = spawnSync(cmd, args, { cwd, stdio, timeout: DEADLINE_MS });
  const ms = performance.now() - start;
  assert.equal(r.error, undefined, `${args.join(' ')}: ${r.error?.message} after ${Math.round(ms)} ms`);
  assert.equal(r.signal, null, `${args.join(' ')}: killed by ${r.signal}`);
  const err = r.stderr ?? Buffer.alloc(0);
  return { status: r.status, stdout: r.stdout ?? Buffer.alloc(0), stderr: err.toString('latin1'), err, ms };
}

const mvbRaw = (args, options) => runRaw(nativeCli, args, options);

function inTmpDir(fn) {
  const dir = mkdtempSync(join(tmpdir(), 'mvb-cli-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function mkfifo(path) {
  const r = spawnSync('mkfifo', [path]);
  assert.equal(r.status, 0, `mkfifo ${path}: ${r.stderr}`);
}

// Strict: a raw 0xFF byte throws here, where a lenient decode would turn it into U+FFFD.
const jsonLines = (bytes) =>
  new TextDecoder('utf-8', { fatal: true }).decode(bytes).trim().split('\n').map((l) => JSON.parse(l));

const modelJson = () => JSON.parse(readFileSync(join(weights, 'model.json'), 'utf8'));

// Bytes a terminal would act on: C0 controls (but the newline ending each line), DEL, 8-bit C1,
// and U+202A..U+202E, U+2066..U+2069 in UTF-8.
function rawControls(bytes) {
  const found = [];
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if ((b < 0x20 && b !== 0x0a) || b === 0x7f) found.push(`0x${b.toString(16)} at ${i}`);
    if (b === 0xc2 && bytes[i + 1] >= 0x80 && bytes[i + 1] <= 0x9f) found.push(`C1 at ${i}`);
    if (b === 0xe2 && bytes[i + 1] === 0x80 && bytes[i + 2] >= 0xaa && bytes[i + 2] <= 0xae) found.push(`bidi at ${i}`);
    if (b === 0xe2 && bytes[i + 1] === 0x81 && bytes[i + 2] >= 0xa6 && bytes[i + 2] <= 0xa9) found.push(`bidi at ${i}`);
  }
  return found;
}

test('an image that is a FIFO is refused at once, not waited on; the rest go on', { skip }, () => {
  inTmpDir((dir) => {
    const fifo = join(dir, 'photo.jpg');
    mkfifo(fifo);
    const r = mvbRaw(['classify', '--json', fifo, mountain]);
    assert.equal(r.status, 1, r.stderr);
    const [refused, classified] = jsonLines(r.stdout);
    assert.equal(refused.error, `image "${fifo}" is not a regular file (a FIFO)`);
    assert.equal(classified.verdict, 'mountain');
    assert.equal(r.stderr, `mvb: image "${fifo}" is not a regular file (a FIFO)\n`);
  });
});

test('a weight shard that is a FIFO is refused at once, naming the shard', { skip }, () => {
  inTmpDir((dir) => {
    writeFileSync(join(dir, 'model.json'), readFileSync(join(weights, 'model.json')));
    const shards = modelJson().weightsManifest.flatMap((g) => g.paths);
    for (const p of shards) mkfifo(join(dir, p));
    const r = mvbRaw(['classify', '--model', dir, mountain]);
    assert.equal(r.status, 2, r.stderr);
    const shard = join(dir, shards[0]);
    assert.equal(r.stderr, `mvb: cannot load model from ${dir}: weight shard "${shard}" is not a regular file (a FIFO)\n`);
  });
});

test('/dev/zero as an image is refused as a device, without reading it', { skip }, () => {
  const r = mvbRaw(['classify', '/dev/zero']);
  assert.equal(r.status, 1, r.stderr);
  assert.equal(r.stderr, 'mvb: image "/dev/zero" is not a regular file (a character device)\n');
});

test('a directory as an image is refused as a directory', { skip }, () => {
  inTmpDir((dir) => {
    const r = mvbRaw(['classify', dir]);
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stderr, `mvb: image "${dir}" is a directory\n`); // the message names the file once
  });
});

const timeV = '/usr/bin/time';
test('an image above the 256 MiB cap is refused from its size, before it is read (RSS stays small)', {
  skip: skip || (existsSync(timeV) ? false : `${timeV} is missing (it measures the peak RSS)`),
}, () => {
  inTmpDir((dir) => {
    // Sparse: 1 GiB + 1 of nothing on disk, but a reader that read it would hold it all.
    const big = join(dir, 'huge.jpg');
    writeFileSync(big, '');
    truncateSync(big, 2 ** 30 + 1);
    const r = runRaw(timeV, ['-v', nativeCli, 'classify', big]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(`^mvb: image "${big}" is 1073741825 bytes, more than the limit of 268435456 bytes\n`),
    );
    const rssKiB = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr)?.[1]);
    assert.ok(rssKiB > 0 && rssKiB < 200 * 1024, `peak RSS ${rssKiB} KiB`);
  });
});

test('run --input above its 1 GiB cap is refused from its size', { skip }, () => {
  inTmpDir((dir) => {
    const big = join(dir, 'huge.f32');
    writeFileSync(big, '');
    truncateSync(big, 2 ** 30 + 4);
    const r = mvbRaw(['run', '--model', weights, '--input', big, '--output', join(dir, 'out.f32')]);
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stderr, `mvb: input tensor "${big}" is 1073741828 bytes, more than the limit of 1073741824 bytes\n`);
  });
});

test('run --input of the wrong size or with a non-finite value is refused, naming the file', { skip }, () => {
  inTmpDir((dir) => {
    const dims = modelJson().signature.inputs['input:0'].tensorShape.dim.map((d) => Math.max(1, Number(d.size)));
    const values = dims.reduce((a, b) => a * b);
    const input = join(dir, 'in.f32');
    const output = join(dir, 'out.f32');
    const refused = (bytes, stderr) => {
      writeFileSync(input, bytes);
      const r = mvbRaw(['run', '--model', weights, '--input', input, '--output', output]);
      assert.equal(r.status, 1, r.stderr);
      assert.equal(r.stderr, stderr);
      assert.equal(existsSync(output), false, 'an output was written');
    };
    // One value's worth of bytes too few is the wrong count; 1 to 3 stray bytes after the right
    // count were once dropped without a word.
    refused(Buffer.alloc(4 * values + 3), `mvb: input tensor "${input}" is ${4 * values + 3} bytes, not a whole number of float32 values (4 bytes each)\n`);
    refused(Buffer.alloc(4 * (values - 1)), `mvb: ${input}: input has ${values - 1} values; the model expects ${values}\n`);
    const nan = new Float32Array(values);
    nan[7] = NaN;
    refused(Buffer.from(nan.buffer), `mvb: ${input}: input value 7 is nan; inputs must be finite\n`);
  });
});

test('a missing file with a long path is named whole, though the message cuts it', { skip }, () => {
  inTmpDir((dir) => {
    // Five 100-byte directories that do not exist: the path is far beyond what a message keeps.
    const deep = join(dir, ...Array.from({ length: 5 }, (_, i) => `${i}`.repeat(100)));
    const image = join(deep, 'missing.jpg');
    let r = mvbRaw(['classify', image]);
    assert.equal(r.status, 1, r.stderr);
    assert.ok(r.stderr.startsWith(`mvb: ${image}: cannot open image "`), r.stderr);
    assert.match(r.stderr, /No such file or directory\n$/);
    const input = join(deep, 'missing.f32');
    r = mvbRaw(['run', '--model', weights, '--input', input, '--output', join(dir, 'out.f32')]);
    assert.equal(r.status, 1, r.stderr);
    assert.ok(r.stderr.startsWith(`mvb: ${input}: cannot open input tensor "`), r.stderr);
  });
});

test('classify > /dev/full exits 1 and says the results could not be written', { skip }, () => {
  for (const args of [['classify', mountain], ['classify', '--json', mountain, mountain]]) {
    const full = openSync('/dev/full', 'w');
    let r;
    try {
      r = mvbRaw(args, { stdio: ['ignore', full, 'pipe'] });
    } finally {
      closeSync(full);
    }
    assert.equal(r.status, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr, 'mvb: cannot write the results to standard output: No space left on device\n');
  }
});

test('run --output /dev/full exits 1 and says the output could not be written', { skip }, () => {
  inTmpDir((dir) => {
    const dims = modelJson().signature.inputs['input:0'].tensorShape.dim.map((d) => Math.max(1, Number(d.size)));
    const input = join(dir, 'in.f32');
    writeFileSync(input, Buffer.alloc(4 * dims.reduce((a, b) => a * b)));
    const r = mvbRaw(['run', '--model', weights, '--input', input, '--output', '/dev/full']);
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stderr, 'mvb: cannot write /dev/full: No space left on device\n');
  });
});

test('--json with file names that are not UTF-8 still writes valid JSON, each bad byte as U+FFFD', { skip }, () => {
  inTmpDir((dir) => {
    const bytesName = (...parts) => Buffer.concat(parts.map((p) => Buffer.from(p)));
    writeFileSync(bytesName(join(dir, 'caf'), [0xff], '.jpg'), readFileSync(mountain));
    writeFileSync(bytesName(join(dir, 'notes'), [0xfe, 0x1b], '.jpg'), 'not a photo');
    // Node hands arguments over as UTF-8 strings; a shell glob hands over the raw bytes.
    const r = runRaw('sh', ['-c', 'exec "$0" classify --json "$1"/caf*.jpg "$1"/notes*.jpg', nativeCli, dir]);
    assert.equal(r.status, 1, r.stderr);
    const [photo, notes] = jsonLines(r.stdout);
    assert.equal(photo.file, join(dir, 'caf\ufffd.jpg'));
    assert.equal(photo.verdict, 'mountain');
    assert.equal(notes.file, join(dir, 'notes\ufffd\u001b.jpg'));
    assert.match(notes.error, /not a JPEG, PNG, BMP or GIF/);
    assert.deepEqual(rawControls(r.stdout), []);
    // On stderr the same name shows its bytes.
    assert.ok(r.stderr.includes(`mvb: ${join(dir, 'notes')}\\xfe\\x1b.jpg: `), r.stderr);
    assert.deepEqual(rawControls(r.err), []);
  });
});

test('plain output shows ESC, BEL and U+202E in a file name as visible escapes', { skip }, () => {
  inTmpDir((dir) => {
    const name = join(dir, 'a\u001b[31m\u0007\u202eb.jpg');
    writeFileSync(name, readFileSync(mountain));
    const r = mvbRaw(['classify', name]);
    assert.equal(r.status, 0, r.stderr);
    const out = r.stdout.toString('utf8');
    assert.ok(out.startsWith(`${join(dir, 'a')}\\x1b[31m\\x07\\u202eb.jpg: mountain `), out);
    assert.deepEqual(rawControls(r.stdout), []);
  });
});

test('a model.json naming a node with ESC, BEL and U+202E is refused, the name escaped on stderr', { skip }, () => {
  inTmpDir((dir) => {
    const model = modelJson();
    // A node whose input names a node that does not exist: the message quotes the hostile name.
    const evil = 'x\u001b]0;pwned\u0007\u202eevil';
    const node = model.modelTopology.node.find((n) => n.input?.length);
    node.input[0] = evil;
    writeFileSync(join(dir, 'model.json'), JSON.stringify(model));
    writeFileSync(join(dir, model.weightsManifest[0].paths[0]), readFileSync(join(weights, model.weightsManifest[0].paths[0])));
    const r = mvbRaw(['classify', '--model', dir, mountain]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /^mvb: cannot load model from .*x\\x1b\]0;pwned\\x07\\u202eevil/);
    assert.deepEqual(rawControls(r.err), []);
  });
});

test('--threads 64 on fewer cores is lowered to the cores online, with a note', {
  skip: skip || (cpus().length >= 64 ? 'this machine has 64 cores or more' : false),
}, () => {
  const r = mvbRaw(['classify', '--threads', '64', mountain]);
  assert.equal(r.status, 0, r.stderr);
  const note = r.stderr.match(/^mvb: --threads 64 is more than the (\d+) cores? online; using \1\n$/);
  assert.ok(note, r.stderr);
  assert.equal(Number(note[1]), cpus().length, 'the cores the CLI counts, against the OS');
  assert.match(mvbRaw(['--help']).stdout.toString(), /--threads N +runs on N threads, at most one per core online/);
});

test('--help after a command prints the usage, with --precision, and succeeds; after "--" it is a file', { skip }, () => {
  for (const argv of [['--help'], ['classify', '--help'], ['explain', '-h'], ['run', '--model', 'x', '--help']]) {
    const r = mvbRaw(argv);
    assert.equal(r.status, 0, `${argv.join(' ')}: ${r.stderr}`);
    assert.match(r.stdout.toString(), /^usage: mvb classify \[--model DIR\] \[--json\] \[--threads N\] \[--precision P\]/);
    assert.equal(r.stderr.toString(), '');
  }
  const r = mvbRaw(['classify', '--json', '--', '--help']);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stdout.toString(), /"file":"--help","error":/);
});

test('--threads that is not a whole number of at least 1 is refused, naming the value', { skip }, () => {
  for (const value of ['abc', '0', '-3', '2x', '']) {
    const r = mvbRaw(['classify', '--threads', value, mountain]);
    assert.equal(r.status, 2, `--threads "${value}": ${r.stderr}`);
    assert.ok(r.stderr.startsWith(`mvb: --threads needs a number of at least 1, not "${value}"\n`), r.stderr);
  }
});
