import { InvalidOptionsError } from './errors.js';

/** Where a value was found. `tier` is the tier's `name` (`'l1'`, `'l2'`, or your own). */
export interface HitEvent {
  readonly key: string;
  readonly tier: string;
  /** `true` when a stale value was returned (see {@link StaleServedEvent} for why). */
  readonly stale: boolean;
}

/** No tier had a usable value: the caller waits for the loader (its own or a shared one). */
export interface MissEvent {
  readonly key: string;
}

/** A loader resolved. Emitted once per load, not once per waiter. */
export interface LoadEvent {
  readonly key: string;
  readonly durationMs: number;
}

/** A loader rejected or hit `hardTimeout`. Emitted once per load, foreground or background. */
export interface LoadErrorEvent {
  readonly key: string;
  readonly error: unknown;
  readonly durationMs: number;
}

/**
 * A stale value was returned. `revalidating`: served at once while a background refresh
 * runs; `fail-safe`: the loader failed or timed out; `soft-timeout`: the loader was slower
 * than `softTimeout` and goes on in the background.
 */
export interface StaleServedEvent {
  readonly key: string;
  readonly reason: 'revalidating' | 'fail-safe' | 'soft-timeout';
}

/** A background refresh started: `early` for XFetch, otherwise a stale entry's revalidation. */
export interface RefreshEvent {
  readonly key: string;
  readonly early: boolean;
}

/**
 * Stampede protection: another process holds the lock on `key`, so this process waits for
 * the value to appear in L2 (at most `waitTimeout`). Once per load, not once per caller.
 */
export interface StampedeWaitEvent {
  readonly key: string;
}

/**
 * Stampede protection: this process loads `key` without holding the lock. `timeout`: the
 * value did not appear in L2 within `waitTimeout` (the holder is slow, died, or could not
 * write L2); `lock-error`: the locker failed (`error`), e.g. Redis is down.
 */
export interface StampedeFallbackEvent {
  readonly key: string;
  readonly reason: 'timeout' | 'lock-error';
  /** How long this process waited for another's load, in ms (0 for `lock-error` at once). */
  readonly waitedMs: number;
  /** The locker's error, for `lock-error`. */
  readonly error?: Error;
}

/** The tier operation that failed in a {@link TierErrorEvent}. */
export type TierOperation =
  | 'get'
  | 'getMany'
  | 'set'
  | 'delete'
  | 'clear'
  | 'close'
  /** Invalidation (tier `'bus'`, `'tags'` or the L2): publishing a message on the bus. */
  | 'publish'
  /** Reading tag versions (tier `'tags'`) or key versions (the L2, `versionedWrites`). */
  | 'versions'
  /** Moving tag versions forward (`invalidateTags`, tier `'tags'`). */
  | 'invalidate'
  /** Deleting the L2 keys that match a pattern (`invalidatePattern`). */
  | 'deleteMatching';

/**
 * A tier failed (threw, rejected, returned something that is not an entry). The read went on
 * without that tier. `error.code` tells why, e.g. `E_L2_TIMEOUT`, `E_CIRCUIT_OPEN`,
 * `E_CORRUPT_PAYLOAD` (from the tier) or `E_INVALID_ENTRY` (from core).
 */
export interface TierErrorEvent {
  readonly tier: string;
  readonly operation: TierOperation;
  readonly key?: string;
  /** The tier's typed error (or a wrapper `Error` whose `cause` is what was thrown). */
  readonly error: Error & { readonly code?: string };
}

/**
 * `redoFailedDeletes`: keys whose L2 delete (or bus message) had failed were done again.
 * Once per redo that completed at least one key.
 */
export interface RedoDoneEvent {
  /** Deleted from L2 again, dropped from this L1, and published again. */
  readonly deleted: readonly string[];
  /** Only their bus message had failed: published again. */
  readonly republished: readonly string[];
  /** Keys still waiting (their delete or message failed again, or failed meanwhile). */
  readonly pending: number;
}

/**
 * `redoFailedDeletes`: `maxKeys` keys were already waiting for a redo, so the one whose
 * last failure is oldest, `key`, was given up: L2 may serve its old value until its TTL.
 * Also logged at error level.
 */
export interface RedoOverflowEvent {
  readonly key: string;
  /** Keys given up so far (the `dropped` of `CacheManager.redoStats`). */
  readonly dropped: number;
  readonly maxKeys: number;
}

/** Every event {@link CacheManager} emits, by name. */
export interface CacheEvents {
  hit: HitEvent;
  miss: MissEvent;
  load: LoadEvent;
  'load:error': LoadErrorEvent;
  'stale:served': StaleServedEvent;
  refresh: RefreshEvent;
  'tier:error': TierErrorEvent;
  'stampede:wait': StampedeWaitEvent;
  'stampede:fallback': StampedeFallbackEvent;
  'redo:done': RedoDoneEvent;
  'redo:overflow': RedoOverflowEvent;
}

/** A listener for event `K`. */
export type CacheEventListener<K extends keyof CacheEvents> = (event: CacheEvents[K]) => void;

type ListenerLists = { [K in keyof CacheEvents]: CacheEventListener<K>[] };

/**
 * Minimal typed emitter. The manager reads `lists.<event>.length` before building an event
 * object, so an event nobody listens to costs one property read.
 *
 * @internal
 */
export class Emitter {
  readonly lists: ListenerLists = {
    hit: [],
    miss: [],
    load: [],
    'load:error': [],
    'stale:served': [],
    refresh: [],
    'tier:error': [],
    'stampede:wait': [],
    'stampede:fallback': [],
    'redo:done': [],
    'redo:overflow': [],
  };

  constructor(private readonly onListenerError: (event: string, error: unknown) => void) {}

  on<K extends keyof CacheEvents>(event: K, listener: CacheEventListener<K>): () => void {
    if (!Object.hasOwn(this.lists, event)) {
      throw new InvalidOptionsError(`Unknown event "${String(event)}"`);
    }
    const list = this.lists[event];
    // Copy on write: emit() may be iterating the old array.
    this.lists[event] = [...list, listener] as ListenerLists[K];
    return () => this.off(event, listener);
  }

  off<K extends keyof CacheEvents>(event: K, listener: CacheEventListener<K>): void {
    if (!Object.hasOwn(this.lists, event)) return;
    const list = this.lists[event];
    const i = list.indexOf(listener);
    if (i === -1) return;
    this.lists[event] = [...list.slice(0, i), ...list.slice(i + 1)] as ListenerLists[K];
  }

  emit<K extends keyof CacheEvents>(event: K, payload: CacheEvents[K]): void {
    const list = this.lists[event];
    for (let i = 0; i < list.length; i++) {
      try {
        (list[i] as CacheEventListener<K>)(payload);
      } catch (error) {
        // A throwing listener must not break the read that emitted the event.
        this.onListenerError(event, error);
      }
    }
  }
}
