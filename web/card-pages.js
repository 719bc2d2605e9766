// card-pages.js: a list of results shown one page of cards at a time. The results are kept
// as data ({path, outcome}; outcome null while the photo is being classified) and only the
// page in view has cards in the DOM, so the page's memory follows one page of cards, not
// every photo classified. The folder view (batch.js) and the page's own results (app.js)
// both show their results through it.
import { RESULTS_PAGE_SIZE, count } from './meta.js';

// ui: {list, pager, prev, next, label}: the <ol> of cards and the pager under it.
// cards: {create(path) -> <li>, show(li, path, outcome), forget(lis)}: the page's cards
// (forget gives their preview pixels back). view() -> the records to show, in order.
export function cardPages(ui, cards, view) {
  const shown = new Map(); // record -> its card, while on the current page
  let page = 0;

  // Draws the current page of view(); returns view()'s records.
  function render() {
    const all = view();
    const pages = Math.max(1, Math.ceil(all.length / RESULTS_PAGE_SIZE));
    page = Math.min(page, pages - 1);
    const slice = all.slice(page * RESULTS_PAGE_SIZE, (page + 1) * RESULTS_PAGE_SIZE);
    const wanted = new Set(slice);
    const gone = [];
    for (const [record, li] of shown) {
      if (!wanted.has(record)) {
        gone.push(li);
        shown.delete(record);
      }
    }
    cards.forget(gone);
    for (const li of gone) li.remove();
    const fresh = [];
    slice.forEach((record, i) => {
      let li = shown.get(record);
      if (!li) {
        li = cards.create(record.path);
        shown.set(record, li);
        fresh.push([li, record]);
      }
      const at = ui.list.children[i];
      if (at !== li) ui.list.insertBefore(li, at || null);
    });
    for (const [li, record] of fresh) if (record.outcome) cards.show(li, record.path, record.outcome);
    ui.pager.hidden = pages < 2;
    const first = slice.length ? page * RESULTS_PAGE_SIZE + 1 : 0;
    ui.label.textContent = `Page ${count(page + 1)} of ${count(pages)} · ${count(first)}–${count(page * RESULTS_PAGE_SIZE + slice.length)} of ${count(all.length)}`;
    ui.prev.disabled = page === 0;
    ui.next.disabled = page >= pages - 1;
    return all;
  }

  function turn(by) {
    page += by;
    render();
    ui.list.scrollIntoView({ block: 'start' });
  }
  ui.prev.addEventListener('click', () => turn(-1));
  ui.next.addEventListener('click', () => turn(1));

  return {
    render,
    // Back to the first page (the next render draws it).
    toFirstPage() { page = 0; },
    // The card showing this record, if it is on the current page.
    cardOf: (record) => shown.get(record),
    // Every card goes, with its preview pixels.
    clear() {
      cards.forget([...shown.values()]);
      shown.clear();
      ui.list.replaceChildren();
      page = 0;
      ui.pager.hidden = true;
    },
  };
}
