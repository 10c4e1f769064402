import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { InvalidKeyError, InvalidOptionsError } from './errors.js';
import {
  type RefreshFailedEvent,
  type RefreshJob,
  RefreshScheduler,
  type RefreshSchedulerOptions,
  type TimerProvider,
} from './refresh-scheduler.js';
import { deferred, FailingTier, recordingLogger, setup } from './test-support/index.js';

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

const MINUTE = 60_000;

/** A scheduler over a fresh manager, without jitter unless asked, logging into a recorder. */
function scheduler(options: Partial<RefreshSchedulerOptions> = {}) {
  const fx = setup();
  const logger = recordingLogger();
  const s = new RefreshScheduler({ cache: fx.cache, jitter: 0, logger, ...options });
  return { ...fx, scheduler: s, logger };
}

function cached(cache: ReturnType<typeof setup>['cache'], key: string): Promise<unknown> {
  return cache.get(key, () => {
    throw new Error(`${key} is not cached`);
  });
}

describe('RefreshScheduler', () => {
  it('refreshes each job once per interval (the guide: leaderboards 1 and 5 min, activity 2 min)', async () => {
    const { scheduler: s } = scheduler();
    const loads = { daily: 0, weekly: 0, activity: 0 };
    s.add({ key: 'leaderboard:daily', interval: MINUTE, load: () => ++loads.daily });
    s.add({ key: 'leaderboard:weekly', interval: 5 * MINUTE, load: () => ++loads.weekly });
    s.add({ key: 'recent-activity', interval: 2 * MINUTE, load: () => ++loads.activity });

    s.start();
    await vi.advanceTimersByTimeAsync(10 * MINUTE);

    expect(loads).toEqual({ daily: 10, weekly: 2, activity: 5 });
    await s.stop();
  });

  it('stores what the job loads, with the job ttl', async () => {
    const { scheduler: s, cache, l2 } = scheduler();
    s.add({ key: 'board', interval: MINUTE, ttl: 5 * MINUTE, load: () => ['ada', 'grace'] });

    s.start();
    await vi.advanceTimersByTimeAsync(MINUTE);

    expect(await cached(cache, 'board')).toEqual(['ada', 'grace']);
    expect(l2.ttls.get('board')).toBe(5 * MINUTE);
    await s.stop();
  });

  it('shortens each delay by up to `jitter` of the interval, never lengthens it', async () => {
    const random = vi.fn(() => 0.999);
    const { scheduler: s } = scheduler({ jitter: 0.1, random });
    const load = vi.fn(() => 1);
    s.add({ key: 'k', interval: 10_000, load });

    s.start();
    await vi.advanceTimersByTimeAsync(9_000);
    expect(load).toHaveBeenCalledTimes(0);
    await vi.advanceTimersByTimeAsync(10);
    expect(load).toHaveBeenCalledTimes(1);
    await s.stop();
  });

  it('with runOnStart, refreshes within `jitter × interval` of start', async () => {
    const { scheduler: s } = scheduler({ jitter: 0.1, random: () => 0.5, runOnStart: true });
    const load = vi.fn(() => 1);
    s.add({ key: 'k', interval: MINUTE, load });

    s.start();
    await vi.advanceTimersByTimeAsync(3_000);

    expect(load).toHaveBeenCalledTimes(1);
    await s.stop();
  });

  it('never runs two refreshes of one key at once, however slow the loader', async () => {
    const { scheduler: s } = scheduler();
    let inFlight = 0;
    let maxInFlight = 0;
    let runs = 0;
    s.add({
      key: 'slow',
      interval: 1_000,
      load: async () => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((resolve) => setTimeout(resolve, 3_500)); // 3.5 intervals
        inFlight--;
        return ++runs;
      },
    });

    s.start();
    await vi.advanceTimersByTimeAsync(20_000);

    expect(maxInFlight).toBe(1);
    // Fixed delay: one run per (interval + load time) = 4.5 s; the fifth is in flight.
    expect(runs).toBe(4);
    const stopping = s.stop();
    await vi.advanceTimersByTimeAsync(3_500);
    await stopping;
    expect(runs).toBe(5);
  });

  it('refresh(key) joins a refresh already in flight instead of starting another', async () => {
    const { scheduler: s } = scheduler();
    const gate = deferred<string>();
    const load = vi.fn(() => gate.promise);
    s.add({ key: 'k', interval: MINUTE, load });

    const first = s.refresh('k');
    const second = s.refresh('k');
    gate.resolve('v');

    expect(await first).toEqual({ status: 'stored', durationMs: 0 });
    expect(await second).toBe(await first);
    expect(load).toHaveBeenCalledTimes(1);
  });

  it('keeps the old value when a refresh fails, counts it, emits it and tries again next interval', async () => {
    const { scheduler: s, cache, logger } = scheduler();
    const failures: RefreshFailedEvent[] = [];
    s.on('refresh:error', (event) => failures.push(event));
    const boom = new Error('db down');
    let fail = false;
    s.add({
      key: 'board',
      interval: MINUTE,
      ttl: 10 * MINUTE,
      load: () => {
        if (fail) throw boom;
        return 'v1';
      },
    });
    s.start();
    await vi.advanceTimersByTimeAsync(MINUTE);

    fail = true;
    await vi.advanceTimersByTimeAsync(2 * MINUTE);

    expect(await cached(cache, 'board')).toBe('v1');
    expect(s.stats('board')).toMatchObject({
      runs: 3,
      successes: 1,
      failures: 2,
      consecutiveFailures: 2,
      lastError: boom,
    });
    expect(failures).toEqual([
      { key: 'board', error: boom, durationMs: 0, consecutiveFailures: 1 },
      { key: 'board', error: boom, durationMs: 0, consecutiveFailures: 2 },
    ]);
    expect(logger.lines.filter((l) => l.level === 'warn')).toHaveLength(2);

    fail = false;
    await vi.advanceTimersByTimeAsync(MINUTE);
    expect(s.stats('board')).toMatchObject({ successes: 2, consecutiveFailures: 0 });
    await s.stop();
  });

  it('counts a value the L2 tier failed to store as a failed refresh', async () => {
    const fx = setup({ l2: new FailingTier('l2', 'reject') });
    const s = new RefreshScheduler({ cache: fx.cache, logger: recordingLogger() });
    s.add({ key: 'k', interval: MINUTE, load: () => 'v' });

    const outcome = await s.refresh('k');

    expect(outcome).toMatchObject({ status: 'failed', error: { code: 'E_FAKE_TIER' } });
    expect(s.stats('k').failures).toBe(1);
  });

  it('leaves the cached value alone when the loader returns undefined', async () => {
    const { scheduler: s, cache } = scheduler();
    await cache.set('k', 'old');
    s.add({ key: 'k', interval: MINUTE, load: () => undefined });

    expect(await s.refresh('k')).toMatchObject({ status: 'skipped' });
    expect(await cached(cache, 'k')).toBe('old');
    expect(s.stats('k')).toMatchObject({ runs: 1, skipped: 1, successes: 0 });
  });

  it('stop() clears every timer and waits for the refreshes in flight', async () => {
    const { scheduler: s, cache } = scheduler();
    const gate = deferred<string>();
    s.add({ key: 'slow', interval: MINUTE, load: () => gate.promise });
    s.add({ key: 'idle', interval: 5 * MINUTE, load: () => 'x' });
    s.start();
    await vi.advanceTimersByTimeAsync(MINUTE);

    let stopped = false;
    const stopping = s.stop().then(() => {
      stopped = true;
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(stopped).toBe(false);
    gate.resolve('done');
    await stopping;

    expect(await cached(cache, 'slow')).toBe('done');
    expect(vi.getTimerCount()).toBe(0);
    expect(s.running).toBe(false);
  });

  it('runs nothing after stop()', async () => {
    const { scheduler: s } = scheduler();
    const load = vi.fn(() => 1);
    s.add({ key: 'k', interval: MINUTE, load });
    s.start();
    await vi.advanceTimersByTimeAsync(MINUTE);

    await s.stop();
    await vi.advanceTimersByTimeAsync(10 * MINUTE);

    expect(load).toHaveBeenCalledTimes(1);
  });

  it('stop({ abort: true }) aborts the signal of refreshes in flight', async () => {
    const { scheduler: s } = scheduler();
    let signal: AbortSignal | undefined;
    s.add({
      key: 'k',
      interval: MINUTE,
      load: (ctx) =>
        new Promise((_, reject) => {
          signal = ctx.signal;
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason));
        }),
    });
    s.start();
    await vi.advanceTimersByTimeAsync(MINUTE);

    await s.stop({ abort: true });

    expect(signal?.aborted).toBe(true);
    expect(s.stats('k').failures).toBe(1);
  });

  it('schedules a job added while running, and never again once removed', async () => {
    const { scheduler: s } = scheduler();
    s.start();
    const load = vi.fn(() => 1);
    const remove = s.add({ key: 'k', interval: MINUTE, load });
    await vi.advanceTimersByTimeAsync(MINUTE);

    expect(remove()).toBe(true);
    await vi.advanceTimersByTimeAsync(5 * MINUTE);

    expect(load).toHaveBeenCalledTimes(1);
    expect(s.keys()).toEqual([]);
    await s.stop();
  });

  it('uses the injected timer provider', async () => {
    const calls: number[] = [];
    const timers: TimerProvider = {
      setTimeout: (callback, ms) => {
        calls.push(ms);
        return setTimeout(callback, ms);
      },
      clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
    };
    const { scheduler: s } = scheduler({ timers });
    s.add({ key: 'k', interval: 30_000, load: () => 1 });

    s.start();
    await vi.advanceTimersByTimeAsync(30_000);

    expect(calls).toEqual([30_000, 30_000]);
    await s.stop();
  });

  it('sums the counters of every job when stats() has no key', async () => {
    const { scheduler: s } = scheduler();
    s.add({ key: 'a', interval: MINUTE, load: () => 1 });
    s.add({
      key: 'b',
      interval: MINUTE,
      load: () => {
        throw new Error('no');
      },
    });

    await Promise.all([s.refresh('a'), s.refresh('b')]);

    expect(s.stats()).toMatchObject({ runs: 2, successes: 1, failures: 1 });
  });

  it('rejects refresh() and stats() of a key without a job', async () => {
    const { scheduler: s } = scheduler();

    await expect(s.refresh('nope')).rejects.toBeInstanceOf(InvalidKeyError);
    expect(() => s.stats('nope')).toThrow(InvalidKeyError);
  });

  it('rejects a second job for the same key', () => {
    const { scheduler: s } = scheduler();
    s.add({ key: 'k', interval: MINUTE, load: () => 1 });

    expect(() => s.add({ key: 'k', interval: MINUTE, load: () => 2 })).toThrow(/already scheduled/);
  });

  it.each([
    [{ key: '', interval: 1, load: () => 1 }, /"key"/],
    [{ key: 'k', interval: 0, load: () => 1 }, /"interval"/],
    [{ key: 'k', interval: 1 }, /"load"/],
  ])('rejects a bad job, naming the field (%#)', (job, message) => {
    const { scheduler: s } = scheduler();

    expect(() => s.add(job as RefreshJob)).toThrow(message);
  });

  it.each([
    [{ jitter: 2 }, /"jitter"/],
    [{ timers: {} }, /"timers"/],
    [{ cache: undefined }, /"cache"/],
  ])('rejects bad options, naming the field (%#)', (options, message) => {
    const { cache } = setup();

    expect(() => new RefreshScheduler({ cache, ...options } as RefreshSchedulerOptions)).toThrow(
      message,
    );
    expect(() => new RefreshScheduler({ cache, ...options } as RefreshSchedulerOptions)).toThrow(
      InvalidOptionsError,
    );
  });
});
