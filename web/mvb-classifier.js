// mvb-classifier.js: <mvb-classifier>, a drop-in classifier for any page.
//
//   <script type="module" src="https://HOST/PATH/mvb-classifier.js"></script>
//   <mvb-classifier></mvb-classifier>
//
// Attributes: base (where wasm/ and weights/ live; default: this module's folder),
// model (a model.json URL), variant ("relaxed-threads" | "relaxed" | "simd-threads" | "simd"; engine.js VARIANTS), precision ("f32" | "int8"; default: the model's own, model.json mvb.precision),
// no-camera (no "Use camera" button; the page that embeds it must also allow the camera, e.g.
// an <iframe allow="camera">, for the button to work).
// A result with a heatmap (the shipped model's) gets a "Where it looked" toggle. "Use camera"
// (camera.js, as on the site's page) shows a live verdict; "Freeze" classifies the frame.
// Events: "mvb-result" (detail: the result plus {name}), "mvb-error" (detail: {message}).
// Method: classify(input).
// Theming: the custom properties below (--mvb-accent, --mvb-beach, ...) can be set on it.
import { load, UrlError } from './mvb.js';
import { acceptDrops } from './drop.js';
import { offerCamera } from './camera.js';
import { verdictInfo, verdictTitle, toneStyles } from './meta.js';
import {
  probabilitiesDetails, reasonItems, drawOnCanvas, clearCanvas, heatmapBox, offerHeatmapToggle, overlayHeatmap,
} from './result-view.js';

