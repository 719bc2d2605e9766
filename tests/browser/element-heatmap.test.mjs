// <mvb-classifier>'s "Where it looked" toggle (issue 9, part 1, in the embed), in headless
// Chromium: the same toggle, legend and sentence as the page's cards, from the same code
// (result-view.js + heatmap.js). Run: node --test tests/browser/element-heatmap.test.mjs
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import {
  DIST, skipReason, startServer, launch, watchErrors, screenshot, explainSentence,
} from './helpers.mjs';

const skip = skipReason();
const EXAMPLES = join(DIST, 'examples');

// What the element shows: its canvas's size and a digest of its pixels, and the toggle's state.
function elementState(page) {
  return page.$eval('mvb-classifier', (el) => {
    const root = el.shadowRoot;
    const c = root.querySelector('canvas');
    let sum = 0, hash = 0;
    if (c.width && c.height) {
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      for (let i = 0; i < d.length; i++) { sum += d[i]; hash = (hash * 31 + d[i]) | 0; }
    }
    const toggle = root.querySelector('.heatmap-toggle');
    const legend = root.querySelector('.heatmap-legend');
    return {
      w: c.width, h: c.height, hidden: c.hidden, sum, hash,
      toggle: toggle && toggle.checkVisibility() ? toggle.textContent : null,
      pressed: toggle && toggle.getAttribute('aria-pressed'),
      legend: legend && legend.checkVisibility() ? [...legend.querySelectorAll('span')].map((x) => x.textContent).filter(Boolean).join(' → ') : null,
      ramp: legend ? getComputedStyle(legend.querySelector('.heatmap-ramp')).backgroundImage : null,
      text: root.querySelector('.heatmap-text') ? root.querySelector('.heatmap-text').textContent : null,
    };
  });
}

// Waits until the element's canvas digest is (same) or is no longer (!same) `hash`; returns
// elementState then.
async function canvasHashIs(page, hash, same) {
  for (const until = Date.now() + 30000; Date.now() < until; await new Promise((r) => setTimeout(r, 50))) {
    const state = await elementState(page);
    if (state.w && (state.hash === hash) === same) return state;
  }
  throw new Error(`the canvas digest did not ${same ? 'return to' : 'move from'} ${hash}`);
}

if (skip) test('<mvb-classifier> "Where it looked" in Chromium', { skip }, () => {});
else describe('<mvb-classifier> "Where it looked" in Chromium', { timeout: 300000 }, () => {
  let site, browser, tmp;

  before(async () => {
    site = await startServer(DIST, {}, { prefix: '/mvb/' });
    browser = await launch();
    tmp = await mkdtemp(join(tmpdir(), 'mvb-element-'));
  });

  after(async () => {
    if (browser) await browser.close();
    if (site) await site.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  test('the element\'s toggle blends the map over its preview with the legend and the CLI\'s words, off restores the photo, and a new photo starts without it', async () => {
    const photo = join(EXAMPLES, 'picos-de-europa.jpg');
    const cliWhere = explainSentence(photo, tmp);
    const page = await browser.context.newPage();
    const errors = watchErrors(page);
    try {
      await page.goto(`${site.url}embed.html`);
      await page.waitForSelector('mvb-classifier[ready]', { timeout: 120000 });
      const classified = () => page.evaluate(() => new Promise((resolve) => {
        document.querySelector('mvb-classifier').addEventListener('mvb-result', (ev) => resolve(ev.detail.verdict), { once: true });
      }));
      let result = classified();
      await page.setInputFiles('mvb-classifier input[type=file]', photo);
      assert.equal(await result, 'mountain');
      await page.waitForFunction(() => !document.querySelector('mvb-classifier').shadowRoot.querySelector('canvas').hidden);
      const before = await elementState(page);
      assert.equal(before.toggle, 'Where it looked');
      assert.equal(before.pressed, 'false');
      assert.equal(before.legend, null, 'no legend until the map is shown');
      assert.equal(before.text, '');
      assert.ok(before.w > 0 && before.h > 0, `preview ${before.w} x ${before.h}`);

      await page.click('mvb-classifier .heatmap-toggle');
      const on = await canvasHashIs(page, before.hash, false);
      assert.equal(on.pressed, 'true');
      assert.equal(on.hidden, false, 'the preview stays on screen while it is redrawn');
      assert.deepEqual([on.w, on.h], [before.w, before.h]);
      assert.ok(Math.abs(on.sum - before.sum) > on.w * on.h, `the pixels changed noticeably (${before.sum} -> ${on.sum})`);
      assert.equal(on.legend, 'low → high');
      assert.match(on.ramp, /linear-gradient\(to right, rgb\(0, 0, 4\).*rgb\(252, 255, 164\)/, 'the legend is the ramp the map is drawn in');
      assert.match(on.text, /^Where it looked for mountain: (the (upper|lower) (left|right)|mostly the (upper|lower|left|right) half|the middle|all over the photo|evenly across the photo)\.$/);
      if (cliWhere) assert.equal(on.text.toLowerCase(), `${cliWhere.toLowerCase()}.`, 'the element says what `mvb explain` says');
      await screenshot(page, 'element-where-it-looked');

      await page.click('mvb-classifier .heatmap-toggle');
      const off = await canvasHashIs(page, before.hash, true);
      assert.equal(off.pressed, 'false');
      assert.equal(off.legend, null);
      assert.equal(off.text, '');
      assert.deepEqual([off.w, off.h, off.sum], [before.w, before.h, before.sum], 'toggling off restores the photo exactly');

      // On, then another photo: its result starts with the map off, and its own toggle.
      await page.click('mvb-classifier .heatmap-toggle');
      await page.waitForFunction(() => document.querySelector('mvb-classifier').shadowRoot.querySelector('.heatmap-legend').checkVisibility());
      result = classified();
      await page.setInputFiles('mvb-classifier input[type=file]', join(EXAMPLES, 'aitzgorri.jpg'));
      assert.equal(await result, 'mountain');
      await page.waitForFunction(() => !document.querySelector('mvb-classifier').shadowRoot.querySelector('canvas').hidden);
      const next = await elementState(page);
      assert.equal(next.toggle, 'Where it looked');
      assert.equal(next.pressed, 'false');
      assert.equal(next.legend, null);
      assert.equal(next.text, '');
      assert.equal(await page.$$eval('mvb-classifier', (els) => els[0].shadowRoot.querySelectorAll('.heatmap').length), 1);
      assert.deepEqual(errors, []);
    } finally {
      await page.close();
    }
  });
});
