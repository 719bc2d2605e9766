// app.js: the page. Inputs (files, drag-and-drop, paste, examples, URLs) become result
// cards; the classifier itself lives in a worker behind mvb.js. User- or URL-supplied text
// only ever reaches the DOM through textContent and attributes, never innerHTML.
import { load, UrlError } from './mvb.js';
import { acceptDrops, isImageAddress } from './drop.js';
import { startBatch } from './batch.js';
import { cardPages } from './card-pages.js';
import { registerServiceWorker } from './updates.js';
import { offerCamera } from './camera.js';
import {
  ERROR_TITLES, ERROR_TITLE, verdictInfo, verdictTitle, spokenResult, toneStyles, BATCH_MIN_FILES,
  formatBytes,
} from './meta.js';
import {
  probabilitiesDetails, reasonItems, drawOnCanvas, clearCanvas, overlayHeatmap, offerHeatmapToggle,
} from './result-view.js';

const $ = (id) => document.getElementById(id);
const ui = {
  loader: $('loader'), loaderLabel: $('loader-label'), loaderBytes: $('loader-bytes'), loaderBar: $('loader-bar'),
  badge: $('engine-badge'), fatal: $('fatal'),
  drop: $('drop'), choose: $('choose'), file: $('file'), urlForm: $('url-form'), url: $('url'),
  examples: $('examples'), results: $('results'), empty: $('empty'), clear: $('clear'),
  pager: $('results-pager'), prev: $('results-prev'), next: $('results-next'), page: $('results-page'),
  live: $('live'), template: $('result-template'),
};

// Verdict colours and icons come from meta.js, as the embed's do. (A constructed sheet is
// CSSOM, which the page's CSP allows, unlike an inline <style>.)
if ('adoptedStyleSheets' in document) {
  const tones = new CSSStyleSheet();
  tones.replaceSync(toneStyles(':root'));
  document.adoptedStyleSheets = [...document.adoptedStyleSheets, tones];
}

// ---- Loading the classifier ----------------------------------------------------------

function showProgress(loaded, total) {
  if (total > 0) {
    ui.loaderBar.max = total;
    ui.loaderBar.value = Math.min(loaded, total);
    ui.loaderBytes.textContent = `${formatBytes(loaded)} of ${formatBytes(total)}`;
  } else {
    ui.loaderBar.removeAttribute('value'); // indeterminate until the sizes are known
    ui.loaderBytes.textContent = loaded ? formatBytes(loaded) : '';
  }
}

const loadStarted = performance.now();
const classifier = load({ onProgress: showProgress });

classifier.then((c) => {
  const { variant, threads, precision, modelBytes, inputShape } = c.info;
  ui.loaderBar.max = 1;
  ui.loaderBar.value = 1;
  // From the cache it is ready at once: no card. After a visible download the card stays,
  // as a confirmation, rather than vanishing and shifting the page under the pointer.
  if (performance.now() - loadStarted < 600) {
    ui.loader.hidden = true;
  } else {
    ui.loader.classList.add('done');
    ui.loaderLabel.textContent = 'Model ready: classification runs on this device';
    ui.loaderBytes.textContent = formatBytes(modelBytes);
  }
  const simd = variant.startsWith('relaxed') ? 'WebAssembly relaxed SIMD' : 'WebAssembly SIMD';
  ui.badge.textContent = `${variant.endsWith('-threads') ? `${simd} · ${threads} threads` : simd} · ${precision} · ${inputShape[0]}×${inputShape[1]} model`;
  ui.badge.hidden = false;
  document.body.dataset.ready = 'true';
}, (e) => {
  ui.loader.hidden = true;
  ui.fatal.textContent = `The classifier could not start: ${e.message}. Reload the page to try again.`;
  ui.fatal.hidden = false;
  document.body.dataset.ready = 'error';
});

// ---- Result cards -----------------------------------------------------------------------

function newCard(name) {
  const li = ui.template.content.firstElementChild.cloneNode(true);
  li.querySelector('.result-name').textContent = name;
  li.querySelector('.result-img').setAttribute('aria-label', `Photo: ${name}`);
  li.classList.add('pending');
  li.dataset.tone = 'unsure';
  li.setAttribute('aria-busy', 'true');
  li.querySelector('.verdict-text').textContent = 'Classifying…';
  return li;
}

