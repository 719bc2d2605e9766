// "Use camera" (issue 9, part 3) in headless Chromium with a fake camera: a Y4M video made
// here from two example photos (a mountain, then a beach, looping) is what the camera sees.
// Run: node --test tests/browser/camera.test.mjs  (prints the verdicts per second measured)
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import {
  DIST, CHROMIUM_ARGS, skipReason, startServer, launch, watchErrors, screenshot, waitForResults, waitReady,
} from './helpers.mjs';

const skip = skipReason();

// The fake camera's video: 640 x 480 (what the page asks for) at 30 frames per second,
// SECONDS of each photo.
const VIDEO = { width: 640, height: 480, fps: 30 };
const SECONDS = 2.5;
const MOUNTAIN = 'picos-de-europa.jpg'; // examples.json: mountain
const BEACH = 'evening-glow.jpg'; // the shipped model: beach 84% on its 640 x 480 middle (`mvb classify`)

// An example photo scaled to cover width x height and cropped to its middle, as RGBA bytes,
// decoded by the browser on `page` (a page of the site).
async function decodeExample(page, file, width, height) {
  const b64 = await page.evaluate(async ([f, w, h]) => {
    const bitmap = await createImageBitmap(await (await fetch(`examples/${f}`)).blob());
    const scale = Math.max(w / bitmap.width, h / bitmap.height);
    const canvas = new OffscreenCanvas(w, h);
    const ctx = canvas.getContext('2d');
    ctx.imageSmoothingQuality = 'high';
    const dw = bitmap.width * scale, dh = bitmap.height * scale;
    ctx.drawImage(bitmap, (w - dw) / 2, (h - dh) / 2, dw, dh);
    const bytes = ctx.getImageData(0, 0, w, h).data;
    let s = '';
    for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(s);
  }, [file, width, height]);
  return Buffer.from(b64, 'base64');
}

// RGBA -> one planar 4:2:0 frame (Y, then Cb, then Cr at half size), BT.601 studio range as
// Chromium reads a Y4M file.
function i420(rgba, width, height) {
  const out = Buffer.alloc((width * height * 3) / 2);
  const cw = width / 2, ch = height / 2;
  const clamp = (v) => Math.max(0, Math.min(255, Math.round(v)));
  for (let i = 0; i < width * height; i++) {
    const [r, g, b] = [rgba[4 * i], rgba[4 * i + 1], rgba[4 * i + 2]];
    out[i] = clamp(16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255);
  }
  for (let y = 0; y < ch; y++) {
    for (let x = 0; x < cw; x++) {
      let r = 0, g = 0, b = 0;
      for (const [dx, dy] of [[0, 0], [1, 0], [0, 1], [1, 1]]) {
        const p = 4 * ((2 * y + dy) * width + 2 * x + dx);
        r += rgba[p] / 4; g += rgba[p + 1] / 4; b += rgba[p + 2] / 4;
      }
      out[width * height + y * cw + x] = clamp(128 + (-37.797 * r - 74.203 * g + 112 * b) / 255);
      out[width * height + cw * ch + y * cw + x] = clamp(128 + (112 * r - 93.786 * g - 18.214 * b) / 255);
    }
  }
  return out;
}

// A Y4M file: its header, then each frame after a 'FRAME' line. segments: [[frame, count], ...].
function y4m({ width, height, fps }, segments) {
  const parts = [Buffer.from(`YUV4MPEG2 W${width} H${height} F${fps}:1 Ip A1:1 C420jpeg\n`)];
  const mark = Buffer.from('FRAME\n');
  for (const [frame, count] of segments) for (let i = 0; i < count; i++) parts.push(mark, frame);
  return Buffer.concat(parts);
}

// Before the page's scripts: every camera stream the page gets, and how many frames are in
// the worker at once (classify-bitmap requests without their answer yet).
function instrument() {
  const cam = { streams: [], inflight: 0, maxInflight: 0, answered: 0 };
  window.__cam = cam;
  const getUserMedia = MediaDevices.prototype.getUserMedia;
  MediaDevices.prototype.getUserMedia = async function (constraints) {
    const stream = await getUserMedia.call(this, constraints);
    cam.streams.push(stream);
    return stream;
  };
  const post = Worker.prototype.postMessage;
  const pending = new Set();
  Worker.prototype.postMessage = function (msg, transfer) {
    if (msg && msg.type === 'classify-bitmap') {
      if (!this.camWatched) {
        this.camWatched = true;
        this.addEventListener('message', (e) => {
          if (e.data && e.data.type !== 'progress' && pending.delete(e.data.id)) {
            cam.inflight--;
            cam.answered++;
          }
        });
      }
      pending.add(msg.id);
      cam.inflight++;
      cam.maxInflight = Math.max(cam.maxInflight, cam.inflight);
    }
    return post.call(this, msg, transfer);
  };
}

