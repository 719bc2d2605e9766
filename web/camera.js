// camera.js: "Use camera", the live mode of the page and of <mvb-classifier>. The camera's
// preview plays in a <video>,
// and its frames are classified one at a time in the engine's worker through the same
// classify() as any picture (mvb.js: a frame becomes an ImageBitmap, the worker's
// raw-pixels entry point). The next frame is grabbed only once the last verdict is back,
// so a slow device drops frames rather than queueing them. "Freeze" hands the current
// frame to the page, which makes it a normal result card. The camera is released (every
// track stopped) when the mode is left, when the page is hidden or unloaded, and on any
// error. Text reaches the DOM through textContent only.
import { CAMERA, verdictInfo, verdictTitle } from './meta.js';

// Resolves at the video's next new frame (requestVideoFrameCallback), or after `ms` where
// that is missing or does not fire (a video the browser is not painting).
function nextFrame(video, ms) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    if (typeof video.requestVideoFrameCallback === 'function') {
      video.requestVideoFrameCallback(() => {
        clearTimeout(timer);
        resolve();
      });
    }
  });
}

// Verdicts per second over the last `windowMs`.
class Rate {
  constructor(windowMs) {
    this.windowMs = windowMs;
    this.times = [];
  }

  tick(now = performance.now()) {
    this.times.push(now);
    while (this.times.length > 2 && now - this.times[0] > this.windowMs) this.times.shift();
    const n = this.times.length;
    return n < 2 ? 0 : ((n - 1) * 1000) / (now - this.times[0]);
  }
}

function messageFor(e) {
  const text = CAMERA.messages[e && e.name];
  return text || `${CAMERA.messages.other} (${e && e.message ? e.message : String(e)})`;
}

// Offers the camera where the browser has one. classifier: a load() promise; ui: the
// elements, {offer (shown when offered), start, message (why the mode ended), panel (the
// live view, hidden outside the mode), video, verdict, verdictText, rate, freeze, stop, live
// (a polite live region)}; onFreeze(frame, name): frame is an ImageBitmap of the current
// frame, the callee's to close. Returns {release()}, which leaves the mode, hides the offer
// and removes every listener this added (an element taken out of its page calls it), or
// undefined where there is no camera to offer.
export function offerCamera(classifier, ui, onFreeze) {
  if (!(navigator.mediaDevices && typeof navigator.mediaDevices.getUserMedia === 'function')) return undefined;
  let session = null; // {stream, active} while the mode is on
  const listening = new AbortController();
  const { signal } = listening;

  function say(message) {
    ui.message.textContent = message || '';
    ui.message.hidden = !message;
  }

  function showVerdict(r) {
    const v = verdictInfo(r.verdict);
    ui.verdict.dataset.tone = v.tone;
    if (ui.verdict.dataset.verdict !== r.verdict) ui.live.textContent = `Camera: ${v.spoken}.`;
    ui.verdict.dataset.verdict = r.verdict;
    ui.verdictText.textContent = verdictTitle(r);
  }

  // Leaves the mode and releases the camera; `message` says why, when it is not the user's choice.
  function stop(message) {
    const s = session;
    session = null;
    if (s) {
      s.active = false;
      if (s.stream) for (const track of s.stream.getTracks()) track.stop();
    }
    ui.video.srcObject = null;
    ui.panel.hidden = true;
    ui.start.hidden = false;
    ui.freeze.disabled = true;
    say(message);
  }

  async function classifyFrames(s) {
    const rate = new Rate(CAMERA.rateWindowMs);
    while (s.active) {
      let r;
      try {
        // The classifier may still be loading (or have failed to: its reason ends the mode).
        r = await (await classifier).classify(ui.video);
      } catch (e) {
        if (s.active) stop(`${CAMERA.messages.classify} (${e.message})`);
        return;
      }
      if (!s.active) return;
      showVerdict(r);
      ui.rate.textContent = `${rate.tick().toFixed(1)} verdicts/s`;
      await nextFrame(ui.video, CAMERA.frameWaitMs);
    }
  }

  async function start() {
    if (session) return;
    const s = { stream: null, active: true };
    session = s;
    say('');
    ui.start.hidden = true;
    ui.panel.hidden = false;
    delete ui.verdict.dataset.verdict;
    ui.verdict.dataset.tone = 'unsure';
    ui.verdictText.textContent = CAMERA.starting;
    ui.rate.textContent = '';
    try {
      s.stream = await navigator.mediaDevices.getUserMedia(CAMERA.constraints);
      if (!s.active) { // left while the browser was asking
        for (const track of s.stream.getTracks()) track.stop();
        return;
      }
      for (const track of s.stream.getTracks()) {
        track.addEventListener('ended', () => { if (s.active) stop(CAMERA.messages.ended); });
      }
      ui.video.srcObject = s.stream;
      await ui.video.play();
    } catch (e) {
      if (s.active) stop(messageFor(e));
      return;
    }
    if (!s.active) return;
    ui.verdictText.textContent = CAMERA.loading;
    ui.freeze.disabled = false;
    ui.freeze.focus();
    classifyFrames(s);
  }

  ui.start.addEventListener('click', start, { signal });
  ui.stop.addEventListener('click', () => {
    stop();
    ui.start.focus();
  }, { signal });
  ui.freeze.addEventListener('click', async () => {
    if (!session || ui.video.readyState < 2) return;
    let frame;
    try {
      frame = await createImageBitmap(ui.video);
    } catch {
      return; // no frame to take (the camera was just stopped)
    }
    onFreeze(frame, `Camera, ${new Date().toLocaleTimeString()}`);
  }, { signal });
  addEventListener('pagehide', () => stop(), { signal });
  document.addEventListener('visibilitychange', () => {
    if (document.hidden && session) stop(CAMERA.messages.hidden);
  }, { signal });
  ui.offer.hidden = false;
  return {
    release() {
      stop();
      listening.abort();
      ui.offer.hidden = true;
    },
  };
}
