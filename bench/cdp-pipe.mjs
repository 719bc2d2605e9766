// cdp-pipe.mjs: headless Chromium driven over the DevTools protocol on a pipe
// (--remote-debugging-pipe), for bench/bench-browser-graph.mjs's memory figures. Playwright
// enables the Network domain on every page and worker, and Chromium then keeps response
// bodies (each up to 10 MB) in the renderer for Network.getResponseBody: 59 MiB of the
// original's 48 MB of weights, in any engine's page, which no visitor has. Here only the Page
// domain is enabled; the page object offers the few of Playwright's Page methods that
// benchmark calls, with the same meaning. (bench/soak-browser.mjs stays on Playwright: run
// this way, its memory after "Clear all" was no lower, +34..40 MiB against +30..40.)
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHROMIUM, CHROMIUM_ARGS } from '../tests/browser/helpers.mjs';

// `fn` (a function or an expression) called with `arg`, as an expression.
const call = (fn, arg) => (typeof fn === 'function'
  ? `(${fn})(${arg === undefined || arg === null ? '' : JSON.stringify(arg)})` : fn);

// Starts Chromium with a fresh profile, one page at about:blank. Returns that page.
export async function launchPipe(extraArgs = []) {
  const profile = await mkdtemp(join(tmpdir(), 'mvb-cdp-'));
  const proc = spawn(CHROMIUM, [...CHROMIUM_ARGS, ...extraArgs, `--user-data-dir=${profile}`,
    '--remote-debugging-pipe', 'about:blank'], { stdio: ['ignore', 'ignore', 'ignore', 'pipe', 'pipe'] });
  const [toChrome, fromChrome] = [proc.stdio[3], proc.stdio[4]];
  let nextId = 1;
  const pending = new Map();
  let buffer = Buffer.alloc(0);
  // Messages are JSON, each ended by a NUL byte; events (no id) are not needed here.
  fromChrome.on('data', (chunk) => {
    buffer = Buffer.concat([buffer, chunk]);
    for (let end = buffer.indexOf(0); end >= 0; end = buffer.indexOf(0)) {
      const msg = JSON.parse(buffer.subarray(0, end).toString('utf8'));
      buffer = buffer.subarray(end + 1);
      const p = msg.id && pending.get(msg.id);
      if (!p) continue;
      pending.delete(msg.id);
      if (msg.error) p.reject(new Error(`${p.method}: ${msg.error.message}`));
      else p.resolve(msg.result);
    }
  });
  const send = (method, params = {}, sessionId) => new Promise((ok, fail) => {
    const id = nextId++;
    pending.set(id, { resolve: ok, reject: fail, method });
    toChrome.write(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }) + '\0');
  });

  const { targetInfos } = await send('Target.getTargets');
  const target = targetInfos.find((t) => t.type === 'page');
  const { sessionId } = await send('Target.attachToTarget', { targetId: target.targetId, flatten: true });
  const session = (method, params) => send(method, params, sessionId);
  await session('Page.enable');

  const page = {
    // The value of fn(arg) in the page, awaited if it is a promise; its exception is thrown.
    async evaluate(fn, arg) {
      const r = await session('Runtime.evaluate', { expression: call(fn, arg), awaitPromise: true, returnByValue: true });
      if (r.exceptionDetails) throw new Error(r.exceptionDetails.exception?.description || r.exceptionDetails.text);
      return r.result.value;
    },
    goto: (url) => session('Page.navigate', { url }),
    addInitScript: (fn, arg) => session('Page.addScriptToEvaluateOnNewDocument', { source: call(fn, arg) }),
    // Polls until fn(arg) is truthy in the page (an error while a document loads is a no).
    async waitForFunction(fn, arg, { timeout = 30000 } = {}) {
      const until = Date.now() + timeout;
      for (;;) {
        const v = await page.evaluate(fn, arg).catch(() => undefined);
        if (v) return v;
        if (Date.now() > until) throw new Error(`timed out waiting for ${String(fn).slice(0, 80)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async close() {
      await send('Browser.close').catch(() => {});
      await new Promise((r) => (proc.exitCode !== null ? r() : proc.once('exit', r)));
      await rm(profile, { recursive: true, force: true });
    },
  };
  return page;
}
