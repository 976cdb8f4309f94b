// The README's two screenshots (scripts/screenshots): the dashboard, signed in, and the
// latest weekly report, each 1200 px wide, from a server scripts/screenshots started on
// seeded demo data. Passed BASE_URL, CRON_SECRET and OUT (a folder).
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const base = process.env.BASE_URL;
const secret = process.env.CRON_SECRET;
const out = process.env.OUT;
assert.ok(base && secret && out, 'BASE_URL, CRON_SECRET and OUT are required');

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  await page.goto(`${base}/api/status?format=html`);
  await page.fill('input[name=secret]', secret);
  await page.click('button[type=submit]');
  await page.locator('#jobs').waitFor();
  await page.screenshot({ path: `${out}/dashboard.png` });

  const resp = await page.goto(`${base}/api/status/report/latest`);
  assert.equal(resp.status(), 200, 'a weekly report exists');
  await page.screenshot({ path: `${out}/weekly-report.png` });
  console.log(`screenshots: ${out}/dashboard.png, ${out}/weekly-report.png`);
} finally {
  await browser.close();
}
