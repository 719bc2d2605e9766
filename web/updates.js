// updates.js: the page's side of sw.js. Registers the service worker, offers a waiting new
// version (the "Reload" banner), notices when another tab accepted one, says when a new
// version could not be installed (a half-finished deploy or damaged files) with a Retry,
// and shows the running version in the footer.
const $ = (id) => document.getElementById(id);
const ui = {
  update: $('update'), updateText: $('update-text'), updateBtn: $('update-btn'),
  files: $('site-files'), filesText: $('site-files-text'), filesBtn: $('site-files-retry'),
  version: $('version'),
};

// The version this page runs: from the worker serving it, else from version.json.
let running = null;
let footerNote = '';
function showVersion() {
  if (running) ui.version.textContent = `Version ${running}${footerNote}`;
}
fetch('version.json').then((r) => (r.ok ? r.json() : null)).then((v) => {
  if (v && v.version && !running) { running = v.version; showVersion(); }
}).catch(() => {});

function offerReload(text, onReload) {
  ui.updateText.textContent = text;
  ui.updateBtn.onclick = onReload;
  ui.update.hidden = false;
}

// A failure message from sw.js: {version, reason, retryAt, record (the cache holding it)}.
function showFailure(failure, controlled) {
  // Without a controller, version.json came unchecked from the host: the failed version may
  // be the very one this page was loaded from.
  if (!failure || (controlled && failure.version === running)) return;
  ui.filesText.textContent = controlled
    ? `The site is being updated or its files are damaged; you are using version ${running || 'unknown'}, `
      + `which is complete. (${failure.reason})`
    : 'The site is being updated or its files are damaged: they do not match their checksums, '
      + `so results on this page may be wrong. (${failure.reason})`;
  if (!controlled) footerNote = ' (files not verified)';
  showVersion();
  ui.files.dataset.record = failure.record;
  ui.files.hidden = false;
  ui.filesBtn.disabled = false;
  ui.filesBtn.textContent = 'Retry';
}

export async function registerServiceWorker() {
  if (!('serviceWorker' in navigator)) return;
  const sw = navigator.serviceWorker;
  let reg;
  try {
    reg = await sw.register('sw.js');
  } catch {
    return; // e.g. file:// or a private window: the page still works online
  }
  const controlled = () => sw.controller !== null;
  const wasControlled = controlled();

  // A new version waits until the user agrees, so one page never mixes two versions. The
  // worker may already be active when the button is pressed (accepted in another tab): then
  // there is no controllerchange left to wait for, so reload at once.
  let accepted = false;
  const offer = (worker) => offerReload('A new version of the classifier is ready.', () => {
    accepted = true;
    if (worker.state === 'installed') worker.postMessage({ type: 'skip-waiting' });
    else location.reload();
  });
  sw.addEventListener('controllerchange', () => {
    if (accepted) { accepted = false; location.reload(); return; }
    // The first install taking over serves the same files; a replacement does not.
    if (wasControlled) offerReload('Updated in another tab.', () => location.reload());
    else { ui.files.hidden = true; footerNote = ''; showVersion(); }
  });
  if (reg.waiting && controlled()) offer(reg.waiting);
  sw.ready.then(() => { $('offline-badge').hidden = false; });
  reg.addEventListener('updatefound', () => {
    const w = reg.installing;
    w.addEventListener('statechange', () => {
      if (w.state === 'installed' && controlled()) { ui.files.hidden = true; offer(w); }
    });
  });

  sw.addEventListener('message', (event) => {
    const m = event.data || {};
    if (m.type === 'status') {
      running = m.version;
      showVersion();
      showFailure(m.failure, true);
    } else if (m.type === 'install-failed') {
      showFailure(m, controlled());
    }
  });
  sw.startMessages();
  if (sw.controller) sw.controller.postMessage({ type: 'status' });

  // Forget the failure so the worker downloads everything again now, not in some minutes.
  ui.filesBtn.onclick = async () => {
    ui.filesBtn.disabled = true;
    ui.filesBtn.textContent = 'Checking…';
    await caches.delete(ui.files.dataset.record);
    try {
      await reg.update();
      // The host serves the running version's sw.js again: nothing new to install.
      if (!reg.installing && !reg.waiting) ui.files.hidden = true;
    } catch (e) {
      ui.filesText.textContent = `The site could not be reached: ${e.message}`;
      ui.filesBtn.disabled = false;
      ui.filesBtn.textContent = 'Retry';
    }
  };
}