const CSS = `
:host { display: block; max-width: 420px; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  --mvb-accent: #2a6fdb; --mvb-bg: #fff; --mvb-bg2: #eef1f5; --mvb-text: #15181d; --mvb-muted: #5b6470;
  --mvb-border: #dde2e8; color: var(--mvb-text); }
@media (prefers-color-scheme: dark) { :host { --mvb-bg: #1a1f26; --mvb-bg2: #232a33; --mvb-text: #e8ebef;
  --mvb-muted: #9aa4b1; --mvb-border: #2e3641; --mvb-accent: #6ea8ff; } }
${toneStyles(':host', 'mvb-')}
[hidden] { display: none !important; }
.box { background: var(--mvb-bg); border: 1px solid var(--mvb-border); border-radius: 14px; overflow: hidden; }
.drop { display: grid; justify-items: center; gap: 6px; padding: 20px 14px; text-align: center;
  border-bottom: 1px solid var(--mvb-border); background: var(--mvb-bg2); }
.drop.dragging { outline: 2px dashed var(--mvb-accent); outline-offset: -6px; }
.drop > p { margin: 0; color: var(--mvb-muted); font-size: .9em; }
button { font: inherit; font-weight: 600; border-radius: 10px; border: 1px solid var(--mvb-accent);
  background: var(--mvb-accent); color: #fff; padding: 8px 16px; min-height: 40px; cursor: pointer; }
button:focus-visible { outline: 3px solid var(--mvb-accent); outline-offset: 2px; }
progress { width: 100%; height: 6px; accent-color: var(--mvb-accent); }
.out { padding: 12px 14px 14px; display: grid; gap: 8px; }
.out canvas { display: block; width: 100%; max-height: 240px; object-fit: cover; border-radius: 10px; background: var(--mvb-bg2); }
.verdict, .camera-verdict { margin: 0; font-size: 1.25em; font-weight: 700; display: flex; align-items: center; gap: 8px; color: var(--tone); }
.verdict .icon, .camera-verdict .icon { width: 28px; height: 28px; border-radius: 8px; flex: none; background: var(--tone-soft); position: relative; }
.verdict .icon::after, .camera-verdict .icon::after { content: ""; position: absolute; inset: 5px; background: currentColor;
  -webkit-mask: var(--icon) center / contain no-repeat; mask: var(--icon) center / contain no-repeat; }
.verdict.error { font-size: 1em; }
.line:empty { display: none; }
.line, .detail { margin: 0; } .detail { color: var(--mvb-muted); font-size: .85em; }
summary { cursor: pointer; font-size: .88em; font-weight: 600; }
.prob-list { list-style: none; padding: 0; margin: 6px 0 0; display: grid; gap: 4px; }
.prob-list li { display: grid; grid-template-columns: 5.5em 1fr 3em; align-items: center; gap: 8px; }
.prob-bar { height: 6px; border-radius: 999px; background: var(--mvb-bg2); overflow: hidden; }
.prob-fill { display: block; height: 100%; background: var(--mvb-muted); }
.prob-list [data-tone] .prob-fill { background: var(--tone); }
.prob-value { text-align: right; font-variant-numeric: tabular-nums; }
ul { margin: 0; padding-left: 18px; font-size: .88em; }
.status { margin: 0; color: var(--mvb-muted); font-size: .85em; }
.heatmap { display: flex; flex-wrap: wrap; align-items: center; gap: 6px 12px; }
.heatmap-toggle { background: var(--mvb-bg); color: var(--mvb-text); border-color: var(--mvb-border); padding: 4px 12px; min-height: 34px; font-size: .88em; }
.heatmap-toggle[aria-pressed="true"] { background: var(--tone-soft); border-color: var(--tone); }
.heatmap-legend { display: flex; align-items: center; gap: 6px; font-size: .72em; color: var(--mvb-muted); text-transform: uppercase; letter-spacing: .04em; }
.heatmap-ramp { width: 72px; height: 8px; border-radius: 999px; }
.heatmap-text { flex-basis: 100%; margin: 0; font-size: .88em; }
.heatmap-text:empty { display: none; }
button.secondary { background: var(--mvb-bg); color: var(--mvb-accent); }
button:disabled { opacity: .5; cursor: default; }
.camera-offer { display: grid; gap: 8px; justify-items: center; width: 100%; }
.camera-message { margin: 0; font-size: .88em; color: var(--mvb-error); }
.camera { display: grid; gap: 8px; width: 100%; }
.camera-view { position: relative; aspect-ratio: 4 / 3; border-radius: 10px; overflow: hidden; background: #000; }
.camera-view video { display: block; width: 100%; height: 100%; object-fit: cover; }
.camera-view .camera-verdict { position: absolute; left: 8px; bottom: 8px; padding: 4px 12px 4px 4px; border-radius: 999px;
  background: var(--mvb-bg); font-size: 1em; }
.camera-rate { position: absolute; right: 8px; top: 8px; margin: 0; padding: 2px 8px; border-radius: 999px;
  background: rgba(0, 0, 0, .55); color: #fff; font-size: .75em; font-variant-numeric: tabular-nums; }
.camera-rate:empty { display: none; }
.camera-actions { display: flex; flex-wrap: wrap; justify-content: center; gap: 8px; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
`;

function sheet() {
  if (typeof CSSStyleSheet === 'function' && 'replaceSync' in CSSStyleSheet.prototype) {
    const s = new CSSStyleSheet();
    s.replaceSync(CSS);
    return s;
  }
  return null;
}

function el(tag, props = {}, children = []) {
  const e = document.createElement(tag);
  Object.assign(e, props);
  e.append(...children);
  return e;
}

// "Use camera" and its live view, the elements camera.js drives (hidden until offered).
function cameraElements() {
  const ui = {
    start: el('button', { type: 'button', className: 'secondary', textContent: 'Use camera' }),
    message: el('p', { className: 'camera-message', hidden: true }),
    video: el('video', { muted: true, playsInline: true }),
    verdictText: el('span'),
    rate: el('p', { className: 'camera-rate' }),
    freeze: el('button', { type: 'button', textContent: 'Freeze', disabled: true }),
    stop: el('button', { type: 'button', className: 'secondary', textContent: 'Stop camera' }),
    live: el('p', { className: 'visually-hidden' }),
  };
  ui.message.setAttribute('role', 'alert');
  ui.video.setAttribute('aria-label', 'What the camera sees');
  ui.live.setAttribute('role', 'status');
  ui.live.setAttribute('aria-live', 'polite');
  ui.verdict = el('p', { className: 'camera-verdict' }, [el('span', { className: 'icon', ariaHidden: 'true' }), ui.verdictText]);
  ui.verdict.dataset.tone = 'unsure';
  ui.panel = el('div', { className: 'camera', hidden: true }, [
    el('div', { className: 'camera-view' }, [ui.video, ui.verdict, ui.rate]),
    el('div', { className: 'camera-actions' }, [ui.freeze, ui.stop]),
    ui.live,
  ]);
  ui.offer = el('div', { className: 'camera-offer', hidden: true }, [ui.start, ui.message, ui.panel]);
  return ui;
}

