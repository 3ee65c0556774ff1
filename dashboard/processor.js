// Processor: run a cycle now and show its result; the pool, work in flight, the extractor
// backend and model, totals since start, and the alert rules with their current values.
import { post } from './api.js';
import { el, clear, section, table, notice, stat, actionButton, plural, fmtInt, fmtMs, fmtPct, fmtTime,
  ALERT_LABELS, alertValue, alertThreshold } from './ui.js';

const RESULTS = ['ok', 'transient', 'rate_limited', 'permanent', 'unparseable', 'truncated', 'refused'];

export function mount(main, ctx) {
  const result = el('div', { id: 'run-result' });
  const cards = el('div', { class: 'stats' });
  const details = el('div', { class: 'two-col' });
  const run = actionButton('Run a cycle now', async () => {
    clear(result).append(notice('info', 'Running a cycle…'));
    try {
      const r = await post('/v1/processor/run');
      clear(result).append(section(r.cycle_id ? `Cycle #${r.cycle_id}` : 'Cycle', el('p', {
        class: r.errors ? 'bad-text' : '', text: r.users
          ? `${plural(r.users, 'user')}, ${plural(r.messages_processed, 'message')} processed, ` +
            `${plural(r.facts_written, 'fact')} written, ${plural(r.errors, 'error')} ` +
            `(${fmtInt(r.retries_scheduled)} to retry, ${fmtInt(r.dead_lettered)} dead-lettered).`
          : 'Nothing was waiting: no user was claimed.' }),
      table(['claim', 'extract', 'write', 'total'], [el('tr', {},
        el('td', { class: 'num', text: fmtMs(r.claim_ms) }), el('td', { class: 'num', text: fmtMs(r.extract_ms) }),
        el('td', { class: 'num', text: fmtMs(r.write_ms) }), el('td', { class: 'num', text: fmtMs(r.total_ms) }))])));
      ctx.refreshNow();
    } catch (e) {
      clear(result).append(notice('error', 'The cycle failed: ' + e.message));
    }
  }, 'primary');
  main.append(el('div', { class: 'page-head' }, el('h1', { text: 'Processor' }), run), result, cards, details);

  return {
    refresh(s) {
      if (!s) return;
      const p = s.processor;
      clear(cards).append(
        stat('running', 'State', p.running ? 'running' : 'stopped', '', p.running ? 'good' : 'bad'),
        stat('extractor', 'Extractor', p.extractor, p.model || 'built-in rules, offline'),
        stat('pool', 'Pool size', fmtInt(p.pool_size), `concurrency limit ${p.concurrency_limit}`),
        stat('in_flight', 'In flight', fmtInt(p.in_flight), 'user batches in extractors'),
        stat('queued', 'Claimed, waiting', fmtInt(p.queued), 'for an idle extractor'),
        stat('cycles', 'Cycles', fmtInt(p.cycles), 'since start'),
        stat('success', 'Success rate', fmtPct(p.success_rate), `${fmtInt(p.messages_processed)} processed, ${fmtInt(p.errors)} errors`),
        stat('dead_lettered', 'Dead-lettered', fmtInt(p.dead_lettered), 'messages since start'));
      const total = RESULTS.reduce((n, k) => n + (p.extractions[k] || 0), 0);
      const resultRows = RESULTS.map(k => el('tr', {}, el('td', { text: k.replace('_', ' ') }),
        el('td', { class: 'num', text: fmtInt(p.extractions[k]) }),
        el('td', { class: 'num', text: total ? fmtPct(p.extractions[k] / total) : '–' })));
      const alertRows = (s.alerts || []).map(a => el('tr', { class: a.active ? 'firing' : '' },
        el('td', { text: ALERT_LABELS[a.alert] || a.alert }),
        el('td', {}, el('span', { class: 'badge ' + (a.active ? 'b-dead' : a.enabled ? 'b-done' : 'b-skipped'),
          text: a.active ? 'firing' : a.enabled ? 'ok' : 'off' })),
        el('td', { class: 'num', text: alertValue(a) }), el('td', { class: 'num', text: a.enabled ? alertThreshold(a) : '–' }),
        el('td', { text: a.since ? fmtTime(a.since) : '' })));
      clear(details).append(
        section('Extractions since start', table(['result', 'user batches', 'share'], resultRows)),
        section('Alerts', table(['alert', 'state', 'value', 'threshold', 'since'], alertRows, 'No alert rules.'),
          el('p', { class: 'muted small', text: 'Thresholds are alerts.* in the configuration; docs/OPERATIONS.md says what each means and what to do.' })));
    },
  };
}
