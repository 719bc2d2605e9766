// results-file.mjs: each benchmark owns one "## " section of bench/RESULTS.md and replaces
// only that section, so running one benchmark keeps the others' figures.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
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
