// result-view.js: the parts of a result that the page's cards and <mvb-classifier> draw
// alike. Text reaches the DOM through textContent only.
import { probabilityList, percent } from './meta.js';
import { blendHeatmap, rampGradient, whereSentence } from './heatmap.js';

function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

// A closed <details> "Probabilities" listing each class as "Beach 3%" (text a screen
// reader reads as it is), with a bar beside it for the eye.
export function probabilitiesDetails(probabilities) {
  const details = el('details', 'probabilities');
  details.append(el('summary', '', 'Probabilities'));
  const list = el('ul', 'prob-list');
  for (const { label, tone, p } of probabilityList(probabilities)) {
    const bar = el('span', 'prob-bar');
    bar.setAttribute('aria-hidden', 'true');
    const fill = el('span', 'prob-fill');
    fill.style.width = `${(Math.min(1, Math.max(0, p)) * 100).toFixed(1)}%`;
    bar.append(fill);
    const item = el('li');
    item.dataset.tone = tone;
    item.append(el('span', 'prob-name', label), bar, el('span', 'prob-value', percent(p)));
    list.append(item);
  }
  details.append(list);
  return details;
}

// A preview's pixels live on a canvas, not an <img>: they belong to the canvas alone and
// clearCanvas gives them back at once, where a removed <img> leaves its decoded pixels in
// the browser's image cache (1.5 MiB per card, never returned, over a long visit).
export async function drawOnCanvas(canvas, blob) {
  const bitmap = await createImageBitmap(blob);
  try {
    canvas.width = bitmap.width;
    canvas.height = bitmap.height;
    canvas.getContext('2d').drawImage(bitmap, 0, 0);
  } finally {
    bitmap.close();
  }
}

export function clearCanvas(canvas) {
  canvas.width = 0;
  canvas.height = 0;
}

// <li> items for a list of reasons.
export function reasonItems(reasons) {
  return reasons.map((text) => el('li', '', text));
}

// ---- Where it looked ----------------------------------------------------------------------
// A result's heatmap over the canvas that shows its preview (heatmap.js, the rules `mvb
// explain` draws by), blended into the pixels in place; photo: the result's previewPhoto
// (the preview is the middle of the photo at that size).
export function overlayHeatmap(canvas, map, photo) {
  const { width, height } = canvas;
  if (!width || !height) return;
  const ctx = canvas.getContext('2d');
  const pixels = ctx.getImageData(0, 0, width, height);
  blendHeatmap(pixels.data, width, height, map, photo ? photo.width : width, photo ? photo.height : height);
  ctx.putImageData(pixels, 0, 0);
}

// The "Where it looked" box as the page's result template has it: a toggle, a legend from
// low to high, and the sentence a screen reader reads.
export function heatmapBox() {
  const box = el('div', 'heatmap');
  const toggle = el('button', 'btn small heatmap-toggle', 'Where it looked');
  toggle.type = 'button';
  toggle.setAttribute('aria-pressed', 'false');
  const legend = el('div', 'heatmap-legend');
  legend.setAttribute('aria-hidden', 'true');
  legend.append(el('span', '', 'low'), el('span', 'heatmap-ramp'), el('span', '', 'high'));
  box.append(toggle, legend, el('p', 'heatmap-text small'));
  box.querySelector('.heatmap-text').setAttribute('aria-live', 'polite');
  return box;
}

// Makes a "Where it looked" box work for one result's map: pressed, the legend and the
// sentence show, and onToggle(on) redraws the picture with or without the map.
export function offerHeatmapToggle(box, map, onToggle) {
  const toggle = box.querySelector('.heatmap-toggle');
  const legend = box.querySelector('.heatmap-legend');
  legend.querySelector('.heatmap-ramp').style.background = rampGradient();
  legend.hidden = true;
  toggle.addEventListener('click', () => {
    const on = toggle.getAttribute('aria-pressed') !== 'true';
    toggle.setAttribute('aria-pressed', String(on));
    legend.hidden = !on;
    box.querySelector('.heatmap-text').textContent = on ? `${whereSentence(map)}.` : '';
    onToggle(on);
  });
  box.hidden = false;
}
