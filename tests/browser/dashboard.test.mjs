// The dashboard in a real browser against the real memoryd (DESIGN §7a, issue 17): counts after
// a known ingest and cycle, a dead letter retried from the page, user text rendered as text,
// the token prompt, no console errors; a screenshot of each page goes to MEMORYD_SCREENSHOTS.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startMemoryd, startFakeLlm, launchBrowser, openPage, call, screenshot } from './support.mjs';

const XSS = '<img src=x onerror=alert(1)>';
const DEAD_USER = '+15550001234';
let llm, svc, browser, page, problems, context;

before(async () => {
  llm = await startFakeLlm();
  svc = await startMemoryd({ EXTRACTOR: 'openai', OPENAI_BASE_URL: llm.url, OPENAI_MODEL: 'fake-model',
    LLM_STRUCTURED_OUTPUT: 'false', MEMORY_PROCESSOR_MAX_ATTEMPTS: '1' });
  browser = await launchBrowser();
  ({ page, problems, context } = await openPage(browser));
  // A known state: four users with one message each (one whose extraction fails for good),
  // one assistant reply, then one cycle.
  const msgs = [
    { user_id: '+15550000001', role: 'user', content: 'I have a dog named Max.' },
    { user_id: '+15550000002', role: 'user', content: 'I live in Boston.' },
    { user_id: '+15550000003', role: 'user', content: 'I love hiking.' },
    { user_id: '+15550000003', role: 'assistant', content: 'Nice!' },
    { user_id: DEAD_USER, role: 'user', content: 'PLEASE-FAIL this one' },
  ];
  assert.equal((await call(svc.base, 'POST', '/v1/messages', { messages: msgs })).status, 202);
  const run = await call(svc.base, 'POST', '/v1/processor/run');
  assert.equal(run.status, 200);
  assert.equal(run.json.messages_processed, 3);
  assert.equal(run.json.dead_lettered, 1);
  // One history sample after the cycle (history.interval_ms is 1 s here).
  await new Promise(r => setTimeout(r, 1300));
});

after(async () => {
  await browser?.close();
  if (svc) await svc.stop();
  await llm?.stop();
});

const stat = name => page.locator(`[data-stat="${name}"] .stat-value`);

