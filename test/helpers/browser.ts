// Debian's chromium driven by playwright-core, for the web page tests: launch with the flags that
// work headless on this machine (and in CI, where scripts/ensure-test-deps.sh installs chromium),
// one context per test file, and what every page test checks: console errors, page errors and
// requests to anywhere but the server under test. Screenshots go to test-artifacts/screenshots/.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { REPO_ROOT } from './s3-servers.ts';
import { TEST_API_KEY } from './server-process.ts';

export const CHROMIUM = '/usr/bin/chromium';
export const SCREENSHOTS = path.join(REPO_ROOT, 'test-artifacts', 'screenshots');

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];

export interface BrowserSession {
  readonly browser: Browser;
  readonly context: BrowserContext;
  readonly page: Page;
  /** Console errors and uncaught page errors, as text. */
  readonly errors: string[];
  /** Every URL the page requested outside `origin`. */
  readonly foreignRequests: string[];
  /** Saves a full-page screenshot as test-artifacts/screenshots/<name>.png; returns the path. */
  screenshot(name: string, page?: Page): Promise<string>;
  close(): Promise<void>;
}

export interface BrowserOptions {
  /** The origin every request must go to, e.g. http://127.0.0.1:4321. */
  readonly origin: string;
  readonly viewport?: { width: number; height: number };
  readonly colorScheme?: 'light' | 'dark';
}

/** Launches chromium, opens one context and page, and starts recording errors and foreign requests. */
export async function openBrowser(opts: BrowserOptions): Promise<BrowserSession> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  try {
    const context = await browser.newContext({
      viewport: opts.viewport ?? { width: 1280, height: 900 },
      colorScheme: opts.colorScheme ?? 'light',
      locale: 'en-US',
      timezoneId: 'UTC',
      acceptDownloads: true,
    });
    const errors: string[] = [];
    const foreignRequests: string[] = [];
    const origin = new URL(opts.origin).origin;
    const watch = (page: Page): void => {
      page.on('console', (msg) => {
        if (msg.type() === 'error') errors.push(`console: ${msg.text()} (${msg.location().url})`);
      });
      page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
      page.on('request', (req) => {
        const url = req.url();
        if (!url.startsWith('data:') && !url.startsWith('blob:') && new URL(url).origin !== origin)
          foreignRequests.push(url);
      });
    };
    context.on('page', watch);
    const page = await context.newPage();
    return {
      browser,
      context,
      page,
      errors,
      foreignRequests,
      screenshot: async (name, p = page) => {
        const file = path.join(SCREENSHOTS, `${name}.png`);
        await p.screenshot({ path: file, fullPage: true });
        return file;
      },
      close: async () => {
        await context.close().catch(() => {});
        await browser.close();
      },
    };
  } catch (err) {
    await browser.close();
    throw err;
  }
}

/**
 * Opens `url` (the server's page), signs in on its form with TEST_API_KEY and waits for the jobs
 * list. The page's "who am I" before the form is a 401, which chromium logs as a failed load.
 */
export async function signIn(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.locator('#view-signin').waitFor();
  await page.fill('#signin-key', TEST_API_KEY.accessKeyId);
  await page.fill('#signin-secret', TEST_API_KEY.secretAccessKey);
  await page.click('#signin-submit');
  await page.locator('#view-list').waitFor();
}
