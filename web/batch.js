// batch.js: a whole folder at once. A folder (the "Choose a folder" button, or a folder
// dropped on the page) or a large selection of photos goes through one queue, a photo at a
// time, through the page's own classify path (app.js hands it in, with the functions that
// draw its cards). Results are kept as data and shown one page of cards at a time
// (card-pages.js), so the DOM holds one page of cards whatever the count; they can be filtered by verdict,
// sorted by confidence and exported as CSV or JSON. File names reach the DOM only through
// textContent.
import { PHOTO_EXTENSIONS, VERDICTS, count } from './meta.js';
import { cardPages } from './card-pages.js';

// ---- Which files ----------------------------------------------------------------------------

// Whether a file in a folder is a photo to classify, from its path and MIME type. A broken
// photo is still a photo: it is listed with the engine's reason.
export function isPhoto(path, type = '') {
  const name = path.split('/').pop();
  if (name.startsWith('.')) return false; // hidden files, macOS's "._photo.jpg" companions
  if (type.startsWith('image/')) return true;
  const dot = name.lastIndexOf('.');
  return dot > 0 && PHOTO_EXTENSIONS.includes(name.slice(dot + 1).toLowerCase());
}

// [{file, path}] from a file list: path is the file's place in the chosen folder
// ("Holiday/day 1/IMG_0001.jpg", <input webkitdirectory>), else its name.
export function filesFromList(files) {
  return [...files].map((file) => ({ file, path: file.webkitRelativePath || file.name }));
}

const callback = (fn) => new Promise((resolve, reject) => fn(resolve, reject));

// [{file, path} | {path, error}] from dropped FileSystemEntry objects
// (DataTransferItem.webkitGetAsEntry), folders walked to the bottom. A folder's reader
// gives its entries a hundred or so at a time, until an empty list.
export async function filesFromEntries(entries) {
  const out = [];
  async function walk(entry) {
    const path = entry.fullPath.replace(/^\//, '') || entry.name;
    try {
      if (entry.isFile) {
        out.push({ file: await callback((ok, fail) => entry.file(ok, fail)), path });
      } else if (entry.isDirectory) {
        const reader = entry.createReader();
        for (let chunk; (chunk = await callback((ok, fail) => reader.readEntries(ok, fail))).length;) {
          for (const e of chunk) await walk(e);
        }
      }
    } catch (e) {
      out.push({ path: entry.isDirectory ? `${path}/` : path, error: unreadable(e) });
    }
  }
  for (const entry of entries) await walk(entry);
  return out;
}

function unreadable(e) {
  return { title: 'Cannot open this file', message: `The browser could not read it (${(e && (e.name || e.message)) || e}).` };
}

// ---- Export ----------------------------------------------------------------------------------

const number = (x) => (Number.isFinite(x) ? x.toFixed(6) : '');

// One row per photo, in the given order: {file, verdict, confidence, score, probabilities,
// decoder} for a result, {file, verdict: 'error', error: {title, message}} for a failure.
export function exportRows(records) {
  return records.map(({ path, outcome: { result, error } }) => (error
    ? { file: path, verdict: 'error', error: { title: error.title, message: error.message } }
    : {
      file: path, verdict: result.verdict, confidence: result.confidence, score: result.score,
      probabilities: { ...result.probabilities }, decoder: result.decoder,
    }));
}

// RFC 4180 fields; one that a spreadsheet would run as a formula (=, +, -, @ first) gets a
// leading apostrophe, so a file name cannot become a formula.
function csvField(value) {
  let s = String(value ?? '');
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

// file, verdict, confidence, score, the "neither" probability when the model has that
// class, and a failure's reason.
export function toCsv(rows) {
  const neither = rows.some((r) => r.probabilities && 'neither' in r.probabilities);
  const head = ['file', 'verdict', 'confidence', 'score', ...(neither ? ['neither'] : []), 'error'];
  const lines = rows.map((r) => [
    r.file, r.verdict, number(r.confidence), number(r.score),
    ...(neither ? [number(r.probabilities?.neither)] : []),
    r.error ? `${r.error.title}: ${r.error.message}` : '',
  ].map(csvField).join(','));
  return `${[head.join(','), ...lines].join('\r\n')}\r\n`;
}

export function toJson(rows, skipped) {
  return `${JSON.stringify({ photos: rows, skipped }, null, 2)}\n`;
}

function download(name, type, text) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000); // after the download has started
}