class MvbClassifierElement extends HTMLElement {
  constructor() {
    super();
    const root = this.attachShadow({ mode: 'open' });
    const s = sheet();
    if (s) root.adoptedStyleSheets = [s];
    else root.append(el('style', { textContent: CSS }));

    this.fileInput = el('input', { type: 'file', accept: 'image/*', hidden: true });
    this.button = el('button', { type: 'button', textContent: 'Choose a photo' });
    this.camera = cameraElements();
    this.drop = el('div', { className: 'drop' }, [
      this.button, el('p', { textContent: 'or drop one here' }), this.fileInput, this.camera.offer,
    ]);
    this.progress = el('progress');
    this.status = el('p', { className: 'status', textContent: 'Loading the classifier…' });
    this.img = el('canvas', { hidden: true, width: 0, height: 0 });
    this.img.setAttribute('role', 'img');
    this.verdictText = el('span');
    this.verdict = el('p', { className: 'verdict', hidden: true }, [el('span', { className: 'icon', ariaHidden: 'true' }), this.verdictText]);
    this.line = el('p', { className: 'line' });
    this.detail = el('p', { className: 'detail' });
    this.reasons = el('ul', { hidden: true });
    this.probabilities = el('details', { hidden: true });
    this.heatmap = el('div', { hidden: true });
    const live = el('div', { className: 'out' }, [this.status, this.progress, this.img, this.verdict, this.line, this.heatmap, this.reasons, this.probabilities, this.detail]);
    live.setAttribute('role', 'status');
    live.setAttribute('aria-live', 'polite');
    root.append(el('div', { className: 'box', part: 'box' }, [this.drop, live]));

    this.button.addEventListener('click', () => this.fileInput.click());
    this.fileInput.addEventListener('change', () => {
      if (this.fileInput.files[0]) this.run(this.fileInput.files[0], this.fileInput.files[0].name);
      this.fileInput.value = '';
    });
    acceptDrops(this.drop, this.drop, {
      onFiles: (files) => this.run(files[0], files[0].name),
      onUrl: (url) => this.run(url, 'dropped link'),
    });
  }

  connectedCallback() {
    if (!this.ready) this.startLoading();
    if (!this.hasAttribute('no-camera') && !this.cameraOffer) {
      this.cameraOffer = offerCamera(this.ready, this.camera, (frame, name) => this.run(frame, name).finally(() => frame.close()));
    }
  }

  // Taken out of the page (or moved: connectedCallback offers the camera again): the camera
  // goes off, its light with it, and its page-wide listeners go.
  disconnectedCallback() {
    this.cameraOffer?.release();
    this.cameraOffer = undefined;
  }

  startLoading() {
    const opts = {
      base: this.getAttribute('base') || undefined,
      modelUrl: this.getAttribute('model') || undefined,
      variant: this.getAttribute('variant') || undefined,
      precision: this.getAttribute('precision') || undefined,
      onProgress: (done, total) => {
        if (total) { this.progress.max = total; this.progress.value = done; }
        this.status.textContent = total ? `Downloading the model… ${Math.round((100 * done) / total)}%` : 'Downloading the model…';
      },
    };
    this.ready = load(opts);
    this.ready.then(() => {
      this.progress.hidden = true;
      this.status.textContent = 'Ready: choose or drop a photo of a mountain or a beach.';
      this.setAttribute('ready', '');
    }, (e) => {
      this.progress.hidden = true;
      this.showError(`The classifier could not start: ${e.message}`);
    });
  }

