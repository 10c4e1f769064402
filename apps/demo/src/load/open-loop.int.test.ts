import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { openLoop, quantile } from './open-loop.js';

// The fixed-rate reads of `pnpm demo:load`: requests leave on schedule whatever the server
// does, and each latency counts from the scheduled start.

let server: http.Server | undefined;

async function serve(handler: http.RequestListener): Promise<string> {
  server = http.createServer(handler);
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

afterEach(async () => {
  const running = server;
  server = undefined;
  if (running !== undefined) await new Promise((resolve) => running.close(resolve));
});

describe('quantile', () => {
  it('takes the nearest rank', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(quantile(sorted, 0.5)).toBe(50);
    expect(quantile(sorted, 0.99)).toBe(99);
    expect(quantile(sorted, 1)).toBe(100);
    expect(quantile([7], 0.5)).toBe(7);
    expect(quantile([], 0.5)).toBe(0);
  });
});

describe('openLoop', () => {
  it('sends rate × seconds requests and counts statuses', async () => {
    const paths: string[] = [];
    const url = await serve((req, res) => {
      paths.push(req.url ?? '');
      res.statusCode = req.url === '/missing' ? 404 : 200;
      res.end('{}');
    });
    let i = 0;
    const result = await openLoop({
      url,
      rate: 200,
      seconds: 0.25,
      next: () => ({ method: 'GET', path: i++ % 5 === 0 ? '/missing' : '/ok' }),
    });

    expect(result.sent).toBe(50);
    expect(result.answered).toBe(50);
    expect(result.non2xx).toBe(10);
    expect(result.errors).toBe(0);
    expect(paths).toHaveLength(50);
    expect(result.latency.p50).toBeGreaterThan(0);
    expect(result.latency.max).toBeGreaterThanOrEqual(result.latency.p99);
  });

  it('keeps sending on schedule while the server is slow, and counts the wait', async () => {
    const arrivals: number[] = [];
    const url = await serve((_req, res) => {
      arrivals.push(performance.now());
      setTimeout(() => res.end('{}'), 200);
    });

    const result = await openLoop({
      url,
      rate: 100,
      seconds: 0.2,
      next: () => ({ method: 'GET', path: '/' }),
    });

    expect(result.answered).toBe(20);
    // A closed loop would have sent one request per 200 ms; these all left within the window.
    expect(arrivals[19]! - arrivals[0]!).toBeLessThan(200);
    expect(result.latency.p50).toBeGreaterThanOrEqual(200);
  });

  it('counts requests without a response as errors', async () => {
    const url = await serve((req) => req.socket.destroy());

    const result = await openLoop({
      url,
      rate: 100,
      seconds: 0.05,
      next: () => ({ method: 'GET', path: '/' }),
    });

    expect(result.sent).toBe(5);
    expect(result.answered).toBe(0);
    expect(result.errors).toBe(5);
  });
});