// Whether every stream the page got has all its tracks stopped, and how many there were.
const released = (page) => page.evaluate(() => ({
  streams: window.__cam.streams.length,
  live: window.__cam.streams.flatMap((s) => s.getTracks()).filter((t) => t.readyState !== 'ended').length,
  video: !!document.getElementById('camera-video').srcObject,
}));

const visible = (page, id) => page.$eval(`#${id}`, (e) => e.checkVisibility());

if (skip) test('"Use camera" in Chromium', { skip }, () => {});
else describe('"Use camera" in Chromium', { timeout: 600000 }, () => {
  let site, plain, tmp, video;

  before(async () => {
    site = await startServer(DIST, {}, { prefix: '/mvb/' });
    tmp = await mkdtemp(join(tmpdir(), 'mvb-camera-'));
    // A browser without a camera: it decodes the photos for the fake camera's video too.
    plain = await launch();
    const page = await plain.context.newPage();
    await page.goto(`${site.url}`);
    const { width, height } = VIDEO;
    const frames = [];
    for (const file of [MOUNTAIN, BEACH]) frames.push(i420(await decodeExample(page, file, width, height), width, height));
    await page.close();
    video = join(tmp, 'mountain-then-beach.y4m');
    const count = Math.round(SECONDS * VIDEO.fps);
    await writeFile(video, y4m(VIDEO, [[frames[0], count], [frames[1], count]]));
  });

  after(async () => {
    if (plain) await plain.close();
    if (site) await site.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  async function openPage(browser) {
    const page = await browser.context.newPage();
    const errors = watchErrors(page);
    await page.addInitScript(instrument);
    await page.goto(site.url);
    await waitReady(page);
    return { page, errors };
  }

  test('the live verdict follows the camera (mountain, then beach, then mountain again), one frame at a time; Freeze makes a result card; leaving the mode, pagehide and a hidden page release the camera', async (t) => {
    const browser = await launch({
      args: [...CHROMIUM_ARGS, '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
        `--use-file-for-fake-video-capture=${video}`],
    });
    const { page, errors } = await openPage(browser);
    try {
      assert.equal(await visible(page, 'camera-start'), true, '"Use camera" is offered');
      assert.equal(await visible(page, 'camera'), false);
      await page.click('#camera-start');
      await page.waitForFunction(() => document.getElementById('camera-video').readyState >= 2);
      assert.equal(await visible(page, 'camera-start'), false, 'the button gives way to the live view');
      // Each verdict the live view shows, in order, collapsed to its changes.
      await page.evaluate(() => {
        const seen = (window.__seen = []);
        const v = document.getElementById('camera-verdict');
        new MutationObserver(() => {
          if (v.dataset.verdict && seen[seen.length - 1] !== v.dataset.verdict) seen.push(v.dataset.verdict);
        }).observe(v, { attributes: true, attributeFilter: ['data-verdict'] });
      });
      await page.waitForFunction(() => / (mountain) .*(beach) .*(mountain)/.test(` ${window.__seen.join(' ')}`), null, { timeout: 60000 })
        .catch(async (e) => { throw new Error(`verdicts seen: ${await page.evaluate(() => window.__seen.join(', '))}; ${e.message}`); });
      const seen = await page.evaluate(() => window.__seen);
      t.diagnostic(`live verdicts, in order: ${seen.join(', ')}`);
      assert.ok(seen.filter((v) => v !== 'mountain' && v !== 'beach').length <= 2, `at most a transition or two: ${seen.join(', ')}`);

      // Verdicts per second: the page's own figure, and answers counted over 5 s.
      const a = await page.evaluate(() => ({ n: window.__cam.answered, t: performance.now() }));
      await page.waitForTimeout(5000);
      const b = await page.evaluate(() => ({ n: window.__cam.answered, t: performance.now(), rate: document.getElementById('camera-rate').textContent }));
      const counted = ((b.n - a.n) * 1000) / (b.t - a.t);
      const shown = Number.parseFloat(b.rate);
      t.diagnostic(`verdicts per second: ${b.rate} shown, ${counted.toFixed(1)} counted over 5 s (camera ${VIDEO.width} x ${VIDEO.height} at ${VIDEO.fps} fps)`);
      assert.match(b.rate, /^\d+\.\d verdicts\/s$/);
      assert.ok(shown > 0 && counted > 0, `verdicts came: ${b.rate}, ${counted}`);
      assert.ok(counted <= VIDEO.fps * 1.1, `no frame is classified twice: ${counted.toFixed(1)} per second from ${VIDEO.fps} fps`);
      assert.equal(await page.evaluate(() => window.__cam.maxInflight), 1, 'at most one frame in the worker at once');
      await screenshot(page, 'camera-live');

      // Freeze: the current frame becomes a normal card, with its preview.
      await page.click('#camera-freeze');
      const [card] = await waitForResults(page, 1);
      assert.match(card.name, /^Camera, /);
      assert.ok(['mountain', 'beach'].includes(card.verdict), `the frozen frame's verdict: ${card.verdict}`);
      assert.match(card.title, /^(Mountain|Beach) · \d+%$/);
      await page.waitForFunction(() => document.querySelector('#results .result').dataset.preview === 'shown');

      // Leaving the mode stops every track.
      assert.deepEqual(await released(page), { streams: 1, live: 1, video: true });
      await page.click('#camera-stop');
      assert.deepEqual(await released(page), { streams: 1, live: 0, video: false });
      assert.equal(await visible(page, 'camera'), false);
      assert.equal(await visible(page, 'camera-start'), true);
      assert.equal(await visible(page, 'camera-message'), false, 'stopping by choice says nothing');

      // Again, then the page is hidden (or unloaded): released, and saying why.
      await page.click('#camera-start');
      await page.waitForFunction(() => window.__cam.streams.length === 2 && document.getElementById('camera-video').readyState >= 2);
      assert.equal((await released(page)).live, 1);
      await page.evaluate(() => {
        Object.defineProperty(document, 'hidden', { configurable: true, get: () => true });
        document.dispatchEvent(new Event('visibilitychange'));
      });
      assert.deepEqual(await released(page), { streams: 2, live: 0, video: false });
      assert.match(await page.textContent('#camera-message'), /switched off while the page was in the background/);
      await page.evaluate(() => { delete document.hidden; });

      await page.click('#camera-start');
      await page.waitForFunction(() => window.__cam.streams.length === 3 && document.getElementById('camera-video').readyState >= 2);
      assert.equal(await visible(page, 'camera-message'), false, 'a new start clears the last message');
      await page.evaluate(() => window.dispatchEvent(new PageTransitionEvent('pagehide', { persisted: true })));
      assert.deepEqual(await released(page), { streams: 3, live: 0, video: false });

      // A camera that goes away (unplugged, switched off by the system): released, and said.
      await page.click('#camera-start');
      await page.waitForFunction(() => window.__cam.streams.length === 4 && document.getElementById('camera-video').readyState >= 2);
      await page.evaluate(() => window.__cam.streams[3].getVideoTracks()[0].dispatchEvent(new Event('ended')));
      assert.deepEqual(await released(page), { streams: 4, live: 0, video: false });
      assert.match(await page.textContent('#camera-message'), /^The camera stopped/);
      assert.deepEqual(errors, []);
    } finally {
      await page.close();
      await browser.close();
    }
  });

  test('<mvb-classifier> offers the camera too: a live verdict from the same code, Freeze classifies the frame in the element, Stop or taking the element out of the page releases the camera; no-camera hides it', async () => {
    const browser = await launch({
      args: [...CHROMIUM_ARGS, '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
        `--use-file-for-fake-video-capture=${video}`],
    });
    const page = await browser.context.newPage();
    const errors = watchErrors(page);
    await page.addInitScript(instrument);
    try {
      await page.goto(`${site.url}embed.html`);
      await page.waitForSelector('mvb-classifier[ready]', { timeout: 120000 });
      const inside = (fn) => page.$eval('mvb-classifier', fn);
      // Playwright's CSS selectors reach into the element's open shadow root.
      await page.click('mvb-classifier button:text-is("Use camera")');
      await page.waitForFunction(() => document.querySelector('mvb-classifier').shadowRoot.querySelector('video').readyState >= 2);
      await page.waitForFunction(() => document.querySelector('mvb-classifier').shadowRoot.querySelector('.camera-verdict').dataset.verdict === 'mountain', null, { timeout: 60000 });
      assert.match(await inside((e) => e.shadowRoot.querySelector('.camera-rate').textContent), /verdicts\/s$/);
      await screenshot(page, 'camera-embed-live');
      const result = page.evaluate(() => new Promise((resolve) => {
        document.querySelector('mvb-classifier').addEventListener('mvb-result', (e) => resolve({ name: e.detail.name, verdict: e.detail.verdict }), { once: true });
      }));
      await page.click('mvb-classifier button:text-is("Freeze")');
      const r = await result;
      assert.match(r.name, /^Camera, /);
      assert.ok(['mountain', 'beach'].includes(r.verdict), `the frozen frame's verdict: ${r.verdict}`);
      await page.click('mvb-classifier button:text-is("Stop camera")');
      const after = await page.evaluate(() => ({
        streams: window.__cam.streams.length,
        live: window.__cam.streams.flatMap((s) => s.getTracks()).filter((t) => t.readyState !== 'ended').length,
        panel: document.querySelector('mvb-classifier').shadowRoot.querySelector('.camera').hidden,
      }));
      assert.deepEqual(after, { streams: 1, live: 0, panel: true });
      await screenshot(page, 'camera-embed');
      // Taken out of the page with the camera on (a single-page app changing views): the
      // camera goes off. Put back, it offers the camera again, which starts and stops as before.
      const cameraState = () => page.evaluate(() => ({
        streams: window.__cam.streams.length,
        live: window.__cam.streams.flatMap((s) => s.getTracks()).filter((t) => t.readyState !== 'ended').length,
      }));
      await page.click('mvb-classifier button:text-is("Use camera")');
      await page.waitForFunction(() => document.querySelector('mvb-classifier').shadowRoot.querySelector('video').readyState >= 2);
      assert.deepEqual(await cameraState(), { streams: 2, live: 1 });
      await page.evaluate(() => { window.__removed = document.querySelector('mvb-classifier'); window.__removed.remove(); });
      assert.deepEqual(await cameraState(), { streams: 2, live: 0 });
      await page.evaluate(() => document.body.append(window.__removed));
      await page.click('mvb-classifier button:text-is("Use camera")');
      await page.waitForFunction(() => document.querySelector('mvb-classifier').shadowRoot.querySelector('video').readyState >= 2);
      assert.deepEqual(await cameraState(), { streams: 3, live: 1 });
      await page.click('mvb-classifier button:text-is("Stop camera")');
      assert.deepEqual(await cameraState(), { streams: 3, live: 0 });
      // An embedder that does not want it: no button.
      await page.evaluate(() => {
        const e = document.createElement('mvb-classifier');
        e.id = 'plain';
        e.setAttribute('no-camera', '');
        document.body.append(e);
      });
      assert.equal(await page.$eval('#plain', (e) => e.shadowRoot.querySelector('.camera-offer').hidden), true);
      assert.deepEqual(errors, []);
    } finally {
      await page.close();
      await browser.close();
    }
  });

  test('a refused camera permission says so, and leaves no camera open', async () => {
    const browser = await launch({ args: [...CHROMIUM_ARGS, '--use-fake-device-for-media-stream', '--deny-permission-prompts'] });
    const { page, errors } = await openPage(browser);
    try {
      await page.click('#camera-start');
      await page.waitForSelector('#camera-message', { state: 'visible' });
      assert.match(await page.textContent('#camera-message'), /^The camera permission was refused\. To use the camera, allow it for this site/);
      assert.equal(await page.getAttribute('#camera-message', 'role'), 'alert');
      assert.equal(await visible(page, 'camera'), false);
      assert.equal(await visible(page, 'camera-start'), true, '"Use camera" can be pressed again');
      assert.deepEqual(await released(page), { streams: 0, live: 0, video: false });
      await screenshot(page, 'camera-refused');
      assert.deepEqual(errors, []);
    } finally {
      await page.close();
      await browser.close();
    }
  });

  test('no camera on the device says so; no getUserMedia, no "Use camera"', async () => {
    await plain.context.grantPermissions(['camera'], { origin: site.origin });
    const { page, errors } = await openPage(plain);
    try {
      await page.click('#camera-start');
      await page.waitForSelector('#camera-message', { state: 'visible' });
      assert.match(await page.textContent('#camera-message'), /^No camera was found on this device\./);
      assert.equal(await visible(page, 'camera'), false);
      assert.deepEqual(await released(page), { streams: 0, live: 0, video: false });
      assert.deepEqual(errors, []);
    } finally {
      await page.close();
    }
    const old = await plain.context.newPage();
    try {
      await old.addInitScript(() => Object.defineProperty(Navigator.prototype, 'mediaDevices', { get: () => undefined }));
      await old.goto(site.url);
      await waitReady(old);
      assert.equal(await visible(old, 'camera-offer'), false);
    } finally {
      await old.close();
    }
  });
});
