import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Instance } from '../instance.js';
import { type DemoFixture, startDemoFixture } from '../test-support/fixture.js';

// Debian's chromium (apt-get install chromium); no browser download.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

let fx: DemoFixture;
let instance: Instance;
let url: string;
let browser: Browser;

beforeAll(async () => {
  fx = await startDemoFixture(['dashboard']);
  instance = fx.instances[0]!;
  url = await instance.listen(0);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});
afterAll(async () => {
  await browser?.close();
  await fx?.stop();
});

async function traffic(): Promise<void> {
  const { rows } = await instance.pool.query<{ id: string }>(
    'SELECT id FROM agents WHERE is_active ORDER BY id LIMIT 20',
  );
  for (let round = 0; round < 5; round++) {
    await Promise.all(
      rows.map((r) => fetch(`${url}/api/agents/${r.id}`).then((res) => res.text())),
    );
  }
  await fetch(`${url}/api/leaderboard?period=daily`).then((res) => res.text());
}

it('the dashboard shows the live hit rate, tier split, latency and Redis memory', async () => {
  const page = await browser.newPage();
  try {
    await page.goto(`${url}/`);
    await page.locator('#status.ok').waitFor();
    await traffic();
    const metrics = (await (await fetch(`${url}/metrics/cache`)).json()) as {
      hits: number;
      ratios: { hitRate: number };
    };
    expect(metrics.hits).toBeGreaterThan(100);
    // The page polls every second: wait until it has caught up with the traffic.
    // (A string: this file is type-checked without the DOM library.)
    await page.waitForFunction(
      `Number(document.getElementById('hits').textContent.replace(/,/g, '')) >= ${metrics.hits}`,
    );
    const shown = Number(await page.locator('#hit-rate').getAttribute('data-value'));
    expect(shown).toBeCloseTo(metrics.ratios.hitRate, 2);
    expect(await page.locator('#hit-rate').textContent()).toMatch(/^\d+\.\d %$/);
    expect(await page.locator('#l1-hits').textContent()).toMatch(/^[\d,]+ · \d+\.\d %$/);
    expect(await page.locator('#http-p99').textContent()).toMatch(/ ms$/);
    expect(await page.locator('#redis-used').textContent()).toMatch(/(KiB|MiB)$/);
    expect(await page.locator('#redis-policy').textContent()).toBe('volatile-lru');
    const style = (await page.locator('#bar-l1').getAttribute('style')) ?? '';
    expect(Number.parseFloat(/width:\s*([\d.]+)%/.exec(style)?.[1] ?? '0')).toBeGreaterThan(0);
  } finally {
    await page.close();
  }
});
