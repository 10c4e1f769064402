import { CacheManager } from '../cache-manager.js';
import type { CacheEvents } from '../events.js';
import type { CacheManagerOptions } from '../options.js';
import type { CacheTier } from '../tier.js';
import { type RecordingLogger, recordingLogger } from './logger.js';
import { MapTier } from './map-tier.js';

type EventName = keyof CacheEvents;
type Recorded = { [K in EventName]: { name: K; event: CacheEvents[K] } }[EventName];

export interface Setup<L1 extends CacheTier | undefined, L2 extends CacheTier | undefined> {
  cache: CacheManager;
  l1: L1;
  l2: L2;
  logger: RecordingLogger;
  /** Every event emitted, in order. */
  events: Recorded[];
  /** The events of one kind, payloads only. */
  of<K extends EventName>(name: K): CacheEvents[K][];
  /** Resolves with the next event of this kind (e.g. a background refresh's `load`). */
  next<K extends EventName>(name: K): Promise<CacheEvents[K]>;
}

/** A promise with its resolve/reject exposed, to control when a loader answers. */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const ALL: EventName[] = [
  'hit',
  'miss',
  'load',
  'load:error',
  'stale:served',
  'refresh',
  'tier:error',
  'stampede:wait',
  'stampede:fallback',
  'redo:done',
  'redo:overflow',
];

/**
 * A manager over two synchronous {@link MapTier}s (unless given other tiers) whose clock is
 * `Date.now()` — so `vi.useFakeTimers()` drives both timeouts and freshness — with jitter
 * and early refresh off unless asked, a recording logger, and every event recorded.
 */
export function setup<
  L1 extends CacheTier | undefined = MapTier,
  L2 extends CacheTier | undefined = MapTier,
>(
  options: Omit<CacheManagerOptions, 'l1' | 'l2'> & { l1?: L1 | null; l2?: L2 | null } = {},
): Setup<L1, L2> {
  const clock = options.clock ?? (() => Date.now());
  const l1 = (
    options.l1 === undefined ? new MapTier('l1', clock) : (options.l1 ?? undefined)
  ) as L1;
  const l2 = (
    options.l2 === undefined ? new MapTier('l2', clock) : (options.l2 ?? undefined)
  ) as L2;
  const logger = recordingLogger();
  const cache = new CacheManager({
    jitter: 0,
    earlyRefresh: false,
    random: () => 0.5,
    logger,
    ...options,
    clock,
    l1,
    l2,
  });
  const events: Recorded[] = [];
  for (const name of ALL) {
    cache.on(name, (event) => events.push({ name, event } as Recorded));
  }
  const of = <K extends EventName>(name: K): CacheEvents[K][] =>
    events.filter((e) => e.name === name).map((e) => e.event as CacheEvents[K]);
  const next = <K extends EventName>(name: K): Promise<CacheEvents[K]> =>
    new Promise((resolve) => {
      const off = cache.on(name, (event) => {
        off();
        resolve(event);
      });
    });
  return { cache, l1, l2, logger, events, of, next };
}