// ---- Previews ----------------------------------------------------------------------------
// A card keeps its preview as the worker's small encoded image (a few kB) and draws it on
// its canvas only while the card is on or near the screen; a card far away, or cleared,
// gives its pixels back at once. So memory follows what is visible, not how many photos
// were classified.
const previews = new Map(); // card -> preview Blob
const nearScreen = new IntersectionObserver((entries) => {
  for (const e of entries) {
    if (e.isIntersecting) drawPreview(e.target);
    else releasePreview(e.target);
  }
}, { rootMargin: '50% 0px' });

function setPreview(li, blob) {
  previews.set(li, blob);
  nearScreen.observe(li);
}

async function drawPreview(li) {
  if (li.dataset.preview === 'shown' || li.dataset.preview === 'drawing') return;
  li.dataset.preview = 'drawing';
  try {
    await drawOnCanvas(li.querySelector('.result-img'), previews.get(li));
    // "Where it looked" is drawn on the preview's pixels: each new drawing gets it again.
    if (li.dataset.preview === 'drawing' && li.dataset.heatmap === 'on') drawHeatmap(li);
  } catch {
    li.classList.add('no-preview'); // a preview this browser cannot decode
  }
  // Released (scrolled away, cleared) while it was being drawn: give it back now.
  if (li.dataset.preview === 'drawing') li.dataset.preview = 'shown';
  else clearCanvas(li.querySelector('.result-img'));
}

function releasePreview(li) {
  if (!li.dataset.preview) return;
  li.dataset.preview = 'released';
  clearCanvas(li.querySelector('.result-img'));
}

// ---- Where it looked ----------------------------------------------------------------------
// A card whose result has a heatmap gets a toggle; pressed, the map is blended over its
// preview (heatmap.js, the rules `mvb explain` draws by), a legend shows, and the sentence
// the CLI prints is put in the card's live region. Released, the preview is drawn afresh.
const heatmaps = new WeakMap(); // card -> {map, photo}: the result's heatmap and previewPhoto

function drawHeatmap(li) {
  const { map, photo } = heatmaps.get(li);
  overlayHeatmap(li.querySelector('.result-img'), map, photo);
}

function offerHeatmap(li, r) {
  heatmaps.set(li, { map: r.heatmap, photo: r.previewPhoto });
  offerHeatmapToggle(li.querySelector('.heatmap'), r.heatmap, (on) => {
    if (on) li.dataset.heatmap = 'on';
    else delete li.dataset.heatmap;
    // Drawn now if the preview is on the canvas; otherwise when it is drawn next.
    if (li.dataset.preview === 'shown') {
      li.dataset.preview = 'redraw';
      drawPreview(li);
    }
  });
}

// Gives back the previews of cards that leave the page.
function forgetPreviews(cards) {
  for (const li of cards) {
    releasePreview(li);
    previews.delete(li);
    nearScreen.unobserve(li);
  }
}

function showResult(li, name, r) {
  li.classList.remove('pending');
  li.removeAttribute('aria-busy');
  li.dataset.verdict = r.verdict;
  li.dataset.tone = verdictInfo(r.verdict).tone;
  li.querySelector('.verdict-text').textContent = verdictTitle(r);
  li.querySelector('.verdict-line').textContent = verdictInfo(r.verdict).line;
  li.querySelector('.scale').hidden = !verdictInfo(r.verdict).scale;
  li.querySelector('.scale-mark').style.left = `${(r.score * 100).toFixed(1)}%`;
  const decoder = r.decoder === 'browser' ? 'decoded by the browser' : 'decoded in WebAssembly';
  li.querySelector('.detail').textContent = `score ${r.score.toFixed(4)} · ${Math.round(r.ms)} ms · ${decoder}`;
  if (r.reasons) {
    const box = li.querySelector('.reasons');
    box.querySelector('ul').append(...reasonItems(r.reasons));
    box.hidden = false;
  }
  li.querySelector('.probabilities').replaceWith(probabilitiesDetails(r.probabilities));
  if (r.heatmap) offerHeatmap(li, r);
}

