#!/usr/bin/env node
// Speed and memory of this engine's wasm SIMD build (through web/engine.js) against
// @tensorflow/tfjs-backend-wasm 4.22 (SIMD, one thread) in Node, on the original
// model's graph with the conformance kit's seed weights and the same 200x200 input.
// Each engine runs in its own process (so load time and peak memory are its own);
// rounds alternate between them so that machine load affects both alike.
// Reports numbers only: nothing here asserts a time.
//
//   node bench/bench-vs-tfjs.mjs [--rounds 20] [--reps 3] [--threads] [--int8] [--no-write]
//
// --int8 adds this engine in int8 precision (one more row each, interleaved likewise).
//
// Needs ../shared/conformance/seed-inception-v3 beside the checkout (the graph and the
// weight generator), build/wasm-simd (./build.sh) and tests/node_modules (npm ci).
import { execSync, fork, spawnSync } from 'node:child_process';
import { writeResultsSection } from './results-file.mjs';

const HEADING = '## In Node (bench/bench-vs-tfjs.mjs): this engine vs TensorFlow.js wasm on the original graph';
import os from 'node:os';
import { join } from 'node:path';
import { loadWasmEngine, repoRoot } from '../tests/node/engines.mjs';
import { ensureSeedModel, inputPath, kitSkipReason } from '../tests/node/seed-model.mjs';
import { median, option } from './stats.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => Number(option(args, name, dflt));
// Short rounds: the machine's load drifts, and alternating often spreads it evenly.
const ROUNDS = opt('--rounds', 20);
const REPS = opt('--reps', 3);
const INPUT = 'rand01';

const MiB = (b) => `${(b / 1048576).toFixed(0)} MiB`;

function startChild(kind, modelDir) {
  const child = fork(join(repoRoot, 'bench', 'bench-child.mjs'), [kind, modelDir, inputPath(INPUT)], {
    execArgv: ['--expose-gc'],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'], // tfjs prints a banner on stdout
  });
  const waiters = [];
  child.on('message', (m) => waiters.shift()?.resolve(m));
  child.on('exit', (code) => {
    for (const w of waiters.splice(0)) w.reject(new Error(`${kind} child exited with ${code}`));
  });
  const next = () => new Promise((resolve, reject) => waiters.push({ resolve, reject }));
  return {
    kind,
    ready: next(),
    async call(cmd) {
      const p = next();
      child.send(cmd);
      return p;
    },
  };
}