test('the dashboard is served with a strict CSP and the root redirects to it', async () => {
  const r = await call(svc.base, 'GET', '/dashboard');
  assert.equal(r.status, 200);
  const csp = r.headers.get('content-security-policy');
  assert.match(csp, /default-src 'self'/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
  assert.doesNotMatch(r.text, /<script>|<style>|style=|onclick=/);  // no inline script or style
  const root = await fetch(svc.base + '/', { redirect: 'manual' });
  assert.equal(root.status, 302);
  assert.equal(root.headers.get('location'), '/dashboard');
});

test('the overview shows the counts after a known ingest and cycle', async () => {
  await page.goto(svc.base + '/dashboard#/overview');
  await page.locator('[data-stat="done"] .stat-value').filter({ hasText: '3' }).waitFor();
  assert.equal(await stat('pending').textContent(), '0');
  assert.equal(await stat('dead').textContent(), '1');
  assert.equal(await stat('done').textContent(), '3');
  assert.equal(await stat('per_minute').textContent(), '3');
  assert.equal(await stat('success').textContent(), '75%');  // 3 of 4 extractions
  assert.match(await page.locator('[data-stat="done"] .stat-hint').textContent(), /^1 assistant/);
  assert.equal(await page.locator('.chart svg').count(), 6);
  await page.locator('table tr', { hasText: '#1' }).waitFor();
  // The dead letter fired the dead_letters alert: a banner on every page.
  await page.locator('#banner', { hasText: 'Dead letters added: 1' }).waitFor();
  await screenshot(page, 'overview');
});

test('a dead letter is retried from the page and becomes pending', async () => {
  await page.goto(svc.base + '/dashboard#/dead');
  const row = page.locator('tr', { hasText: '…1234' });
  await row.waitFor();
  assert.match(await row.textContent(), /HTTP 400|400/);
  await screenshot(page, 'dead-letters');
  await row.getByRole('button', { name: 'Retry' }).click();
  await page.locator('#dead-result', { hasText: 'Retried 1 message' }).waitFor();
  await page.locator('td.empty', { hasText: 'No dead letters' }).waitFor();
  const h = await call(svc.base, 'GET', '/v1/users/' + encodeURIComponent(DEAD_USER) + '/messages');
  assert.equal(h.json.messages[0].status, 'pending');
  assert.equal(h.json.messages[0].attempts, 0);
});

test('user text is shown as text and runs nothing', async () => {
  assert.equal((await call(svc.base, 'POST', '/v1/messages', { user_id: 'xss-user', role: 'user', content: XSS })).status, 202);
  assert.equal((await call(svc.base, 'POST', '/v1/users/xss-user/facts', { text: '<b>bold</b> & "quoted"' })).status, 201);
  await page.goto(svc.base + '/dashboard#/user');
  await page.fill('#user-id', 'xss-user');
  await page.click('#user-form button');
  const cell = page.locator('td.content').first();
  await cell.waitFor();
  assert.equal(await cell.textContent(), XSS);
  assert.equal(await page.locator('td.fact-text').first().textContent(), '<b>bold</b> & "quoted"');
  assert.equal(await page.locator('main img').count(), 0);
  assert.equal(await page.locator('main b', { hasText: 'bold' }).count(), 0);
  await page.waitForTimeout(300);  // an onerror handler would have run by now
  assert.deepEqual(problems.dialogs, []);
  await screenshot(page, 'user');
});

test('the processor page runs a cycle and shows its result', async () => {
  await page.goto(svc.base + '/dashboard#/processor');
  await page.locator('[data-stat="extractor"] .stat-value', { hasText: 'openai' }).waitFor();
  await page.getByRole('button', { name: 'Run a cycle now' }).click();
  // Two users wait: the retried dead letter, which fails again (max_attempts 1), and the user
  // of the previous test, whose message gives one fact.
  await page.locator('#run-result', { hasText: '2 users, 1 message processed, 1 fact written, ' +
    '1 error (0 to retry, 1 dead-lettered).' }).waitFor();
  await screenshot(page, 'processor');
});

test('a user\'s older messages are a page away (next_cursor)', async () => {
  // 60 assistant replies (never claimed: the counts above stay), all in one millisecond.
  const user = 'pager-user';
  const msgs = Array.from({ length: 60 }, (_, i) =>
    ({ user_id: user, role: 'assistant', content: 'reply ' + i, created_at: 1767225600000 }));
  assert.equal((await call(svc.base, 'POST', '/v1/messages', { messages: msgs })).status, 202);
  await page.goto(svc.base + '/dashboard#/user');
  await page.fill('#user-id', user);
  await page.click('#user-form button');
  const rows = page.locator('td.content');
  await page.locator('td.content', { hasText: 'reply 59' }).waitFor();
  assert.equal(await rows.count(), 50);
  assert.equal(await rows.first().textContent(), 'reply 59');  // newest first
  assert.equal(await rows.last().textContent(), 'reply 10');
  assert.equal(await page.locator('#messages-newer').isDisabled(), true);
  await page.click('#messages-older');
  await page.locator('h2', { hasText: 'Older messages (page 2)' }).waitFor();
  assert.deepEqual(await rows.allTextContents(), Array.from({ length: 10 }, (_, i) => 'reply ' + (9 - i)));
  assert.equal(await page.locator('#messages-older').isDisabled(), true);
  await screenshot(page, 'user-older');
  await page.click('#messages-newer');
  await page.locator('h2', { hasText: 'Recent messages' }).waitFor();
  assert.equal(await rows.count(), 50);
});

test('a user\'s later facts are a page away (next_cursor)', async () => {
  // 120 remembered facts: the first page holds 100, in written order.
  const user = 'facts-pager-user';
  const text = i => 'Collects stamp number ' + String(i).padStart(3, '0');
  for (let i = 0; i < 120; ++i)
    assert.equal((await call(svc.base, 'POST', `/v1/users/${user}/facts`, { text: text(i) })).status, 201);
  await page.goto(svc.base + '/dashboard#/user');
  await page.fill('#user-id', user);
  await page.click('#user-form button');
  const facts = page.locator('td.fact-text');
  await page.locator('.user-head', { hasText: 'active facts 1–100 of more' }).waitFor();
  assert.deepEqual(await facts.allTextContents(), Array.from({ length: 100 }, (_, i) => text(i)));
  assert.equal(await page.locator('#facts-earlier').isDisabled(), true);
  await page.click('#facts-later');
  await page.locator('.user-head', { hasText: 'active facts 101–120' }).waitFor();
  assert.deepEqual(await facts.allTextContents(), Array.from({ length: 20 }, (_, i) => text(100 + i)));
  assert.equal(await page.locator('#facts-later').isDisabled(), true);
  await screenshot(page, 'user-facts-later');
  await page.click('#facts-earlier');
  await page.locator('.user-head', { hasText: 'active facts 1–100 of more' }).waitFor();
  assert.equal(await facts.count(), 100);
});

test('no console errors, exceptions or dialogs on any page', async () => {
  assert.deepEqual(problems, { console: [], errors: [], dialogs: [] });
  await context.close();
});

test('with a token set the page asks for it once per tab and works after', async () => {
  const token = 'dashboard-test-token-7f3a';
  const secured = await startMemoryd({ MEMORYD_API_TOKEN: token });
  const { page: p, problems: seen, context: ctx } = await openPage(browser);
  try {
    assert.equal((await call(secured.base, 'GET', '/v1/processor/status')).status, 401);
    await p.goto(secured.base + '/dashboard');
    await p.locator('#token-dialog').waitFor({ state: 'visible' });
    await screenshot(p, 'token-prompt');
    await p.fill('#token-input', token);
    await p.click('#token-form button');
    await p.locator('#token-dialog').waitFor({ state: 'hidden' });
    await p.locator('[data-stat="pending"] .stat-value', { hasText: '0' }).waitFor();
    assert.equal(await p.evaluate(() => sessionStorage.getItem('memoryd.token')), token);
    assert.ok(!p.url().includes(token));
    assert.deepEqual(await ctx.cookies(), []);
    // Another page of the same tab's session: no second prompt.
    await p.goto(secured.base + '/dashboard#/processor');
    await p.reload();
    await p.locator('[data-stat="running"] .stat-value', { hasText: 'running' }).waitFor();
    assert.equal(await p.locator('#token-dialog').isVisible(), false);
    assert.deepEqual(seen, { console: [], errors: [], dialogs: [] });
  } finally {
    await ctx.close();
    await secured.stop();
  }
});