function showError(li, name, title, message) {
  li.classList.remove('pending');
  li.removeAttribute('aria-busy');
  li.classList.add('failed');
  li.dataset.verdict = 'error';
  li.dataset.tone = 'error';
  if (!previews.has(li)) li.classList.add('no-preview');
  li.querySelector('.verdict-text').textContent = title;
  li.querySelector('.message').textContent = message;
  li.querySelector('.scale').hidden = true;
}

// Several results in a row would cut each other off; queue them into one message.
let liveQueue = [];
let liveTimer = 0;
function announce(text) {
  liveQueue.push(text);
  clearTimeout(liveTimer);
  liveTimer = setTimeout(() => {
    ui.live.textContent = liveQueue.join(' ');
    liveQueue = [];
  }, 150);
}

// ---- The results -----------------------------------------------------------------------------
// Kept as data, newest first ({path: the name shown, outcome: null while classifying}), and
// shown a page of cards at a time (card-pages.js): a long visit keeps one page of cards.
let uploads = [];
const cards = { create: newCard, show: showOutcome, forget: forgetPreviews };
const uploadPages = cardPages(
  { list: ui.results, pager: ui.pager, prev: ui.prev, next: ui.next, label: ui.page }, cards, () => uploads);

// Adds results for photos on their way, in order, above older results; the first page
// shows them.
function addUploads(names) {
  const records = names.map((path) => ({ path, outcome: null }));
  uploads = [...records, ...uploads];
  uploadPages.toFirstPage();
  uploadPages.render();
  ui.empty.hidden = true;
  ui.clear.hidden = false;
  // On a phone the grid is far below the inputs: bring the new results into view.
  uploadPages.cardOf(records[0]).scrollIntoView({ block: 'nearest', behavior: matchMedia('(prefers-reduced-motion: reduce)').matches ? 'auto' : 'smooth' });
  return records;
}

function urlErrorTitle(e) {
  if (e.kind === 'network') return 'The site does not share this image';
  if (e.kind === 'http') return e.status === 404 ? 'No image at this address (404)' : `The server answered ${e.status}`;
  if (e.kind === 'not-image') return 'Not an image';
  if (e.kind === 'offline') return 'You are offline';
  if (e.kind === 'too-large') return 'File too large';
  if (e.kind === 'stalled') return 'The site stopped answering';
  return 'This address cannot be used';
}

// One path for every input (a File, an address, an example, each photo of a folder): mvb.js
// fetches what needs fetching, and the worker classifies it and draws the preview.
// -> {result} or {error: {title, message}}.
async function classifyPhoto(input) {
  try {
    const c = await classifier;
    return { result: await c.classify(input, { preview: true }) };
  } catch (e) {
    if (e instanceof UrlError) return { error: { title: urlErrorTitle(e), message: e.message } };
    // The engine's own message names what is wrong (a byte offset, the size against the
    // limit): it is shown as it is.
    return { error: { title: (e && ERROR_TITLES[e.status]) || ERROR_TITLE, message: e && e.message ? e.message : String(e) } };
  }
}

function showOutcome(li, name, { result, error }) {
  if (error) {
    showError(li, name, error.title, error.message);
    return;
  }
  if (result.preview) setPreview(li, result.preview); // card-pages.js shows only cards in the list
  else li.classList.add('no-preview');
  showResult(li, name, result);
}

async function classifyInto(record, input) {
  const outcome = await classifyPhoto(input);
  record.outcome = outcome;
  const li = uploadPages.cardOf(record); // none if cleared, or on another page meanwhile
  if (li) showOutcome(li, record.path, outcome);
  const { result, error } = outcome;
  const name = record.path;
  announce(error ? `${name}: ${error.title}. ${error.message}` : spokenResult(name, result));
}

// A whole folder, or many photos at once, go to the batch queue (batch.js): the same
// classify path and cards, one page of cards at a time.
const batch = startBatch({ classify: classifyPhoto, cards, announce });

function classifyFiles(files) {
  files = [...files];
  if (!files.length) return;
  if (files.length >= BATCH_MIN_FILES) {
    batch.addFiles(files);
    return;
  }
  const names = files.map((f) => f.name || 'pasted image');
  addUploads(names).forEach((record, i) => classifyInto(record, files[i]));
}

