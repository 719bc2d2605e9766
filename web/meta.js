// meta.js: the web side's constants, each in one place (as squoosh keeps a codec's
// defaults in one shared meta module that its worker and its UI both import): status
// codes, the thread cap, and how each verdict is worded and drawn. The engine decides the
// verdict and names it (mvb_verdict_name), and engine.js holds the pixel limit's default:
// this module only words and draws the names it is given, and never decides anything
// from thresholds. No DOM here: the worker and Node import it too.

// Mirrors mvb_status in src/mvb.h.
export const Status = Object.freeze({
  OK: 0, INVALID_ARGUMENT: 1, OUT_OF_MEMORY: 2, IO: 3, MODEL_FORMAT: 4, UNSUPPORTED: 5,
  SHAPE: 6, IMAGE: 7, IMAGE_TOO_LARGE: 8, BACKEND: 9, STATE: 10,
});
export const STATUS_NAMES = Object.freeze([
  'ok', 'invalid argument', 'out of memory', 'i/o error', 'model format', 'unsupported',
  'shape', 'image', 'image too large', 'backend', 'state',
]);

// The browsers the site runs in, as the errors that refuse the others name them: WebAssembly
// SIMD (Chrome 91, Firefox 89, Safari 16.4) and DecompressionStream for the gzipped model
// and wasm files (Chrome 80, Firefox 113, Safari 16.4).
export const BROWSERS_NEEDED = 'Chrome 91+, Firefox 113+ or Safari 16.4+';

// The threaded engine uses at most this many threads: past two, this model runs no faster
// and a phone runs hotter.
export const MAX_THREADS = 2;

// A result's preview (classify(input, {preview: true})): the photo scaled to cover this
// box (the cards' 4:3 figure), its longer side at most twice the box's: a few kB to keep
// per card, whatever the photo's size.
export const PREVIEW_BOX = Object.freeze({ width: 320, height: 240 });

// "Use camera" (camera.js): what is asked of the camera (a hint: it gives what it has; the
// back one on a phone), the window verdicts per second are counted over, the longest wait
// for a new frame before the current one is classified anyway, and what the mode says.
export const CAMERA = Object.freeze({
  constraints: { audio: false, video: { facingMode: 'environment', width: { ideal: 640 }, height: { ideal: 480 } } },
  rateWindowMs: 2000,
  frameWaitMs: 250,
  starting: 'Starting the camera…',
  loading: 'Loading the model…',
  messages: {
    NotAllowedError: 'The camera permission was refused. To use the camera, allow it for this site in the browser (the camera icon in the address bar, or the site settings), then press "Use camera" again.',
    SecurityError: 'This browser does not let this page use a camera.',
    NotFoundError: 'No camera was found on this device. Connect one, or choose photos instead.',
    OverconstrainedError: 'No camera was found on this device that can be used here. Choose photos instead.',
    NotReadableError: 'The camera could not be started: another app may be using it. Close it and press "Use camera" again.',
    AbortError: 'The camera could not be started. Press "Use camera" to try again.',
    ended: 'The camera stopped (it was disconnected or switched off).',
    hidden: 'The camera was switched off while the page was in the background. Press "Use camera" to start it again.',
    classify: 'The camera was switched off: its pictures could not be classified',
    other: 'The camera could not be started',
  },
});

// A failed card's title, by status; any other status gets ERROR_TITLE.
export const ERROR_TITLES = Object.freeze({
  [Status.IMAGE]: 'Cannot read this image',
  [Status.IMAGE_TOO_LARGE]: 'Image too large',
});
export const ERROR_TITLE = 'Could not classify this photo';

// Tones: a colour (light theme, its soft background; dark theme, its soft background) and
// an icon in icons/. Verdicts, classes and errors are drawn in one of them.
export const TONES = Object.freeze({
  beach: { icon: 'beach.svg', light: ['#b7701a', '#fbefdc'], dark: ['#f0b45c', '#3a2c17'] },
  mountain: { icon: 'mountain.svg', light: ['#2f5f9e', '#e2ebf7'], dark: ['#8cb6f2', '#1c2a3e'] },
  unsure: { icon: 'unsure.svg', light: ['#6b5fa5', '#ece9f7'], dark: ['#b6a9f5', '#2a2540'] },
  neither: { icon: 'neither.svg', light: ['#3f6f6a', '#e1eeec'], dark: ['#8fcfc6', '#1d3331'] },
  error: { icon: 'error.svg', light: ['#b3261e', '#fbe9e7'], dark: ['#ff8a80', '#3b1f1d'] },
});

// What the original page said a "not sure" result may come from.
export const NOT_SURE_REASONS = Object.freeze([
  'the image is not in a good format (too small, blurry, an illustration or a screenshot)',
  'there are both a beach and a mountain in the image',
  'there is neither a beach nor a mountain in the image',
]);

