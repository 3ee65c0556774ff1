// User: look up a user id; their active facts a page at a time (in written order, later pages by
// next_cursor) with the full history (who changed what, when, from which message), their
// messages with their processing status a page at a time (newest first, older pages by
// next_cursor), remember / forget, and erase with a typed confirmation.
// Everything the user said is rendered as text.
import { get, post, del, userPath } from './api.js';
import { el, clear, section, table, notice, badge, actionButton, fmtDateTime, last4 } from './ui.js';

const CATEGORIES = ['preferences', 'health', 'relationships', 'work', 'interests', 'location', 'other'];
let current = sessionStorage.getItem('memoryd.user') || '';

export function openUser(id) {
  current = id;
  sessionStorage.setItem('memoryd.user', id);
}

const shortId = id => String(id).slice(-8);
const PAGE = 50;
const FACT_PAGE = 100;

export function mount(main) {
  const input = el('input', { type: 'text', id: 'user-id', placeholder: 'user id, e.g. +15551234567',
    'aria-label': 'user id', autocomplete: 'off', spellcheck: 'false' });
  input.value = current;
  const form = el('form', { class: 'lookup', id: 'user-form' }, input,
    el('button', { type: 'submit', class: 'primary', text: 'Look up' }));
  const result = el('div', { id: 'user-result' });
  const body = el('div', { id: 'user-body' });
  // Message pages: the cursor of each page read so far (the last is the page shown), and every
  // message seen, so that a fact's sources are quoted whichever page is shown.
  let cursors = [null];
  let next = null;
  let seen = new Map();
  const older = actionButton('Older →', async () => { cursors.push(next); await load(); });
  older.id = 'messages-older';
  const newer = actionButton('← Newer', async () => { cursors.pop(); await load(); });
  newer.id = 'messages-newer';
  // Fact pages, the same way: the cursor of each page read so far.
  let factCursors = [null];
  let factNext = null;
  const laterFacts = actionButton('Later facts →', async () => { factCursors.push(factNext); await load(); });
  laterFacts.id = 'facts-later';
  const earlierFacts = actionButton('← Earlier facts', async () => { factCursors.pop(); await load(); });
  earlierFacts.id = 'facts-earlier';
  main.append(el('div', { class: 'page-head' }, el('h1', { text: 'User' }), form), result, body);
  form.addEventListener('submit', e => {
    e.preventDefault();
    const id = input.value.trim();
    if (!id) return;
    openUser(id);
    cursors = [null];
    factCursors = [null];
    seen = new Map();
    clear(result);
    load();
  });

  async function load() {
    if (!current) {
      clear(body).append(el('p', { class: 'muted', text: 'Enter a user id (a phone number for SMS and WhatsApp users) to see what memoryd knows about them.' }));
      return;
    }
    const cursor = cursors[cursors.length - 1];
    const factCursor = factCursors[factCursors.length - 1];
    const [facts, msgs] = await Promise.all([
      get(userPath(current) + '/facts?include=history&limit=' + FACT_PAGE +
        (factCursor ? '&cursor=' + encodeURIComponent(factCursor) : '')),
      get(userPath(current) + '/messages?limit=' + PAGE + (cursor ? '&cursor=' + encodeURIComponent(cursor) : '')),
    ]);
    next = msgs.next_cursor;
    factNext = facts.next_cursor;
    for (const m of msgs.messages) seen.set(m.id, m);
    render(facts, msgs.messages);
  }

  function say(kind, text) { clear(result).append(notice(kind, text)); }

  function render(facts, messages) {
    const byId = seen;
    const source = ids => el('span', { class: 'sources' }, (ids || []).map(id => {
      const m = byId.get(id);
      return el('span', { class: 'source', title: m ? m.content : 'message ' + id },
        m ? `“${m.content.length > 48 ? m.content.slice(0, 47) + '…' : m.content}”` : 'msg …' + shortId(id));
    }));
    const factRows = facts.facts.map(f => el('tr', {},
      el('td', { class: 'fact-text', text: f.text }), el('td', {}, el('span', { class: 'tag', text: f.category })),
      el('td', { text: fmtDateTime(f.updated_at) }), el('td', {}, source(f.source_ids)),
      el('td', {}, actionButton('Forget', async () => {
        try {
          await del(userPath(current) + '/facts/' + encodeURIComponent(f.id));
          say('ok', `Forgot “${f.text}”.`);
          await load();
        } catch (e) { say('error', 'Forget failed: ' + e.message); }
      }, 'small'))));
    const events = [...(facts.events || [])].reverse();
    const eventRows = events.map(e => el('tr', {},
      el('td', { text: fmtDateTime(e.at) }), el('td', {}, badge(e.kind)),
      el('td', { class: 'change' }, e.old_text ? el('s', { text: e.old_text }) : null,
        e.old_text && e.new_text ? ' → ' : null, e.new_text ? el('span', { text: e.new_text }) : null),
      el('td', { text: e.cause + (e.extractor ? ' (' + e.extractor + ')' : '') }),
      el('td', {}, source(e.source_ids))));
    older.disabled = !next;
    newer.disabled = cursors.length <= 1;
    laterFacts.disabled = !factNext;
    earlierFacts.disabled = factCursors.length <= 1;
    const paged = factNext || factCursors.length > 1;
    const firstFact = (factCursors.length - 1) * FACT_PAGE + 1;
    const factCount = paged
      ? `active facts ${firstFact}–${firstFact + facts.facts.length - 1}${factNext ? ' of more' : ''}`
      : `${facts.facts.length} active facts`;
    const msgRows = [...messages].reverse().map(m => el('tr', { 'data-id': m.id },
      el('td', { text: fmtDateTime(m.created_at) }), el('td', { text: m.role }),
      el('td', {}, badge(m.status)), el('td', { class: 'num', text: String(m.attempts) }),
      el('td', { class: 'content', text: m.content }),
      el('td', { class: 'error-text', text: m.last_error || '' })));

    const text = el('input', { type: 'text', id: 'remember-text', maxlength: 300, placeholder: 'e.g. Prefers to be called Sam', 'aria-label': 'fact text' });
    const cat = el('select', { id: 'remember-category', 'aria-label': 'category' }, CATEGORIES.map(c => el('option', { value: c, text: c })));
    cat.value = 'other';
    const remember = el('form', { class: 'inline-form' }, text, cat, el('button', { type: 'submit', text: 'Remember' }));
    remember.addEventListener('submit', async e => {
      e.preventDefault();
      if (!text.value.trim()) return;
      try {
        const r = await post(userPath(current) + '/facts', { text: text.value, category: cat.value });
        say('ok', `Remembered “${r.fact.text}”.`);
        await load();
      } catch (err) { say('error', 'Remember failed: ' + err.message); }
    });

    const confirm = el('input', { type: 'text', id: 'erase-confirm', 'aria-label': 'type the user id to confirm', autocomplete: 'off', placeholder: 'type the user id' });
    const erase = actionButton('Erase everything', async () => {
      if (confirm.value !== current) return;
      try {
        const r = await del(userPath(current));
        say('ok', `Erased ${last4(current)}: ${r.erased.messages} messages, ${r.erased.facts} facts, ${r.erased.fact_events} fact events.`);
        cursors = [null];
        factCursors = [null];
        seen = new Map();
        await load();
      } catch (e) { say('error', 'Erase failed: ' + e.message); }
    }, 'danger');
    erase.disabled = true;
    confirm.addEventListener('input', () => { erase.disabled = confirm.value !== current; });

    clear(body).append(
      el('div', { class: 'user-head' }, el('span', { class: 'muted', text: 'user ' }), el('span', { class: 'mono', text: current }),
        el('span', { class: 'muted', text: ` · ${factCount} · ${messages.length} ${cursors.length > 1 ? 'older' : 'recent'} messages` })),
      section('Active facts', table(['fact', 'category', 'updated', 'from', ''], factRows, 'No active facts.'),
        paged ? el('div', { class: 'pager' }, earlierFacts, laterFacts) : null, remember),
      section('Fact history', table(['when', 'change', 'what', 'cause', 'from'], eventRows, 'No fact has changed yet.')),
      section(cursors.length > 1 ? `Older messages (page ${cursors.length})` : 'Recent messages',
        table(['received', 'role', 'status', 'attempts', 'message', 'error'], msgRows, 'No messages.'),
        el('div', { class: 'pager' }, newer, older)),
      el('section', { class: 'card danger-zone' }, el('h2', { text: 'Erase this user' }),
        el('p', { text: 'Deletes every message, fact and fact event of this user, and their queued work. It cannot be undone. Type the user id to confirm.' }),
        el('div', { class: 'inline-form' }, confirm, erase)));
  }

  return { refresh() { return document.activeElement && body.contains(document.activeElement) ? null : load(); },
    failed(e) { say('error', 'Could not load this user: ' + e.message); } };
}
