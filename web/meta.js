// meta.js: what the page, the embed and the worker say about a result, in one place (as
// squoosh keeps a codec's defaults in one shared meta module). The engine decides the
// verdict and names it (mvb_verdict_name): this module only words and draws the names it
// is given, and never decides anything from thresholds. No DOM here: the worker and Node
// import it too.

// How each verdict the engine can give is shown. `line` says it in a sentence; `percent`
// says whether "· 87%" follows the label (a "not sure" has no class to be sure of).
export const VERDICTS = Object.freeze({
  beach: { label: 'Beach', icon: 'beach.svg', line: '', percent: true, spoken: 'beach' },
  mountain: { label: 'Mountain', icon: 'mountain.svg', line: '', percent: true, spoken: 'mountain' },
  'not sure': {
    label: 'Not sure', icon: 'unsure.svg', percent: false, spoken: 'not sure',
    line: 'The model cannot tell whether this is a beach or a mountain',
  },
  neither: {
    label: 'Neither', icon: 'neither.svg', percent: true, spoken: 'neither a beach nor a mountain',
    line: 'This doesn\'t look like a beach or a mountain',
  },
});

// The classes a model's probabilities can name (engine.js: result.probabilities).
export const CLASS_LABELS = Object.freeze({ beach: 'Beach', mountain: 'Mountain', neither: 'Neither' });

// What the original page said a "not sure" result may come from.
export const NOT_SURE_REASONS = Object.freeze([
  'the image is not in a good format (too small, blurry, an illustration or a screenshot)',
  'there are both a beach and a mountain in the image',
  'there is neither a beach nor a mountain in the image',
]);

// A verdict name this module has no words for (a newer engine) is still shown, as itself.
export function verdictInfo(verdict) {
  return VERDICTS[verdict] || { label: verdict, icon: 'unsure.svg', line: '', percent: true, spoken: verdict };
}

export const percent = (p) => `${Math.round(p * 100)}%`;

// "Neither · 87%", "Not sure".
export function verdictTitle(r) {
  const v = verdictInfo(r.verdict);
  return v.percent ? `${v.label} · ${percent(r.confidence)}` : v.label;
}

// [{name, label, p}, ...] in the engine's order: beach, mountain[, neither].
export function probabilityList(probabilities) {
  return Object.entries(probabilities || {}).map(([name, p]) => ({ name, label: CLASS_LABELS[name] || name, p }));
}

// What the live region says: the verdict first, then how sure, in words that read well.
export function spokenResult(name, r) {
  const v = verdictInfo(r.verdict);
  if (v.percent) return `${name}: ${v.spoken}, ${Math.round(r.confidence * 100)} percent sure.`;
  const odds = probabilityList(r.probabilities)
    .map(({ label, p }) => `${label.toLowerCase()} ${Math.round(p * 100)} percent`).join(', ');
  return `${name}: ${v.spoken}; ${odds}.`;
}
