// The dashboard's shell: the page router (#/overview, #/dead, #/user, #/processor), the status
// poll every page shares (status line and alert banner), and live refresh.
import { get, ApiError } from './api.js';
import { el, clear, append, fmtTime, ALERT_LABELS, alertValue, alertThreshold } from './ui.js';
import * as overview from './overview.js';
import * as dead from './dead.js';
import * as user from './user.js';
import * as processor from './processor.js';

const pages = { overview, dead, user, processor };
const POLL_MS = 5000;
let page = null;        // { name, view }
let timer = null;
let generation = 0;     // a page change makes earlier refreshes moot

function renderBanner(status) {
  const banner = document.getElementById('banner');
  clear(banner);
  const active = (status.alerts || []).filter(a => a.active);
  banner.hidden = active.length === 0;
  for (const a of active) {
    append(banner, [el('div', { class: 'banner-item' },
      el('strong', { text: 'Alert' }),
      ` ${ALERT_LABELS[a.alert] || a.alert}: ${alertValue(a)} (threshold ${alertThreshold(a)})`,
      a.since ? el('span', { class: 'muted', text: ` since ${fmtTime(a.since)}` }) : null,
      el('a', { href: '#/processor', text: 'details' }))]);
  }
}

function renderStatusLine(status, error) {
  const line = document.getElementById('status-line');
  const text = document.getElementById('status-text');
  if (error) {
    line.className = 'status-line down';
    text.textContent = error;
    return;
  }
  const p = status.processor;
  line.className = 'status-line ' + (p.running ? 'up' : 'down');
  text.textContent = (p.running ? 'processor running' : 'processor stopped') +
    ` · ${p.extractor}${p.model ? ' / ' + p.model : ''} · updated ${fmtTime(Date.now())}`;
}

async function tick() {
  const mine = generation;
  let status = null;
  try {
    status = await get('/v1/processor/status');
    renderStatusLine(status);
    renderBanner(status);
  } catch (e) {
    renderStatusLine(null, e instanceof ApiError ? `memoryd answered ${e.status}: ${e.message}`
      : 'memoryd is not reachable');
  }
  if (mine !== generation || !page) return;
  try {
    await page.view.refresh(status);
  } catch (e) {
    page.view.failed?.(e);
  }
}

function route() {
  const name = (location.hash.replace(/^#\/?/, '').split(/[/?]/)[0]) || 'overview';
  const target = pages[name] ? name : 'overview';
  for (const a of document.querySelectorAll('nav a'))
    a.classList.toggle('active', a.dataset.page === target);
  page?.view.unmount?.();
  generation++;
  const main = clear(document.getElementById('main'));
  page = { name: target, view: pages[target].mount(main, { refreshNow: () => tick() }) };
  document.title = 'memoryd · ' + document.querySelector(`nav a[data-page="${target}"]`).textContent;
  clearInterval(timer);
  tick();
  timer = setInterval(tick, POLL_MS);
}

window.addEventListener('hashchange', route);
route();
