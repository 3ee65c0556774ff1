// DOM and formatting helpers. Every string that came from the API is put in the page as
// text (textContent / text nodes), never parsed as HTML.

export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  append(node, children);
  return node;
}

export function append(node, children) {
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

export function section(title, ...children) {
  return el('section', { class: 'card' }, el('h2', { text: title }), ...children);
}

export function table(headers, rows, empty) {
  const t = el('table', {},
    el('thead', {}, el('tr', {}, headers.map(h => el('th', { text: h })))),
    el('tbody', {}, rows));
  if (rows.length === 0 && empty) {
    t.tBodies[0].append(el('tr', {}, el('td', { class: 'empty', colspan: headers.length, text: empty })));
  }
  return t;
}

export function notice(kind, text) {
  return el('div', { class: 'notice ' + kind, role: kind === 'error' ? 'alert' : 'status', text });
}

export function badge(status) {
  return el('span', { class: 'badge b-' + status, text: status });
}

// Users are shown by their last four characters (phone numbers: the last four digits).
export function last4(userId) {
  const s = String(userId);
  return s.length <= 4 ? s : '…' + s.slice(-4);
}

// "1 message", "3 messages".
export function plural(n, word) {
  return fmtInt(n) + ' ' + word + (Number(n) === 1 ? '' : 's');
}

export function fmtInt(n) {
  if (n === null || n === undefined) return '–';
  return Number(n).toLocaleString('en-US');
}

export function fmtMs(ms) {
  if (ms === null || ms === undefined || ms < 0) return '–';
  if (ms < 1) return ms.toFixed(2) + ' ms';
  if (ms < 1000) return (ms < 10 ? ms.toFixed(1) : Math.round(ms)) + ' ms';
  return fmtDuration(ms);
}

export function fmtDuration(ms) {
  if (ms === null || ms === undefined) return '–';
  const s = ms / 1000;
  if (s < 60) return (s < 10 ? s.toFixed(1) : Math.round(s)) + ' s';
  const two = (a, ua, b, ub) => a + ' ' + ua + (b ? ' ' + b + ' ' + ub : '');  // 30 min, not 30 min 0 s
  if (s < 3600) return two(Math.floor(s / 60), 'min', Math.floor(s % 60), 's');
  if (s < 86400) return two(Math.floor(s / 3600), 'h', Math.floor((s % 3600) / 60), 'min');
  return (s / 86400).toFixed(1) + ' d';
}

export function fmtPct(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  const p = (v * 100).toFixed(1);  // 75%, 99.5%, not 75.0%
  return (p.endsWith('.0') ? p.slice(0, -2) : p) + '%';
}

const pad = n => String(n).padStart(2, '0');

export function fmtTime(ms) {
  if (!ms) return '–';
  const d = new Date(ms);
  return pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
}

export function fmtDateTime(ms) {
  if (!ms) return '–';
  const d = new Date(ms);
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  return months[d.getMonth()] + ' ' + d.getDate() + ', ' + fmtTime(ms);
}

export function stat(id, label, value, hint, kind) {
  return el('div', { class: 'stat' + (kind ? ' ' + kind : ''), 'data-stat': id },
    el('div', { class: 'stat-label', text: label }),
    el('div', { class: 'stat-value', text: value }),
    hint ? el('div', { class: 'stat-hint', text: hint }) : null);
}

// A button that runs `action` once at a time and shows that it is busy.
export function actionButton(label, action, cls) {
  const b = el('button', { class: cls || '', type: 'button', text: label });
  b.addEventListener('click', async () => {
    if (b.disabled || b.classList.contains('busy')) return;
    b.classList.add('busy');
    b.setAttribute('aria-busy', 'true');
    try { await action(b); } finally { b.classList.remove('busy'); b.removeAttribute('aria-busy'); }
  });
  return b;
}

// Alerts as people read them (status.alerts).
export const ALERT_LABELS = {
  failure_rate: 'Extraction failure rate',
  oldest_pending: 'Oldest pending message',
  dead_letters: 'Dead letters added',
};

export function alertValue(a) {
  if (a.alert === 'failure_rate') return fmtPct(a.value);
  if (a.alert === 'oldest_pending') return fmtDuration(a.value);
  return fmtInt(a.value);
}

export function alertThreshold(a) {
  if (a.alert === 'failure_rate') return fmtPct(a.threshold);
  if (a.alert === 'oldest_pending') return fmtDuration(a.threshold);
  return fmtInt(a.threshold);
}
