// drop.js: photos or image addresses dropped onto an element, for the page (the whole
// window) and <mvb-classifier> (its box) alike.

// Whether pasted or dropped text is an address this site can fetch an image from.
export function isImageAddress(text) {
  return /^(https?:|data:image\/)/i.test(text);
}

// The address in a drop: the first non-comment line of text/uri-list (what a dragged link
// or image gives), else plain text that is an image address.
function droppedAddress(dt) {
  const uri = (dt.getData('text/uri-list') || '').split(/\r?\n/).find((l) => l && !l.startsWith('#'));
  if (uri) return uri.trim();
  const text = (dt.getData('text/plain') || '').trim();
  return isImageAddress(text) ? text : '';
}

// The dropped items as FileSystemEntry objects when at least one is a folder, else null.
// They must be taken during the drop event: the items are emptied once it ends.
function droppedFolder(dt) {
  const entries = [...(dt.items || [])].filter((i) => i.kind === 'file' && i.webkitGetAsEntry)
    .map((i) => i.webkitGetAsEntry()).filter(Boolean);
  return entries.some((e) => e.isDirectory) ? entries : null;
}

// Drops anywhere on `target` count; `highlight` gets the class "dragging" while something
// is dragged over it. onFolder (optional) gets the dropped entries when a folder is among
// them, else onFiles the dropped files (an array), else onUrl the address.
export function acceptDrops(target, highlight, { onFiles, onUrl, onFolder }) {
  let depth = 0; // dragenter/dragleave fire for every child crossed
  const lit = (on) => highlight.classList.toggle('dragging', on);
  target.addEventListener('dragenter', (e) => {
    e.preventDefault();
    if (++depth === 1) lit(true);
  });
  target.addEventListener('dragleave', () => {
    if (--depth <= 0) { depth = 0; lit(false); }
  });
  target.addEventListener('dragover', (e) => e.preventDefault());
  target.addEventListener('drop', (e) => {
    e.preventDefault();
    depth = 0;
    lit(false);
    const dt = e.dataTransfer;
    if (!dt) return;
    const folder = onFolder && droppedFolder(dt);
    if (folder) { onFolder(folder); return; }
    if (dt.files && dt.files.length) { onFiles([...dt.files]); return; }
    const url = droppedAddress(dt);
    if (url) onUrl(url);
  });
}
