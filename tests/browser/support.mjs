// What the browser tests stand on: the real memoryd binary on 127.0.0.1 (a free port, temporary
// databases, stopped by its saved PID), a fake OpenAI-compatible LLM on 127.0.0.1, and Debian's
// Chromium driven by playwright-core (no browser download). Every wait is bounded.
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const binary = process.env.MEMORYD_BINARY;
export const screenshots = process.env.MEMORYD_SCREENSHOTS || path.join(tmpdir(), 'memoryd-screenshots');
export const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';

// A running memoryd; stop() sends SIGTERM to its PID and waits (at most 20 s) for the exit.
export async function startMemoryd(env = {}) {
  if (!binary) throw new Error('MEMORYD_BINARY is not set (ctest sets it)');
  const dir = mkdtempSync(path.join(tmpdir(), 'memoryd-browser-'));
  const child = spawn(binary, ['serve'], {
    cwd: dir,
    env: {
      PATH: process.env.PATH,
      CONVERSATION_DB_PATH: path.join(dir, 'conversation.db'),
      MEMORY_DB_PATH: path.join(dir, 'memory.db'),
      MEMORYD_LISTEN: '127.0.0.1:0',
      MEMORY_PROCESSOR_ENABLED: 'false',
      MEMORYD_SYNCHRONOUS: 'normal',
      MEMORYD_HISTORY_INTERVAL_MS: '1000',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', d => { out += d; });
  child.stderr.on('data', d => { out += d; });
  const exited = new Promise(resolve => child.on('exit', code => resolve(code)));
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('memoryd did not start within 20 s:\n' + out)), 20000);
    const check = () => {
      const m = out.match(/"event":"server_started"[^\n]*"port":(\d+)/);
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    };
    child.stdout.on('data', check);
    exited.then(code => { clearTimeout(timer); reject(new Error(`memoryd exited (${code}):\n${out}`)); });
  });
  const base = `http://127.0.0.1:${port}`;
  return {
    port, base, pid: child.pid, log: () => out,
    async stop() {
      if (child.exitCode === null) process.kill(child.pid, 'SIGTERM');
      const code = await Promise.race([exited, new Promise(r => setTimeout(() => r('timeout'), 20000))]);
      if (code === 'timeout') process.kill(child.pid, 'SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      return code;
    },
  };
}

// JSON over HTTP to memoryd, as a client would call it.
export async function call(base, method, route, body, token) {
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = 'Bearer ' + token;
  const res = await fetch(base + route, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch (_) { json = null; }
  return { status: res.status, headers: res.headers, json, text };
}

// An OpenAI-compatible chat completions server: a batch whose prompt contains PLEASE-FAIL gets
// 400 (memoryd dead-letters it at once: a permanent failure); every other batch one fact.
export async function startFakeLlm() {
  let calls = 0;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', d => { body += d; });
    req.on('end', () => {
      calls++;
      res.setHeader('Content-Type', 'application/json');
      if (body.includes('PLEASE-FAIL')) {
        res.statusCode = 400;
        res.end(JSON.stringify({ error: { message: 'invalid request', type: 'invalid_request_error' } }));
        return;
      }
      const content = JSON.stringify({ operations: [{ op: 'add', text: 'Likes green tea', category: 'preferences' }] });
      res.end(JSON.stringify({
        id: 'chatcmpl-test', object: 'chat.completion', created: 1764633600, model: 'fake-model',
        choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 100, completion_tokens: 20, total_tokens: 120 },
      }));
    });
  });
  await new Promise(resolve => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/v1`,
    calls: () => calls,
    stop: () => new Promise(resolve => server.close(resolve)),
  };
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    chromiumSandbox: false,  // --no-sandbox: the tests run as root
    // playwright-core starts Chromium with a fresh temporary profile (--user-data-dir) of its own.
    args: ['--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
    timeout: 30000,
  });
}

// A page that records console errors, uncaught exceptions and dialogs (alert() from an
// injected script would show up here).
export async function openPage(browser) {
  const context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(10000);
  const problems = { console: [], errors: [], dialogs: [] };
  page.on('console', m => { if (m.type() === 'error' || m.type() === 'warning') problems.console.push(m.text()); });
  page.on('pageerror', e => problems.errors.push(String(e)));
  page.on('dialog', d => { problems.dialogs.push(d.message()); d.dismiss().catch(() => {}); });
  return { context, page, problems };
}

export async function screenshot(page, name) {
  mkdirSync(screenshots, { recursive: true });
  const file = path.join(screenshots, name + '.png');
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
