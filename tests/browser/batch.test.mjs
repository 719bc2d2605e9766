// Browser tests of "a whole folder at once" (issue 9, part 2; web/batch.js) in headless
// Debian Chromium: a folder chosen or dropped goes through one queue with progress, cancel,
// filter, order, pages and CSV/JSON export. Run: node --test tests/browser/batch.test.mjs
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile, mkdtemp, mkdir, rm, copyFile } from 'node:fs/promises';
import { join, dirname } from 'node:path';
import { tmpdir } from 'node:os';
import { pathToFileURL } from 'node:url';
import { ROOT, DIST, skipReason, startServer, launch, watchErrors, screenshot, waitReady } from './helpers.mjs';

const skip = skipReason();
const EXAMPLES = join(DIST, 'examples');
const { RESULTS_PAGE_SIZE } = await import(pathToFileURL(join(ROOT, 'web', 'meta.js')).href);

// Writes files under dir: {relative path: Buffer | string | an example photo's name}.
async function makeFolder(dir, files) {
  for (const [path, content] of Object.entries(files)) {
    const to = join(dir, path);
    await mkdir(dirname(to), { recursive: true });
    if (typeof content === 'string' && content.endsWith('.jpg')) await copyFile(join(EXAMPLES, content), to);
    else await writeFile(to, content);
  }
  return dir;
}

async function examplePhotos() {
  return JSON.parse(await readFile(join(EXAMPLES, 'examples.json'), 'utf8')).map((e) => e.file);
}

// n copies of the example photos, named so that their order is plain: photo-001.jpg, ...
async function copies(n) {
  const photos = await examplePhotos();
  return Object.fromEntries(Array.from({ length: n }, (_, i) => [`photo-${String(i + 1).padStart(3, '0')}.jpg`, photos[i % photos.length]]));
}

function assertNoErrors(errors) {
  assert.deepEqual(errors, [], `console errors:\n${errors.join('\n')}`);
}

// What the batch section shows.
function batchState(page) {
  return page.evaluate(() => {
    const $ = (id) => document.getElementById(id);
    return {
      state: $('batch').dataset.state,
      hidden: $('batch').hidden,
      value: $('batch-bar').value,
      max: $('batch-bar').max,
      progress: $('batch-progress').textContent,
      notes: $('batch-notes').textContent,
      page: $('batch-pager').hidden ? null : $('batch-page').textContent,
      cards: [...document.querySelectorAll('#batch-results .result')].map((c) => ({
        name: c.querySelector('.result-name').textContent,
        verdict: c.dataset.verdict,
        title: c.querySelector('.verdict-text').textContent,
        message: c.querySelector('.message').textContent,
      })),
    };
  });
}

async function waitFinished(page, timeout = 180000) {
  await page.waitForFunction(() => ['done', 'cancelled'].includes(document.getElementById('batch').dataset.state), null, { timeout });
  // The view is drawn at the end of the run; a render may still be pending before it.
  await page.waitForTimeout(300);
  return batchState(page);
}

async function choose(page, id, value) {
  await page.selectOption(id, value);
  return batchState(page);
}

// The text of the file a button downloads.
async function downloaded(page, button) {
  const [download] = await Promise.all([page.waitForEvent('download'), page.click(button)]);
  return { name: download.suggestedFilename(), text: await readFile(await download.path(), 'utf8') };
}

// RFC 4180 with quoted fields, enough for the export's checks.
function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(field); field = ''; } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field); rows.push(row); row = []; field = ''; i++;
    } else field += c;
  }
  return rows;
}

