// The status dashboard in headless Chromium: sign-in (wrong, then right),
// every job, Run now, a failed run's page, pause and resume, escaping, the sign-in form for a
// browser without the cookie, and sign out everywhere. scripts/test-browser starts `nightshift serve`
// against a fresh database and passes BASE_URL, CRON_SECRET and SCREENSHOT.
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const base = process.env.BASE_URL;
const secret = process.env.CRON_SECRET;
const shot = process.env.SCREENSHOT ?? 'target/dashboard.png';
assert.ok(base && secret, 'BASE_URL and CRON_SECRET are required');
const page_url = `${base}/api/status?format=html`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const step = (what) => console.log(`browser: ${what}`);
try {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  // The page has no script; a console error would mean something went wrong.
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));

  step('without a session only the sign-in form shows');
  let resp = await page.goto(page_url);
  assert.equal(resp.status(), 401);
  assert.equal(await page.locator('input[name=secret]').count(), 1);
  assert.equal(await page.locator('#jobs').count(), 0);

  step('a wrong secret is refused');
  await page.fill('input[name=secret]', 'not-the-secret');
  await page.click('button[type=submit]');
  await page.locator('#signin-error').waitFor();
  assert.equal(await page.locator('#jobs').count(), 0);
  assert.equal((await context.cookies()).length, 0);

  step('the right secret signs in');
  await page.fill('input[name=secret]', secret);
  await page.click('button[type=submit]');
  await page.locator('#jobs').waitFor();
  assert.ok(!page.url().includes(secret), 'the secret is not in the URL');
  const [cookie] = await context.cookies();
  assert.equal(cookie.name, 'nightshift_session');
  assert.ok(cookie.httpOnly);
  assert.equal(cookie.sameSite, 'Strict');
  for (const job of ['hourly', 'daily', 'weekly']) {
    await page.locator(`#job-${job}`).waitFor();
    // Next run in UTC and in ORG_TIMEZONE (the script sets Europe/Paris).
    const row = await page.locator(`#job-${job}`).innerText();
    assert.ok(row.includes('UTC') && row.includes('(Europe/Paris)'), row);
  }

  step('an alert title with HTML shows as text');
  const alerts = page.locator('#alerts');
  assert.ok((await alerts.innerText()).includes('<b>Payments</b> down <script>'));
  assert.equal(await alerts.locator('b').count(), 0);
  assert.equal(await page.locator('script').count(), 0);

  step('Run now for hourly adds a run to the history');
  assert.equal(await page.locator('#runs-hourly .badge').count(), 0);
  await page.click('#run-hourly');
  await page.waitForLoadState();
  if (!page.url().endsWith('/api/status?format=html')) {
    throw new Error(`Run now answered ${page.url()}: ${await page.content()}`);
  }
  await page.locator('#runs-hourly .badge.completed').first().waitFor();
  assert.ok((await page.locator('#runs-hourly').innerText()).includes('manual'));
  assert.ok((await page.locator('#job-hourly').innerText()).includes('completed'));

  step('a failed run\'s page names the failing task and its error');
  // scripts/test-browser points EXPORT_URL under /dev/null, so the export task fails.
  const failed = await page.request.post(`${base}/api/cron/daily?force=true&tasks=export`, {
    headers: { authorization: `Bearer ${secret}` },
  });
  assert.equal(failed.status(), 500);
  const run_id = (await failed.json()).run_id;
  await page.goto(page_url);
  const link = page.locator(`#runs-daily a.run-link[href*="${run_id}"]`);
  assert.equal(await link.count(), 1, 'the dashboard links the failed run');
  await link.click();
  await page.locator('#tasks').waitFor();
  assert.ok(page.url().includes(`/api/status/runs/${run_id}`), page.url());
  assert.equal((await page.locator('#run-status').innerText()).trim(), 'failed');
  const task = await page.locator('#task-export').innerText();
  assert.ok(task.includes('export') && task.includes('failed'), task);
  assert.ok(task.includes('Not a directory'), task);
  assert.ok((await page.locator('#run-trigger').innerText()).includes('manual'));
  assert.ok(!(await page.content()).includes(secret), 'the secret is not on the page');
  await page.goto(page_url);

  step('pause and resume daily');
  await page.click('#pause-daily');
  await page.locator('#resume-daily').waitFor();
  assert.ok((await page.locator('#job-daily').innerText()).includes('paused'));
  await page.screenshot({ path: shot, fullPage: true });
  await page.click('#resume-daily');
  await page.locator('#pause-daily').waitFor();
  assert.ok(!(await page.locator('#job-daily').innerText()).includes('paused'));

  step('another browser without the cookie sees only the sign-in form');
  const stranger = await (await browser.newContext()).newPage();
  resp = await stranger.goto(page_url);
  assert.equal(resp.status(), 401);
  assert.equal(await stranger.locator('#jobs').count(), 0);
  assert.ok(!(await stranger.content()).includes('Payments'));
  const json = await stranger.request.get(`${base}/api/status`);
  assert.equal(json.status(), 401);

  step('a forged cookie is refused');
  // <epoch>.<id>.<expires>.<mac>: an earlier expiry under the same MAC.
  const [epoch, id, expires, mac] = cookie.value.split('.');
  await stranger.context().addCookies([{ ...cookie, value: `${epoch}.${id}.${Number(expires) - 60}.${mac}` }]);
  resp = await stranger.goto(page_url);
  assert.equal(resp.status(), 401);

  step('sign out everywhere ends the other browser\'s session too');
  const other = await (await browser.newContext()).newPage();
  await other.goto(page_url);
  await other.fill('input[name=secret]', secret);
  await other.click('button[type=submit]');
  await other.locator('#jobs').waitFor();
  await page.click('#signout-everywhere');
  await page.locator('input[name=secret]').waitFor();
  resp = await other.goto(page_url);
  assert.equal(resp.status(), 401);
  assert.equal(await other.locator('#jobs').count(), 0);
  // The old cookie, replayed by hand, is refused by the server.
  const fresh = await browser.newContext();
  const replay = await fresh.request.get(`${base}/api/status`, {
    headers: { cookie: `${cookie.name}=${cookie.value}` },
  });
  assert.equal(replay.status(), 401);

  assert.deepEqual(errors, []);
  console.log(`browser: ok; screenshot at ${shot}`);
} finally {
  await browser.close();
}
