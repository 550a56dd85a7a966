/**
 * A real headless Chromium for browser tests: Debian's `chromium` package (scripts/setup.sh
 * installs it) driven by puppeteer-core, with a fresh profile per launch and nothing reaching out
 * (no sync, updates or background networking). LEECHGUARD_CHROMIUM names another binary.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

export const CHROMIUM = process.env.LEECHGUARD_CHROMIUM ?? '/usr/bin/chromium';

export function chromiumMissing(): string | false {
  return existsSync(CHROMIUM)
    ? false
    : `${CHROMIUM} is not installed (scripts/setup.sh installs Debian's chromium)`;
}

export interface RunningBrowser {
  browser: Browser;
  /** A new page whose console errors, page errors and failed requests are collected in `problems`. */
  page(): Promise<Page>;
  problems: string[];
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<RunningBrowser> {
  const profile = mkdtempSync(join(tmpdir(), 'lg-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--user-data-dir=${profile}`,
    ],
    defaultViewport: { width: 1440, height: 900 },
  });
  const problems: string[] = [];
  return {
    browser,
    problems,
    async page() {
      const page = await browser.newPage();
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warn') {
          problems.push(`console.${m.type()}: ${m.text()} (${m.location().url ?? 'no url'})`);
        }
      });
      page.on('pageerror', (err) => problems.push(`page error: ${(err as Error).message}`));
      page.on('requestfailed', (r) => {
        // A download the page hands to the browser is "aborted" by design.
        if (r.failure()?.errorText !== 'net::ERR_ABORTED')
          problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`);
      });
      return page;
    },
    async close() {
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