function classifyUrl(text) {
  const value = text.trim();
  const name = value.startsWith('data:') ? 'data: URL' : value;
  classifyInto(addUploads([name])[0], value);
}

ui.clear.addEventListener('click', () => {
  uploads = [];
  uploadPages.clear();
  ui.empty.hidden = false;
  ui.clear.hidden = true;
  ui.choose.focus();
});

// ---- Inputs -------------------------------------------------------------------------------

ui.choose.addEventListener('click', () => ui.file.click());
ui.file.addEventListener('change', () => {
  classifyFiles(ui.file.files);
  ui.file.value = '';
});

ui.urlForm.addEventListener('submit', (e) => {
  e.preventDefault();
  const value = ui.url.value.trim();
  if (!value) {
    ui.url.setAttribute('aria-invalid', 'true');
    ui.url.focus();
    return;
  }
  ui.url.removeAttribute('aria-invalid');
  classifyUrl(value);
});

// Drops anywhere on the page count: files first, else a dragged link or image address.
acceptDrops(window, ui.drop, { onFiles: classifyFiles, onUrl: classifyUrl, onFolder: batch.addEntries });

document.addEventListener('paste', (e) => {
  const cd = e.clipboardData;
  if (!cd) return;
  const files = [...cd.files].filter((f) => f.type.startsWith('image/'));
  if (files.length) {
    e.preventDefault();
    classifyFiles(files);
    return;
  }
  if (document.activeElement === ui.url) return; // ordinary text paste into the field
  const text = cd.getData('text/plain').trim();
  if (isImageAddress(text)) {
    e.preventDefault();
    ui.url.value = text.length > 200 ? `${text.slice(0, 200)}…` : text;
    classifyUrl(text);
  }
});

// ---- Examples -----------------------------------------------------------------------------

async function showExamples() {
  let list;
  try {
    list = await (await fetch('examples/examples.json')).json();
  } catch {
    return;
  }
  for (const ex of list) {
    const li = document.createElement('li');
    const btn = document.createElement('button');
    btn.type = 'button';
    btn.className = 'example';
    btn.dataset.file = ex.file;
    const img = document.createElement('img');
    // A small thumbnail (tools/example-thumbnails.py): the photo itself is fetched only when
    // clicked, so the examples do not share a first visit's link with the engine.
    img.src = `examples/${ex.thumb ?? ex.file}`;
    img.alt = '';
    img.loading = 'lazy';
    img.decoding = 'async';
    const caption = document.createElement('span');
    caption.className = 'example-title';
    caption.textContent = ex.title;
    const credit = document.createElement('span');
    credit.className = 'example-credit';
    credit.textContent = `by ${ex.author}`;
    btn.append(img, caption, credit);
    btn.setAttribute('aria-label', `Classify the example photo “${ex.title}” by ${ex.author}`);
    btn.addEventListener('click', async () => {
      classifyInto(addUploads([ex.title])[0], new URL(`examples/${ex.file}`, document.baseURI).href);
    });
    li.append(btn);
    ui.examples.append(li);
  }
}
showExamples();

// ---- Camera (camera.js) -------------------------------------------------------------------
// A frozen frame becomes a card like any photo.
const cameraUi = {
  offer: $('camera-offer'), start: $('camera-start'), message: $('camera-message'), panel: $('camera'),
  video: $('camera-video'), verdict: $('camera-verdict'), verdictText: $('camera-verdict-text'),
  rate: $('camera-rate'), freeze: $('camera-freeze'), stop: $('camera-stop'), live: $('camera-live'),
};
offerCamera(classifier, cameraUi, (frame, name) => {
  classifyInto(addUploads([name])[0], frame).finally(() => frame.close());
});

// ---- Offline support and updates (updates.js) ----------------------------------------------
// After the model is in and the photos chosen meanwhile have their verdicts, so the precache
// competes with neither (on a real host it revalidates what the browser just fetched, and
// downloads the rest: the other wasm build, the full example photos).
classifier.then((c) => c.idle()).then(registerServiceWorker, registerServiceWorker);
