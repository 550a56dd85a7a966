/**
 * Screenshots of each console page against a running enforcer (e.g. `npm run demo`, which prints
 * the URL and keys), for README: `node scripts/console-screenshots.ts --url http://127.0.0.1:8083
 * --analyst KEY --operator KEY [--out docs/console] [--rule R]`. Uses the browser tests' Chromium launcher.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { launchBrowser } from '../test/support/browser.ts';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    analyst: { type: 'string' },
    operator: { type: 'string' },
    out: { type: 'string', default: 'docs/console' },
    /** The review queue's rule filter in its screenshot (e.g. impossible-travel). */
    rule: { type: 'string' },
  },
});
if (!values.url || !values.analyst || !values.operator) {
  process.stderr.write(
    'usage: node scripts/console-screenshots.ts --url URL --analyst KEY --operator KEY [--out DIR]\n',
  );
  process.exit(2);
}
const out = values.out!;
mkdirSync(out, { recursive: true });
const browser = await launchBrowser();
try {
  const page = await browser.page();
  const shot = (name: string) => page.screenshot({ path: join(out, `${name}.png`), fullPage: true });
  const open = async (hash: string, ready: string) => {
    await page.goto(`${values.url}/ui/${hash}`);
    await page.waitForSelector(ready);
    await new Promise((r) => setTimeout(r, 300)); // charts settle after their first layout
  };
  const signIn = async (key: string) => {
    await open('', 'input[name=key]');
    await page.type('input[name=key]', key);
    await page.click('[data-act=sign-in]');
    await page.waitForSelector('.side .me');
  };
  await open('', 'input[name=key]');
  await shot('sign-in');
  await signIn(values.analyst);
  await open('#/overview', '.stats');
  await shot('overview');
  await open('#/reviews', '.card, .empty');
  await page.select('select[name=sort]', 'severity');
  if (values.rule) await page.select('select[name=rule]', values.rule);
  const first = await page.$('tr[data-review] button.link');
  if (first) {
    await first.click();
    await page.waitForSelector('.evidence');
  }
  await shot('reviews');
  await open('#/flags', 'tr[data-flag], .empty');
  await page.select('select[name=severity]', 'critical');
  await new Promise((r) => setTimeout(r, 500));
  const flagRules = await page.$$('tr[data-flag] button.link');
  if (flagRules[0]) await flagRules[0].click();
  await shot('flags');
  const top = await page.$eval('a.mono[href^="#/account/"]', (a) => a.getAttribute('href')).catch(() => null);
  await open('#/overview', '.stats');
  const account = await page
    .$eval('a.mono[href^="#/account/"]', (a) => a.getAttribute('href'))
    .catch(() => top);
  if (account) {
    await open(account, '.stats');
    await shot('account');
  }
  await open('#/revocations', '.card');
  await shot('revocations');
  await page.click('[data-act=sign-out]');
  await signIn(values.operator);
  await open('#/rules', 'tr[data-rule]');
  await page.click('tr[data-rule] [data-act=open-rule]');
  await page.waitForSelector('select[name=mode]');
  await page.select('select[name=mode]', 'automate');
  await page.click('[data-act=preview]');
  await page.waitForSelector('[data-preview]');
  await shot('rules');
  await open('#/audit', '.card');
  await shot('audit');
  if (browser.problems.length > 0) process.stderr.write(`${browser.problems.join('\n')}\n`);
  process.stdout.write(`screenshots in ${out}\n`);
} finally {
  await browser.close();
}
