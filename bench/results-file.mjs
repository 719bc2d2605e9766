// results-file.mjs: each benchmark owns one "## " section of bench/RESULTS.md and replaces
// only that section, so running one benchmark keeps the others' figures.
import { execSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';

const TITLE = '# Benchmark results';

// text must start with heading (a "## " line); the section ends at the next "## " line.
export function writeResultsSection(root, heading, text) {
  const file = join(root, 'bench', 'RESULTS.md');
  let old = existsSync(file) ? readFileSync(file, 'utf8') : '';
  if (!old.startsWith(TITLE)) old = `${TITLE}\n\n${old}`;
  const at = old.indexOf(heading);
  let out;
  if (at < 0) {
    out = `${old.trimEnd()}\n\n${text.trimEnd()}\n`;
  } else {
    const next = old.indexOf('\n## ', at + heading.length);
    out = `${old.slice(0, at)}${text.trimEnd()}\n${next < 0 ? '' : old.slice(next)}`;
  }
  writeFileSync(file, out);
}

// What a measurement ran on: the commit, the browser's version (`browser` is its path)
// and the machine's cores with its load average now.
export function measuredOn(root, browser) {
  let commit = '?';
  try { commit = execSync('git rev-parse --short HEAD', { cwd: root, encoding: 'utf8' }).trim(); } catch {}
  const version = execSync(`${browser} --version`, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  const machine = `${os.cpus().length} cores (load average after: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')})`;
  return { commit, browser: version, machine };
}
