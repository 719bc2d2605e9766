// result-view.js: the parts of a result that the page's cards and <mvb-classifier> draw
// alike. Text reaches the DOM through textContent only.
import { probabilityList, percent } from './meta.js';

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