  // input: File/Blob, ImageBitmap, image element or URL; resolves to the result (with its
  // preview, which the element shows).
  async classify(input) {
    const r = await (await this.ready).classify(input, { preview: true });
    this.preview(r.preview);
    return r;
  }

  // Shows the result's preview (or none), giving the last one's pixels back first; with
  // `heat` ({map, photo}), "Where it looked" blended over it.
  async preview(blob, heat = null) {
    const turn = (this.previewTurn = (this.previewTurn || 0) + 1);
    // The same preview redrawn (the toggle) keeps its old pixels until the new ones are in.
    const again = blob && blob === this.shownBlob;
    this.shownBlob = blob;
    if (!again) {
      clearCanvas(this.img);
      this.img.hidden = true;
    }
    if (!blob) return;
    try {
      await drawOnCanvas(this.img, blob);
    } catch {
      return; // a preview this browser cannot decode: none
    }
    if (turn !== this.previewTurn) return;
    if (heat) overlayHeatmap(this.img, heat.map, heat.photo);
    this.img.hidden = false;
  }

  // The result's "Where it looked" toggle (heatmap.js via result-view.js, as the page's
  // cards have it): the preview is drawn again with or without the map.
  offerHeatmap(r) {
    const box = heatmapBox();
    box.dataset.tone = verdictInfo(r.verdict).tone; // the pressed toggle's colours
    offerHeatmapToggle(box, r.heatmap, (on) => {
      this.preview(r.preview, on ? { map: r.heatmap, photo: r.previewPhoto } : null);
    });
    this.heatmap.replaceWith(box);
    this.heatmap = box;
  }

  // Shows what `input` is; of runs that overlap (a slow address, then a file), the last one
  // started is shown, and every one still fires its event.
  async run(input, name) {
    const turn = (this.runTurn = (this.runTurn || 0) + 1);
    this.status.hidden = false;
    this.status.textContent = `Classifying ${name}…`;
    this.preview(null);
    this.img.setAttribute('aria-label', `Photo: ${name}`);
    this.verdict.hidden = true;
    this.line.textContent = '';
    this.detail.textContent = '';
    this.reasons.hidden = true;
    this.probabilities.hidden = true;
    this.heatmap.hidden = true;
    let r;
    try {
      r = await (await this.ready).classify(input, { preview: true });
    } catch (e) {
      const message = e instanceof UrlError ? e.message : `Could not classify ${name}: ${e.message}`;
      if (turn === this.runTurn) this.showError(message);
      else this.emitError(message);
      return;
    }
    if (turn === this.runTurn) {
      this.preview(r.preview);
      this.status.hidden = true;
      this.show('verdict', verdictInfo(r.verdict).tone, verdictTitle(r));
      this.line.textContent = verdictInfo(r.verdict).line;
      this.detail.textContent = `${name} · score ${r.score.toFixed(3)}`;
      if (r.reasons) {
        this.reasons.replaceChildren(...reasonItems(r.reasons));
        this.reasons.hidden = false;
      }
      const details = probabilitiesDetails(r.probabilities);
      this.probabilities.replaceWith(details);
      this.probabilities = details;
      if (r.heatmap && r.preview) this.offerHeatmap(r);
    }
    this.dispatchEvent(new CustomEvent('mvb-result', { detail: { ...r, name }, bubbles: true, composed: true }));
  }

  show(className, tone, text) {
    this.verdict.className = className;
    this.verdict.dataset.tone = tone;
    this.verdictText.textContent = text;
    this.verdict.hidden = false;
  }

  showError(message) {
    this.status.hidden = true;
    this.show('verdict error', 'error', message);
    this.emitError(message);
  }

  emitError(message) {
    this.dispatchEvent(new CustomEvent('mvb-error', { detail: { message }, bubbles: true, composed: true }));
  }
}

if (!customElements.get('mvb-classifier')) customElements.define('mvb-classifier', MvbClassifierElement);
export { MvbClassifierElement };
