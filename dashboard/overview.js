// Overview: the queue now (cards), its recent past (charts from /v1/processor/history) and the
// last cycles. Refreshed with every status poll.
import { get } from './api.js';
import { chart } from './charts.js';
import { el, clear, section, table, stat, notice, fmtInt, fmtMs, fmtPct, fmtDuration, fmtTime } from './ui.js';

const WINDOWS = [['15m', 15 * 60000], ['1h', 3600000], ['6h', 6 * 3600000], ['24h', 86400000]];
const KINDS = ['transient', 'rate_limited', 'permanent', 'unparseable', 'truncated', 'refused'];

function sum(a) { return a.reduce((x, v) => x + (v || 0), 0); }

export function mount(main) {
  let win = sessionStorage.getItem('memoryd.window') || '1h';
  const picker = el('div', { class: 'segmented', role: 'group', 'aria-label': 'time window' });
  const head = el('div', { class: 'page-head' },
    el('h1', { text: 'Overview' }), picker);
  const cards = el('div', { class: 'stats', id: 'overview-stats' });
  const charts = el('div', { class: 'charts' });
  const cycles = el('div');
  const error = el('div');
  main.append(head, error, cards, charts, cycles);
  let refreshNow = null;
  for (const [label] of WINDOWS) {
    const b = el('button', { type: 'button', text: label, 'aria-pressed': String(label === win) });
    b.addEventListener('click', () => {
      win = label;
      sessionStorage.setItem('memoryd.window', win);
      for (const o of picker.children) o.setAttribute('aria-pressed', String(o.textContent === win));
      refreshNow?.();
    });
    picker.append(b);
  }

  async function refresh(status) {
    const windowMs = WINDOWS.find(w => w[0] === win)[1];
    const h = await get('/v1/processor/history?window=' + win);
    clear(error);
    if (status) renderCards(status, h);
    renderCharts(h, windowMs);
    if (status) renderCycles(status);
  }
  refreshNow = () => refresh(lastStatus);
  let lastStatus = null;

  function renderCards(s, h) {
    lastStatus = s;
    const q = s.queue, p = s.processor, x = h.series;
    const ok = sum(x.results.ok), attempts = sum(x.extractions);
    const lastMinute = x.at.reduce((n, t, i) => (h.now - t <= 60000 ? n + x.processed[i] : n), 0);
    clear(cards).append(
      stat('pending', 'Pending', fmtInt(q.pending), `${fmtInt(q.users_waiting)} users waiting`),
      stat('leased', 'In extraction', fmtInt(q.leased), `${p.in_flight} of ${p.pool_size} extractors busy`),
      stat('retry_scheduled', 'Retry scheduled', fmtInt(q.retry_scheduled), 'pending, waiting for backoff',
        q.retry_scheduled > 0 ? 'warn' : ''),
      stat('dead', 'Dead letters', fmtInt(q.dead), 'need an operator', q.dead > 0 ? 'bad' : ''),
      stat('done', 'Processed', fmtInt(q.done), `${fmtInt(q.skipped)} assistant messages skipped`),
      stat('oldest', 'Oldest pending', q.pending ? fmtDuration(q.oldest_pending_age_ms) : '–',
        'age of the queue head'),
      stat('per_minute', 'Processed / min', fmtInt(lastMinute), 'in the last minute'),
      stat('success', 'Success rate', attempts ? fmtPct(ok / attempts) : '–',
        attempts ? `${fmtInt(attempts)} extractions in ${win}` : `no extractions in ${win}`,
        attempts && ok / attempts < 0.9 ? 'bad' : ''));
  }

  function renderCharts(h, windowMs) {
    const x = h.series, at = x.at;
    const x1 = h.now, x0 = h.now - windowMs;
    const perMin = 60000 / h.step_ms;
    const c = (title, note, opts) => el('div', { class: 'card chart-card' },
      el('h2', { text: title }), el('p', { class: 'muted small', text: note }),
      chart({ at, x0, x1, stepMs: h.step_ms, ...opts }));
    clear(charts).append(
      c('Queue depth', 'messages by status at each sample', {
        series: [{ name: 'pending', values: x.pending }, { name: 'in extraction', values: x.leased },
          { name: 'retry scheduled', values: x.retry_scheduled }, { name: 'dead', values: x.dead, cls: 'c3' }],
      }),
      c('Oldest pending age', 'how long the queue head has waited (lag)', {
        series: [{ name: 'oldest pending', values: x.oldest_pending_age_ms, cls: 'c4' }],
        yFormat: v => fmtDuration(v), yFloor: 60000,
      }),
      c('Messages processed per minute', `per ${fmtDuration(h.step_ms)} step`, {
        kind: 'bar', series: [{ name: 'processed / min', values: x.processed.map(v => v * perMin), cls: 'c1' }],
      }),
      c('Extraction success rate', 'share of user batches extracted without error', {
        series: [{ name: 'success', values: x.extractions.map((n, i) => (n ? 100 * x.results.ok[i] / n : null)), cls: 'c1' }],
        yMax: 100, yFormat: v => Math.round(v) + '%',
      }),
      c('Errors by kind', 'failed user batches per step', {
        kind: 'bar', series: KINDS.map((k, i) => ({ name: k.replace('_', ' '), values: x.results[k], cls: 'k' + i })),
      }),
      c('Extraction latency', 'time in the extractor per user batch', {
        series: [{ name: 'p50', values: x.latency_p50_ms, cls: 'c0' }, { name: 'p99', values: x.latency_p99_ms, cls: 'c2' }],
        yFormat: v => fmtMs(v), yFloor: 10,
      }));
  }

  function renderCycles(s) {
    const list = s.processor.recent_cycles || (s.processor.last_cycle ? [s.processor.last_cycle] : []);
    const rows = list.map(r => el('tr', {},
      el('td', { text: '#' + r.cycle_id }), el('td', { text: fmtTime(r.finished_at) }),
      el('td', { class: 'num', text: fmtInt(r.users) }), el('td', { class: 'num', text: fmtInt(r.messages_processed) }),
      el('td', { class: 'num', text: fmtInt(r.facts_written) }),
      el('td', { class: 'num' + (r.errors ? ' bad-text' : ''), text: fmtInt(r.errors) }),
      el('td', { class: 'num', text: fmtInt(r.retries_scheduled) }), el('td', { class: 'num', text: fmtInt(r.dead_lettered) }),
      el('td', { class: 'num', text: fmtMs(r.claim_ms) }), el('td', { class: 'num', text: fmtMs(r.extract_ms) }),
      el('td', { class: 'num', text: fmtMs(r.write_ms) }), el('td', { class: 'num', text: fmtMs(r.total_ms) })));
    clear(cycles).append(section('Last cycles', table(
      ['cycle', 'finished', 'users', 'processed', 'facts', 'errors', 'retries', 'dead', 'claim', 'extract', 'write', 'total'],
      rows, 'No cycle has run since memoryd started.')));
  }

  return {
    refresh,
    failed(e) { clear(error).append(notice('error', 'Could not load the history: ' + e.message)); },
  };
}