// How each verdict the engine can give is shown. `line` says it in a sentence; `percent`
// says whether "· 87%" follows the label (a "not sure" has no class to be sure of);
// `scale` whether the beach-to-mountain scale means anything for it; `reasons` go with it.
export const VERDICTS = Object.freeze({
  beach: { label: 'Beach', tone: 'beach', line: '', percent: true, scale: true, spoken: 'beach' },
  mountain: { label: 'Mountain', tone: 'mountain', line: '', percent: true, scale: true, spoken: 'mountain' },
  'not sure': {
    label: 'Not sure', tone: 'unsure', percent: false, scale: true, spoken: 'not sure',
    line: 'The model cannot tell whether this is a beach or a mountain', reasons: NOT_SURE_REASONS,
  },
  neither: {
    label: 'Neither', tone: 'neither', percent: true, scale: false, spoken: 'neither a beach nor a mountain',
    line: 'This doesn\'t look like a beach or a mountain',
  },
});

// The classes a model's probabilities can name (engine.js: result.probabilities).
export const CLASSES = Object.freeze({
  beach: { label: 'Beach', tone: 'beach' },
  mountain: { label: 'Mountain', tone: 'mountain' },
  neither: { label: 'Neither', tone: 'neither' },
});

// The tones as CSS: each colour as a custom property on `scope` (--beach, --beach-soft,
// ... after `prefix`), light and dark; and an element with data-tone="x" gets --tone,
// --tone-soft and --icon. The page and the embed both style verdicts from these.
export function toneStyles(scope, prefix = '') {
  const decls = (theme) => Object.entries(TONES)
    .map(([name, t]) => `--${prefix}${name}: ${t[theme][0]}; --${prefix}${name}-soft: ${t[theme][1]};`).join(' ');
  const rules = Object.entries(TONES).map(([name, t]) => `[data-tone="${name}"] { --tone: var(--${prefix}${name}); ` +
    `--tone-soft: var(--${prefix}${name}-soft); --icon: url("${new URL(`icons/${t.icon}`, import.meta.url).href}"); }`);
  return [`${scope} { ${decls('light')} }`, `@media (prefers-color-scheme: dark) { ${scope} { ${decls('dark')} } }`, ...rules].join('\n');
}

// A verdict name this module has no words for (a newer engine) is still shown, as itself.
export function verdictInfo(verdict) {
  return VERDICTS[verdict] || { label: verdict, tone: 'unsure', line: '', percent: true, scale: true, spoken: verdict };
}

export const percent = (p) => `${Math.round(p * 100)}%`;
// 1,234: counts of photos and pages.
export const count = (n) => n.toLocaleString('en');
export function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(0)} KB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MB`;
}

// "Neither · 87%", "Not sure".
export function verdictTitle(r) {
  const v = verdictInfo(r.verdict);
  return v.percent ? `${v.label} · ${percent(r.confidence)}` : v.label;
}

// [{name, label, tone, p}, ...] in the engine's order: beach, mountain[, neither].
export function probabilityList(probabilities) {
  return Object.entries(probabilities || {}).map(([name, p]) => ({ name, label: name, tone: 'unsure', ...CLASSES[name], p }));
}

// What the live region says: the verdict first, then how sure, in words that read well.
export function spokenResult(name, r) {
  const v = verdictInfo(r.verdict);
  if (v.percent) return `${name}: ${v.spoken}, ${Math.round(r.confidence * 100)} percent sure.`;
  const odds = probabilityList(r.probabilities)
    .map(({ label, p }) => `${label.toLowerCase()} ${Math.round(p * 100)} percent`).join(', ');
  return `${name}: ${v.spoken}; ${odds}.`;
}

// The largest file read at all, chosen, dropped or fetched from an address: a photo within
// the engine's default pixel limit (50 megapixels) takes at most 200 MB even as an
// uncompressed 32-bit BMP, so a larger file is something else (a video dropped by mistake),
// and reading it whole could take the tab down before anything said why.
export const MAX_INPUT_BYTES = 256 * 1024 * 1024;
// How long an image address may send nothing (no answer, or no further bytes) before it is
// given up on, so that its card does not say "Classifying" for ever.
export const FETCH_STALL_MS = 30000;

// A whole folder at once (batch.js). A folder, or at least BATCH_MIN_FILES photos chosen,
// dropped or pasted together, go to the batch queue instead of one card each.
export const BATCH_MIN_FILES = 20;
// Results, the page's and a folder's, are shown RESULTS_PAGE_SIZE at a time (card-pages.js:
// one page of cards in the DOM, whatever the count).
export const RESULTS_PAGE_SIZE = 24;
// What counts as a photo in a folder: an image/* type, or one of these endings (a browser
// may give HEIC and AVIF files no type). Anything else, and hidden files (names starting
// with "." such as macOS's "._photo.jpg" companions), is skipped and counted.
export const PHOTO_EXTENSIONS = Object.freeze(['jpg', 'jpeg', 'jpe', 'jfif', 'png', 'bmp', 'gif', 'webp', 'avif', 'heic', 'heif']);