if (skip) test('a whole folder at once in Chromium', { skip }, () => {});
else describe('a whole folder at once in Chromium', { timeout: 900000 }, () => {
  let site, browser, tmp;

  before(async () => {
    site = await startServer(DIST);
    browser = await launch();
    tmp = await mkdtemp(join(tmpdir(), 'mvb-batch-'));
  });

  after(async () => {
    if (browser) await browser.close();
    if (site) await site.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  async function openApp() {
    const page = await browser.context.newPage();
    const errors = watchErrors(page);
    await page.goto(site.url);
    await waitReady(page);
    return { page, errors };
  }

  // The example photos (the last in a subfolder), a file that is not a JPEG, notes and a
  // hidden file: one photo more than there are examples, 2 files skipped.
  async function tripFolder() {
    const photos = await examplePhotos();
    const last = photos.length - 1;
    const files = Object.fromEntries(photos.map((p, i) => [i === last ? `day 10/${p}` : p, p]));
    return makeFolder(join(tmp, 'trip'), {
      ...files, 'broken.jpg': 'this is text, not a JPEG', 'notes.txt': 'not a photo', '.hidden.jpg': 'hidden',
    });
  }

  test('a chosen folder: progress reaches N, the broken photo is listed with the engine\'s reason, non-photos are skipped and counted, names keep their folder path', async () => {
    const folder = await tripFolder();
    const photos = await examplePhotos();
    const { page, errors } = await openApp();
    assert.equal(await page.isHidden('#batch'), true, 'no batch section before a folder');
    await page.setInputFiles('#folder', folder);
    const s = await waitFinished(page);
    assert.equal(s.state, 'done');
    const n = photos.length + 1;
    assert.equal(s.max, n);
    assert.equal(s.value, n);
    assert.match(s.progress, new RegExp(`^Done: ${n} of ${n} photos in \\d+ (s|min)`));
    assert.equal(s.notes, '1 photo could not be read (choose “Could not read” to see why). 2 files skipped: not photos.');
    assert.equal(s.cards.length, n);
    // Folder order, with each photo's path in the chosen folder; "day 10" after the files
    // of trip/ whose names sort before it.
    const expected = [...photos.slice(0, -1), 'broken.jpg', `day 10/${photos.at(-1)}`].map((p) => `trip/${p}`)
      .sort(new Intl.Collator('en', { numeric: true, sensitivity: 'base' }).compare);
    assert.deepEqual(s.cards.map((c) => c.name), expected);
    for (const c of s.cards.filter((x) => x.name !== 'trip/broken.jpg')) assert.match(c.verdict, /^(mountain|beach|not sure|neither)$/, `${c.name}: ${c.title} ${c.message}`);
    const failed = await choose(page, '#batch-filter', 'error');
    assert.deepEqual(failed.cards.map((c) => [c.name, c.verdict, c.title]), [['trip/broken.jpg', 'error', 'Cannot read this image']]);
    assert.match(failed.cards[0].message, /^not a JPEG, PNG, BMP or GIF image \(24 bytes starting 74 68 69 73/);
    // Single-photo results are untouched.
    assert.equal(await page.$$eval('#results .result', (c) => c.length), 0);
    await screenshot(page, 'batch-01-folder');
    // At phone width the progress, the tools and the pager wrap instead of overflowing.
    await choose(page, '#batch-filter', 'all');
    await page.setViewportSize({ width: 360, height: 740 });
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= innerWidth), 'no horizontal overflow at 360 px');
    await page.$eval('#batch', (el) => el.scrollIntoView());
    await screenshot(page, 'batch-01-phone', { fullPage: false });
    assertNoErrors(errors);
    await page.close();
  });

  test('a dropped folder is walked to the bottom (entries read a few at a time, an unreadable file listed with the browser\'s reason)', async () => {
    const photos = await examplePhotos();
    const bytes = await Promise.all(photos.slice(0, 3).map(async (p) => (await readFile(join(EXAMPLES, p))).toString('base64')));
    const { page, errors } = await openApp();
    // Chromium gives a synthetic drop no folder entries, so the drop carries objects with
    // the FileSystemEntry interface around real Files, as webkitGetAsEntry() gives them.
    await page.evaluate(([names, data]) => {
      const file = (name, b64, type) => new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], name, { type });
      const fileEntry = (fullPath, f, fail) => ({
        isFile: true, isDirectory: false, name: fullPath.split('/').pop(), fullPath,
        file: (ok, no) => setTimeout(() => (fail ? no(new DOMException('gone', 'NotFoundError')) : ok(f))),
      });
      const dirEntry = (fullPath, children) => ({
        isFile: false, isDirectory: true, name: fullPath.split('/').pop(), fullPath,
        createReader: () => {
          let given = 0;
          return { readEntries: (ok) => setTimeout(() => { const chunk = children.slice(given, given + 2); given += chunk.length; ok(chunk); }) };
        },
      });
      const root = dirEntry('/album', [
        fileEntry(`/album/${names[0]}`, file(names[0], data[0], 'image/jpeg')),
        fileEntry('/album/readme.txt', file('readme.txt', btoa('hi'), 'text/plain')),
        dirEntry('/album/sub', [
          fileEntry(`/album/sub/${names[1]}`, file(names[1], data[1], 'image/jpeg')),
          dirEntry('/album/sub/deeper', [fileEntry(`/album/sub/deeper/${names[2]}`, file(names[2], data[2], 'image/jpeg'))]),
          fileEntry('/album/sub/vanished.jpg', null, true),
        ]),
      ]);
      const drop = new Event('drop', { bubbles: true, cancelable: true });
      Object.defineProperty(drop, 'dataTransfer', {
        value: { items: [{ kind: 'file', webkitGetAsEntry: () => root }], files: [], getData: () => '' },
      });
      document.getElementById('drop').dispatchEvent(drop);
    }, [photos.slice(0, 3), bytes]);
    const s = await waitFinished(page);
    assert.equal(s.value, 4);
    assert.match(s.progress, /^Done: 4 of 4 photos/);
    assert.match(s.notes, /1 file skipped: not a photo\.$/);
    assert.deepEqual(s.cards.map((c) => c.name).sort(), [
      `album/${photos[0]}`, `album/sub/${photos[1]}`, `album/sub/deeper/${photos[2]}`, 'album/sub/vanished.jpg',
    ].sort());
    const gone = s.cards.find((c) => c.name === 'album/sub/vanished.jpg');
    assert.equal(gone.verdict, 'error');
    assert.equal(gone.title, 'Cannot open this file');
    assert.match(gone.message, /NotFoundError/);
    assert.equal(s.cards.filter((c) => c.verdict !== 'error').length, 3);
    assertNoErrors(errors);
    await page.close();
  });

  test('Cancel stops the queue: no photo is classified after it, and the progress says how far it got', async () => {
    const folder = await makeFolder(join(tmp, 'many'), await copies(40));
    const { page, errors } = await openApp();
    await page.setInputFiles('#folder', folder);
    // While it runs: n of N, photos per second, time left.
    await page.waitForFunction(() => document.getElementById('batch-bar').value >= 2, null, { timeout: 120000 });
    const running = await batchState(page);
    assert.equal(running.state, 'running');
    assert.match(running.progress, /^\d+ of 40 photos · \d+\.\d photos per second · about \d+ (s|min \d+ s) left$/);
    await page.click('#batch-cancel');
    const s = await waitFinished(page);
    assert.equal(s.state, 'cancelled');
    assert.ok(s.value >= 2 && s.value < 40, `stopped at ${s.value} of 40`);
    assert.match(s.progress, new RegExp(`^Cancelled: ${s.value} of 40 photos in `));
    assert.equal(s.cards.length, Math.min(s.value, RESULTS_PAGE_SIZE));
    await page.waitForTimeout(2000);
    const later = await batchState(page);
    assert.equal(later.value, s.value, 'nothing was classified after the cancel');
    assert.equal(later.cards.length, s.cards.length);
    assert.equal(await page.isHidden('#batch-cancel'), true);
    // A folder chosen after a cancel starts a new run.
    await page.setInputFiles('#folder', await tripFolder());
    const again = await waitFinished(page);
    const n = (await examplePhotos()).length + 1;
    assert.match(again.progress, new RegExp(`^Done: ${n} of ${n} photos`));
    assertNoErrors(errors);
    await page.close();
  });

  test('many photos chosen at once go to the queue and are shown a page at a time', async () => {
    const folder = await makeFolder(join(tmp, 'pages'), await copies(RESULTS_PAGE_SIZE + 6));
    const files = Object.keys(await copies(RESULTS_PAGE_SIZE + 6));
    const { page, errors } = await openApp();
    await page.setInputFiles('#file', files.map((f) => join(folder, f)));
    let s = await waitFinished(page);
    assert.equal(s.value, files.length);
    assert.equal(await page.$$eval('#results .result', (c) => c.length), 0, 'no single-photo cards');
    assert.equal(s.cards.length, RESULTS_PAGE_SIZE, 'one page of cards in the DOM');
    assert.deepEqual(s.cards.map((c) => c.name), files.slice(0, RESULTS_PAGE_SIZE));
    assert.equal(s.page, `Page 1 of 2 · 1–${RESULTS_PAGE_SIZE} of ${files.length}`);
    assert.equal(await page.isDisabled('#batch-prev'), true);
    const first = await page.$('#batch-results .result');
    await page.waitForFunction((li) => li.dataset.preview === 'shown', first);
    await page.click('#batch-next');
    s = await batchState(page);
    assert.deepEqual(s.cards.map((c) => c.name), files.slice(RESULTS_PAGE_SIZE));
    assert.equal(s.page, `Page 2 of 2 · ${RESULTS_PAGE_SIZE + 1}–${files.length} of ${files.length}`);
    assert.equal(await page.isDisabled('#batch-next'), true);
    // The cards of page 1 left the DOM and gave their previews back; those of page 2 on
    // screen draw theirs.
    assert.deepEqual(await first.evaluate((li) => [li.isConnected, li.querySelector('canvas').width]), [false, 0]);
    await page.waitForFunction(() => document.querySelector('#batch-results .result').dataset.preview === 'shown');
    await screenshot(page, 'batch-02-page-2');
    // Clear empties the section and hides it.
    await page.click('#batch-clear');
    s = await batchState(page);
    assert.equal(s.hidden, true);
    assert.equal(s.cards.length, 0);
    assertNoErrors(errors);
    await page.close();
  });

  test('filter by verdict, order by confidence, and the CSV and JSON exports hold what is shown', async () => {
    const photos = await examplePhotos();
    // Paths a spreadsheet must not misread: a comma and quotes, and a leading "=" (the
    // folder's name).
    const folder = await makeFolder(join(tmp, '=export'), {
      ...Object.fromEntries(photos.map((p) => [p, p])),
      'a, "quoted" name.jpg': photos[0], 'broken.jpg': 'this is text, not a JPEG',
    });
    const { page, errors } = await openApp();
    await page.setInputFiles('#folder', folder);
    let s = await waitFinished(page);
    const total = photos.length + 2;
    assert.equal(s.value, total);

    // Order: most confident first; the JSON export holds the same order and the failure last.
    s = await choose(page, '#batch-sort', 'confidence-desc');
    const json = await downloaded(page, '#batch-json');
    assert.equal(json.name, 'mountain-or-beach.json');
    const data = JSON.parse(json.text);
    assert.equal(data.skipped, 0);
    assert.equal(data.photos.length, total);
    assert.deepEqual(s.cards.map((c) => c.name), data.photos.map((p) => p.file));
    const ok = data.photos.filter((p) => p.verdict !== 'error');
    for (let i = 1; i < ok.length; i++) assert.ok(ok[i - 1].confidence >= ok[i].confidence, `${ok[i - 1].file} before ${ok[i].file}`);
    assert.deepEqual(data.photos.at(-1), {
      file: '=export/broken.jpg', verdict: 'error',
      error: { title: 'Cannot read this image', message: s.cards.at(-1).message },
    });
    for (const p of ok) {
      assert.match(p.verdict, /^(mountain|beach|not sure|neither)$/);
      assert.ok(p.confidence > 0 && p.confidence <= 1 && p.score >= 0 && p.score <= 1, JSON.stringify(p));
      assert.deepEqual(Object.keys(p.probabilities), ['beach', 'mountain', 'neither']);
    }
    s = await choose(page, '#batch-sort', 'confidence-asc');
    // (Equal confidences, as of the copied photo, keep the folder's order either way.)
    const ascending = [...ok].sort((x, y) => x.confidence - y.confidence);
    assert.deepEqual(s.cards.map((c) => c.name), ascending.map((p) => p.file).concat('=export/broken.jpg'));

    // Filter: each verdict shows exactly its photos, and its option counts them.
    const options = await page.$$eval('#batch-filter option', (o) => o.map((x) => [x.value, x.textContent]));
    assert.deepEqual(options[0], ['all', `All photos (${total})`]);
    for (const [value, label] of options.slice(1)) {
      const want = data.photos.filter((p) => p.verdict === value);
      assert.match(label, new RegExp(`\\(${want.length}\\)$`), `${value}: ${label}`);
      s = await choose(page, '#batch-filter', value);
      assert.deepEqual(s.cards.map((c) => c.name).sort(), want.map((p) => p.file).sort(), value);
    }

    // CSV of what is shown: the photos judged mountain (the shipped model finds some among
    // the examples), then all of them.
    await choose(page, '#batch-filter', 'mountain');
    const mountainCsv = parseCsv((await downloaded(page, '#batch-csv')).text);
    assert.deepEqual(mountainCsv.slice(1).map((r) => r[0].replace(/^'=/, '=')).sort(), data.photos.filter((p) => p.verdict === 'mountain').map((p) => p.file).sort());
    assert.ok(mountainCsv.length > 1, 'some example is judged a mountain');
    await choose(page, '#batch-filter', 'all');
    await choose(page, '#batch-sort', 'order');
    const csv = await downloaded(page, '#batch-csv');
    assert.equal(csv.name, 'mountain-or-beach.csv');
    assert.ok(csv.text.includes('\r\n"\'=export/a, ""quoted"" name.jpg",'), 'a name with a comma and quotes is one quoted field');
    const rows = parseCsv(csv.text);
    assert.deepEqual(rows[0], ['file', 'verdict', 'confidence', 'score', 'neither', 'error']);
    assert.equal(rows.length, total + 1);
    const byFile = new Map(data.photos.map((p) => [p.file, p]));
    for (const [file, verdict, confidence, score, neither, error] of rows.slice(1)) {
      // A field that starts with "=" gets an apostrophe first: it cannot become a formula.
      assert.ok(file.startsWith("'=export/"), file);
      const p = byFile.get(file.slice(1));
      assert.ok(p, `${file} is in the JSON export`);
      assert.equal(verdict, p.verdict);
      if (p.error) {
        assert.deepEqual([confidence, score, neither, error], ['', '', '', `${p.error.title}: ${p.error.message}`]);
      } else {
        assert.equal(Number(confidence).toFixed(4), p.confidence.toFixed(4));
        assert.equal(Number(score).toFixed(4), p.score.toFixed(4));
        assert.equal(Number(neither).toFixed(4), p.probabilities.neither.toFixed(4));
        assert.equal(error, '');
      }
    }
    assertNoErrors(errors);
    await page.close();
  });
});
