// Small SVG charts without a library: time on x, one or more series on y. Lines break at
// missing values (null); bars can be stacked. Colours come from style.css (.c0 ... .c5).
import { el, fmtInt } from './ui.js';

const NS = 'http://www.w3.org/2000/svg';
const W = 600, H = 190, L = 52, R = 12, T = 12, B = 24;

function svg(tag, attrs, text) {
  const n = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) n.setAttribute(k, String(v));
  if (text !== undefined) n.textContent = text;
  return n;
}

function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

const pad = n => String(n).padStart(2, '0');
const hhmm = ms => { const d = new Date(ms); return pad(d.getHours()) + ':' + pad(d.getMinutes()); };

// opts: { at: [ms], x0, x1, series: [{ name, values, cls }], kind: 'line' | 'bar',
//         yFormat, yMax, yFloor (the y axis reaches at least this), stepMs, empty }
export function chart(opts) {
  const { at, series } = opts;
  const kind = opts.kind || 'line';
  const yFormat = opts.yFormat || fmtInt;
  const x0 = opts.x0 ?? at[0], x1 = opts.x1 ?? at[at.length - 1];
  const root = el('div', { class: 'chart' });
  const legend = el('div', { class: 'legend' }, series.map((s, i) =>
    el('span', { class: 'key' }, el('i', { class: 'swatch ' + (s.cls || 'c' + i) }), s.name)));
  root.append(legend);
  const g = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'plot', role: 'img',
    'aria-label': series.map(s => s.name).join(', ') });
  root.append(g);

  let max = 0;
  for (let i = 0; i < at.length; i++) {
    if (kind === 'bar') {
      let sum = 0;
      for (const s of series) sum += s.values[i] || 0;
      max = Math.max(max, sum);
    } else {
      for (const s of series) if (s.values[i] !== null) max = Math.max(max, s.values[i]);
    }
  }
  const yMax = opts.yMax ?? niceMax(Math.max(max, opts.yFloor || 0));
  const span = Math.max(1, x1 - x0);
  const x = t => L + (W - L - R) * (t - x0) / span;
  const y = v => T + (H - T - B) * (1 - Math.min(v, yMax) / yMax);

  for (let k = 0; k <= 4; k++) {
    const v = yMax * k / 4;
    g.append(svg('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), class: k ? 'grid' : 'axis' }));
    g.append(svg('text', { x: L - 6, y: y(v) + 4, class: 'tick', 'text-anchor': 'end' }, yFormat(v)));
  }
  const ticks = 5;
  for (let k = 0; k <= ticks; k++) {
    const t = x0 + span * k / ticks;
    g.append(svg('text', { x: x(t), y: H - 6, class: 'tick',
      'text-anchor': k === 0 ? 'start' : k === ticks ? 'end' : 'middle' }, hhmm(t)));
  }

  const hasData = series.some(s => s.values.some(v => v !== null && v !== undefined));
  if (!hasData || at.length === 0) {
    g.append(svg('text', { x: (L + W - R) / 2, y: H / 2, class: 'nodata', 'text-anchor': 'middle' },
      opts.empty || 'no data in this window'));
    return root;
  }

  if (kind === 'bar') {
    const step = opts.stepMs || (at.length > 1 ? at[1] - at[0] : span / 60);
    const bw = Math.max(1.5, (W - L - R) * step / span - 1);
    for (let i = 0; i < at.length; i++) {
      let base = 0;
      series.forEach((s, j) => {
        const v = s.values[i] || 0;
        if (v <= 0) return;
        const top = y(base + v), bottom = y(base);
        const r = svg('rect', { x: x(at[i]) - bw, y: top, width: bw, height: Math.max(0.5, bottom - top),
          class: 'bar ' + (s.cls || 'c' + j) });
        r.append(svg('title', {}, `${hhmm(at[i])} ${s.name}: ${yFormat(v)}`));
        g.append(r);
        base += v;
      });
    }
    return root;
  }

  series.forEach((s, j) => {
    const cls = s.cls || 'c' + j;
    let d = '', run = 0, lone = [];
    for (let i = 0; i < at.length; i++) {
      const v = s.values[i];
      if (v === null || v === undefined) {
        if (run === 1) lone.push(i - 1);
        run = 0;
        continue;
      }
      d += (run === 0 ? 'M' : 'L') + x(at[i]).toFixed(1) + ' ' + y(v).toFixed(1);
      run++;
    }
    if (run === 1) lone.push(at.length - 1);
    if (d) g.append(svg('path', { d, class: 'line ' + cls }));
    for (const i of lone) g.append(svg('circle', { cx: x(at[i]), cy: y(s.values[i]), r: 2.5, class: 'dot ' + cls }));
  });
  return root;
}
