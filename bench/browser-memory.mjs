// browser-memory.mjs: what the Chromium processes this Node process started hold, from
// /proc (Linux). Shared by the browser benchmarks.
import { readdirSync, readFileSync } from 'node:fs';

function procTree(rootPid) {
  const children = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(name));
    } catch {} // the process ended meanwhile
  }
  const out = [];
  const todo = [...(children.get(rootPid) || [])];
  while (todo.length) {
    const pid = todo.pop();
    out.push(pid);
    todo.push(...(children.get(pid) || []));
  }
  return out;
}

function kib(text, field) {
  const m = text.match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
  return m ? Number(m[1]) * 1024 : 0;
}

// The renderer holding the page (the largest one: Chromium may keep a spare renderer), its
// current and peak RSS, the anonymous part of its RSS (heaps, wasm memory, pixels: what a
// page can keep alive; the rest is mapped files, such as code pages, and shared memory), and
// the proportional share (PSS) of every Chromium process together.
export function browserMemory() {
  let renderer = { rss: 0, hwm: 0, anon: 0 };
  let pss = 0;
  for (const pid of procTree(process.pid)) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!cmd.includes('chromium')) continue;
      pss += kib(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'), 'Pss');
      if (!cmd.includes('--type=renderer')) continue;
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const rss = kib(status, 'VmRSS');
      if (rss > renderer.rss) renderer = { rss, hwm: kib(status, 'VmHWM'), anon: kib(status, 'RssAnon') };
    } catch {}
  }
  return { rendererRss: renderer.rss, rendererPeak: renderer.hwm, rendererAnon: renderer.anon, browserPss: pss };
}

// A forced GC in the page and in each of its workers (Chromium started with
// --js-flags=--expose-gc), before a measurement.
async function collectGarbage(page) {
  await page.evaluate(() => globalThis.gc && gc());
  for (const w of page.workers()) await w.evaluate(() => globalThis.gc && gc()).catch(() => {});
}

// After a forced GC, a page of the site: its renderer's RSS and peak RSS, every Chromium
// process's PSS, the page's JS heap, the engine's wasm memory (mvb.js memory()), how many
// cards (elements matching `cards`) it holds and how many of them have drawn their preview.
export async function pageMemory(page, cards) {
  await collectGarbage(page);
  await page.waitForTimeout(500);
  const inPage = await page.evaluate(async (selector) => {
    const { load } = await import('./mvb.js');
    const c = await load();
    return {
      cards: document.querySelectorAll(selector).length,
      drawn: document.querySelectorAll(`${selector}[data-preview="shown"]`).length,
      heap: performance.memory ? performance.memory.usedJSHeapSize : NaN,
      worker: await c.memory(),
    };
  }, cards);
  const mem = browserMemory();
  return { ...inPage, rss: mem.rendererRss, peak: mem.rendererPeak, anon: mem.rendererAnon, pss: mem.browserPss };
}

// Bytes as whole MiB for a table, '-' when unknown.
export const mib = (v) => (Number.isFinite(v) ? (v / 1048576).toFixed(0) : '-');
