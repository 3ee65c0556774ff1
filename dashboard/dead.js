// Dead letters: a page at a time (cursor), retry one, the selected or all, with the result.
import { get, post } from './api.js';
import { el, clear, section, table, notice, actionButton, last4, fmtInt, fmtDateTime } from './ui.js';
import { openUser } from './user.js';

const PAGE = 25;

export function mount(main, ctx) {
  const result = el('div', { id: 'dead-result' });
  const body = el('div');
  const selected = new Set();
  let cursors = [null];  // the cursor of each page read so far; the last is the current page
  let rows = [];
  let next = null;

  const retrySelected = actionButton('Retry selected', () => retry([...selected]), 'primary');
  const retryAll = actionButton('Retry all', () => retry(null));
  const older = actionButton('Older →', async () => { cursors.push(next); await load(); });
  const newer = actionButton('← Newer', async () => { cursors.pop(); await load(); });
  const count = el('span', { class: 'muted' });
  main.append(el('div', { class: 'page-head' }, el('h1', { text: 'Dead letters' }),
    el('div', { class: 'toolbar' }, count, retrySelected, retryAll)), result, body);

  async function retry(ids) {
    const label = ids ? `${ids.length} selected` : 'every dead letter';
    try {
      const r = await post('/v1/processor/dead/retry', ids ? { ids } : undefined);
      clear(result).append(notice('ok', `Retried ${r.retried} message${r.retried === 1 ? '' : 's'} ` +
        `(${label}): back in the queue as pending, attempts reset.`));
      selected.clear();
      cursors = [null];
      await load();
      ctx.refreshNow();
    } catch (e) {
      clear(result).append(notice('error', 'Retry failed: ' + e.message));
    }
  }

  async function load() {
    const cursor = cursors[cursors.length - 1];
    const page = await get('/v1/processor/dead?limit=' + PAGE + (cursor ? '&cursor=' + encodeURIComponent(cursor) : ''));
    rows = page.dead_letters;
    next = page.next_cursor;
    render();
  }

  function render() {
    for (const id of [...selected]) if (!rows.some(r => r.id === id)) selected.delete(id);
    retrySelected.textContent = selected.size ? `Retry selected (${selected.size})` : 'Retry selected';
    retrySelected.disabled = selected.size === 0;
    older.disabled = !next;
    newer.disabled = cursors.length <= 1;
    const all = el('input', { type: 'checkbox', 'aria-label': 'select all on this page' });
    all.checked = rows.length > 0 && rows.every(r => selected.has(r.id));
    all.addEventListener('change', () => {
      for (const r of rows) all.checked ? selected.add(r.id) : selected.delete(r.id);
      render();
    });
    const trs = rows.map(r => {
      const box = el('input', { type: 'checkbox', 'aria-label': 'select ' + r.id });
      box.checked = selected.has(r.id);
      box.addEventListener('change', () => { box.checked ? selected.add(r.id) : selected.delete(r.id); render(); });
      const who = el('a', { href: '#/user', class: 'mono', title: 'open this user', text: last4(r.user_id) });
      who.addEventListener('click', () => openUser(r.user_id));
      return el('tr', { 'data-id': r.id },
        el('td', {}, box), el('td', {}, who), el('td', { text: r.channel }),
        el('td', { class: 'error-text', text: r.last_error || '–' }),
        el('td', { class: 'num', text: fmtInt(r.attempts) }),
        el('td', { text: fmtDateTime(r.created_at) }), el('td', { text: fmtDateTime(r.dead_at) }),
        el('td', {}, actionButton('Retry', () => retry([r.id]), 'small')));
    });
    const t = table(['', 'user', 'channel', 'error', 'attempts', 'received', 'dead since', ''], trs,
      'No dead letters. Messages land here when extraction fails for good.');
    t.tHead.rows[0].cells[0].append(all);
    t.classList.add('dead-table');
    clear(body).append(section(`Page ${cursors.length}`, t,
      el('div', { class: 'pager' }, newer, older)));
  }

  return {
    async refresh(status) {
      if (status) count.textContent = `${fmtInt(status.queue.dead)} dead in all`;
      if (!rows.length || cursors.length === 1) await load();
    },
  };
}