async function main() {
  const kitSkip = kitSkipReason();
  if (kitSkip) {
    console.error(`bench-vs-tfjs: ${kitSkip}`);
    process.exit(2);
  }
  const probe = await loadWasmEngine('wasm-simd');
  if (!probe.engine) {
    console.error(`bench-vs-tfjs: ${probe.skip}`);
    process.exit(2);
  }
  probe.engine.dispose();
  const modelDir = ensureSeedModel();
  const threads = args.includes('--threads');
  const int8 = args.includes('--int8');
  let kinds = ['mvb', 'tfjs', ...(threads ? ['mvb-threads'] : []), ...(int8 ? ['mvb-int8'] : []), ...(threads && int8 ? ['mvb-threads-int8'] : [])];
  const loadavgBefore = os.loadavg();

  // Start one at a time so load times do not compete with each other.
  const children = [];
  const ready = {};
  for (const kind of kinds) {
    const c = startChild(kind, modelDir);
    ready[kind] = await c.ready;
    if (ready[kind].type === 'error') {
      console.error(`bench-vs-tfjs: ${kind} did not start: ${ready[kind].message}`);
      if (!kind.startsWith('mvb-threads')) process.exit(1);
      continue; // the optional threaded row is left out
    }
    children.push(c);
  }
  kinds = children.map((c) => c.kind);
  const times = Object.fromEntries(kinds.map((k) => [k, []]));
  const roundMedians = Object.fromEntries(kinds.map((k) => [k, []]));
  const outputs = {};
  for (let r = 0; r < ROUNDS; r++) {
    // Alternate who goes first so a slow spell does not always land on one engine.
    const order = r % 2 ? [...children].reverse() : children;
    for (const c of order) {
      const res = await c.call({ cmd: 'run', n: REPS });
      times[c.kind].push(...res.times);
      roundMedians[c.kind].push(median(res.times));
      outputs[c.kind] = res.output;
    }
  }
  const stats = {};
  for (const c of children) stats[c.kind] = await c.call({ cmd: 'stats' });

  const label = {
    mvb: 'this engine, wasm SIMD, 1 thread',
    'mvb-threads': 'this engine, wasm SIMD + threads',
    'mvb-int8': 'this engine, int8, wasm SIMD, 1 thread',
    'mvb-threads-int8': 'this engine, int8, wasm SIMD + threads',
    tfjs: 'tfjs-backend-wasm 4.22, SIMD, 1 thread',
  };
  const rows = kinds.map((k) => {
    const s = stats[k];
    const r = ready[k];
    return `| ${label[k]} | ${median(times[k]).toFixed(1)} | ${Math.min(...times[k]).toFixed(1)} | ${r.firstMs.toFixed(0)} | ${r.loadMs.toFixed(0)} | ${MiB(s.rssAfterLoad)} | ${MiB(s.peakRss)} | ${MiB(r.wasmAfterLoad)} | ${MiB(r.liveAfterLoad)} / ${MiB(s.liveWasm)} | ${outputs[k].toFixed(7)} |`;
  });
  const ratio = median(times.mvb) / median(times.tfjs);
  // Rounds are paired in time, so their ratio cancels slow drifts of the machine's load.
  const pairedRatio = median(roundMedians.mvb.map((m, i) => m / roundMedians.tfjs[i]));
  const perRound = kinds.map((k) => `${k}: ${roundMedians[k].map((x) => x.toFixed(1)).join(', ')}`);
  const pairedTo = (k, base) => median(roundMedians[k].map((m, i) => m / roundMedians[base][i]));
  const int8Ratios = kinds.includes('mvb-int8')
    ? [`int8 / tfjs-wasm: ${(median(times['mvb-int8']) / median(times.tfjs)).toFixed(3)} (paired ${pairedTo('mvb-int8', 'tfjs').toFixed(3)}); int8 / f32, both 1 thread: ${pairedTo('mvb-int8', 'mvb').toFixed(3)} (paired).`, '']
    : [];
  let commit = 'unknown';
  try {
    commit = execSync('git rev-parse --short HEAD', { cwd: repoRoot, encoding: 'utf8' }).trim();
  } catch {}
  const cpu = os.cpus();
  const idle = spawnSync(process.execPath, ['-e', 'console.log(process.memoryUsage().rss)'], { encoding: 'utf8' });
  const report = [
    HEADING,
    '',
    `Measured ${new Date().toISOString()} by \`node bench/bench-vs-tfjs.mjs\` at commit ${commit}.`,
    `Machine: ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores, ${MiB(os.totalmem())} RAM, ${os.type()} ${os.release()}, Node ${process.version}; load average before the run ${loadavgBefore.map((x) => x.toFixed(2)).join(' ')}, after ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}.`,
    '',
    `Model: the original graph (InceptionV3 to mixed7 + dense head, 200x200x3 input) with the conformance kit's \`centered\` seed-1234 weights (48.3 MB of uint8 shards); input \`${INPUT}.f32\`.`,
    `Timing: after one warm-up inference, ${ROUNDS} rounds x ${REPS} inferences per engine, alternating engines (and which goes first) every round; each engine in its own Node process.`,
    '',
    '| engine | median ms | best ms | first inference ms | load ms | RSS after load | peak RSS | wasm memory after load | live in wasm heap (after load / at end) | output |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    `**Median latency ratio (this engine / tfjs-wasm): ${ratio.toFixed(3)}**; median of the per-round ratios: ${pairedRatio.toFixed(3)} (below 1 means this engine is faster).`,
    '',
    ...int8Ratios,
    `Per-round medians (ms): ${perRound.join('; ')}.`,
    '',
    'Load ms: from the child starting its engine (importing the module, instantiating wasm) to the model ready, including reading the shards from disk.',
    `RSS after load is measured after a forced GC; peak RSS is the kernel's high-water mark (\`process.resourceUsage().maxRSS\`) for the whole process; wasm memory is the size of the engine's WebAssembly memory after loading (it never shrinks, so it shows the load-time peak); live in wasm heap is that size minus what malloc can still hand out in 1 MiB blocks without growing it, i.e. what the engine keeps allocated. An idle Node process here: ${MiB(Number(idle.stdout))} RSS.`,
    'The float32 weights of this model alone are 184 MiB (48.3 M values x 4 bytes).',
    '',
  ].join('\n');
  console.log(report);
  if (!args.includes('--no-write')) {
    writeResultsSection(repoRoot, HEADING, report);
    console.log('written to bench/RESULTS.md');
  }
}

await main();
