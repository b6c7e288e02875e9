/**
 * The real browser the page tests use: Debian's Chromium through playwright-core (CHROMIUM_PATH,
 * else /usr/bin/chromium). `CHROMIUM` is undefined when none is installed, and those tests skip.
 * Headless, with the background networking a closed machine would only see refused.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find(
  (f): f is string => Boolean(f) && existsSync(f!),
);

export function launchChromium(): Promise<Browser> {
  if (!CHROMIUM) throw new Error('no Chromium: install Debian chromium or set CHROMIUM_PATH');
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}