// ---- Words -----------------------------------------------------------------------------------

const plural = (n, one, many = `${one}s`) => `${count(n)} ${n === 1 ? one : many}`;

function duration(seconds) {
  const s = Math.max(1, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

// ---- Order and filter ------------------------------------------------------------------------

const FILTERS = [
  ['all', 'All photos', () => true],
  ...Object.entries(VERDICTS).map(([v, info]) => [v, info.label, (r) => r.outcome.result?.verdict === v]),
  ['error', 'Could not read', (r) => !!r.outcome.error],
];

// Failures carry no confidence: they come last either way.
const byConfidence = (dir) => (a, b) => {
  const ca = a.outcome.result?.confidence;
  const cb = b.outcome.result?.confidence;
  if (ca === undefined || cb === undefined) return (ca === undefined) - (cb === undefined) || a.seq - b.seq;
  return dir * (ca - cb) || a.seq - b.seq;
};
const SORTS = {
  order: (a, b) => a.seq - b.seq,
  'confidence-desc': byConfidence(-1),
  'confidence-asc': byConfidence(1),
};

const byPath = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });

// ---- The view ----------------------------------------------------------------------------------

// classify(File) -> {result} | {error: {title, message}}: the page's one classify path.
// cards: {create(name) -> <li>, show(li, name, outcome), forget(lis)}: the page's cards
// (forget gives their preview pixels back). announce(text): the page's live region.
export function startBatch({ classify, cards, announce }) {
  const $ = (id) => document.getElementById(id);
  const ui = {
    section: $('batch'), bar: $('batch-bar'), progress: $('batch-progress'), notes: $('batch-notes'),
    cancel: $('batch-cancel'), clear: $('batch-clear'), filter: $('batch-filter'), sort: $('batch-sort'),
    csv: $('batch-csv'), json: $('batch-json'), list: $('batch-results'),
    pager: $('batch-pager'), prev: $('batch-prev'), next: $('batch-next'), page: $('batch-page'),
    chooseFolder: $('choose-folder'), folder: $('folder'),
  };

  let records = []; // {seq, path, outcome}: classified, in the order they finished
  let queue = []; // {seq, path, file | error, run}: waiting
  let seq = 0;
  let skipped = 0;
  let run = null; // {total, done, started, cancelled}: since the queue last started
  let running = false;
  let generation = 0; // bumped by Clear: a result that comes back after it is dropped
  let renderTimer = 0;
  const pages = cardPages({ list: ui.list, pager: ui.pager, prev: ui.prev, next: ui.next, label: ui.page }, cards, view);

  for (const [value, label] of FILTERS) {
    const option = document.createElement('option');
    option.value = value;
    option.textContent = label;
    ui.filter.append(option);
  }

  function add(items) {
    const photos = [];
    for (const item of items) {
      if (isPhoto(item.path, item.file?.type)) photos.push(item);
      else skipped++;
    }
    photos.sort((a, b) => byPath.compare(a.path, b.path));
    // Photos added while a run goes on join it; after a cancel they start a new one.
    if (!running || run.cancelled) run = { total: 0, done: 0, started: performance.now(), cancelled: false };
    run.total += photos.length;
    for (const p of photos) queue.push({ ...p, seq: seq++, run });
    ui.section.hidden = false;
    ui.section.scrollIntoView({ block: 'nearest' });
    announce(photos.length
      ? `Classifying ${plural(photos.length, 'photo')}${skipped ? `; ${plural(skipped, 'file')} skipped, not photos` : ''}.`
      : `No photos to classify: ${plural(skipped, 'file')} skipped, not photos.`);
    pump();
    showProgress();
  }

  // Runs the queue, one photo at a time; `running` is set before its first await.
  async function pump() {
    if (running) return;
    running = true;
    const gen = generation;
    while (queue.length) {
      const item = queue.shift();
      const outcome = item.error ? { error: item.error } : await classify(item.file);
      if (gen !== generation) return; // cleared meanwhile (Clear ends this loop's run)
      records.push({ seq: item.seq, path: item.path, outcome });
      item.run.done++;
      showProgress();
      scheduleRender();
    }
    running = false;
    showProgress();
    render();
    const failed = records.filter((r) => r.outcome.error).length;
    if (run.total) announce(`${run.cancelled ? 'Cancelled' : 'Done'}: ${count(run.done)} of ${plural(run.total, 'photo')} classified${failed ? `, ${count(failed)} could not be read` : ''}.`);
  }

  function cancel() {
    if (!running) return;
    run.cancelled = true;
    queue = []; // the photo being classified now still finishes
    showProgress();
  }

  function clear() {
    generation++;
    queue = [];
    running = false;
    records = [];
    skipped = 0;
    run = null;
    pages.clear();
    ui.section.hidden = true;
    ui.chooseFolder.focus();
  }

  // ---- Progress: n of N, photos per second, time left ----

  function showProgress() {
    if (!run) return;
    const { done, total } = run;
    ui.section.dataset.state = running ? 'running' : run.cancelled ? 'cancelled' : 'done';
    ui.bar.max = Math.max(1, total);
    ui.bar.value = done;
    const seconds = (performance.now() - run.started) / 1000;
    const rate = done / seconds;
    let text = `${count(done)} of ${plural(total, 'photo')}`;
    if (running && run.cancelled) text += ' · cancelling…';
    else if (running && done) text += ` · ${rate.toFixed(1)} photos per second · about ${duration((total - done) / rate)} left`;
    else if (!running) text = `${run.cancelled ? 'Cancelled' : 'Done'}: ${text} in ${duration(seconds)}`;
    ui.progress.textContent = text;
    const failed = records.filter((r) => r.outcome.error).length;
    const notes = [];
    if (failed) notes.push(`${plural(failed, 'photo')} could not be read (choose “Could not read” to see why).`);
    if (skipped) notes.push(`${plural(skipped, 'file')} skipped: not ${skipped === 1 ? 'a photo' : 'photos'}.`);
    ui.notes.textContent = notes.join(' ');
    ui.cancel.hidden = !running;
    ui.cancel.disabled = run.cancelled;
  }

  // ---- The results: one page of cards, drawn by the page's card functions ----

  function view() {
    const keep = FILTERS.find(([value]) => value === ui.filter.value)[2];
    return records.filter(keep).sort(SORTS[ui.sort.value]);
  }

  function scheduleRender() {
    if (!renderTimer) renderTimer = setTimeout(render, 250); // at most four times a second
  }

  function render() {
    clearTimeout(renderTimer);
    renderTimer = 0;
    for (const option of ui.filter.options) {
      const [value, label, keep] = FILTERS.find(([v]) => v === option.value);
      option.textContent = `${label} (${count(value === 'all' ? records.length : records.filter(keep).length)})`;
    }
    const all = pages.render();
    ui.csv.disabled = ui.json.disabled = !all.length;
  }

  // Exports what the view shows: the filter and the order as chosen.
  function exportAs(kind) {
    const rows = exportRows(view());
    if (kind === 'csv') download('mountain-or-beach.csv', 'text/csv', toCsv(rows));
    else download('mountain-or-beach.json', 'application/json', toJson(rows, skipped));
  }

  ui.cancel.addEventListener('click', cancel);
  ui.clear.addEventListener('click', clear);
  ui.filter.addEventListener('change', () => { pages.toFirstPage(); render(); });
  ui.sort.addEventListener('change', () => { pages.toFirstPage(); render(); });
  ui.csv.addEventListener('click', () => exportAs('csv'));
  ui.json.addEventListener('click', () => exportAs('json'));
  ui.chooseFolder.addEventListener('click', () => ui.folder.click());
  ui.folder.addEventListener('change', () => {
    add(filesFromList(ui.folder.files));
    ui.folder.value = '';
  });

  return {
    addFiles: (files) => add(filesFromList(files)),
    addEntries: async (entries) => add(await filesFromEntries(entries)),
  };
}
