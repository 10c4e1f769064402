import type { Emitter } from './events.js';
import type { CacheTier } from './tier.js';

/** `redoFailedDeletes` settings, defaults applied. */
export interface RedoSettings {
  readonly interval: number;
  readonly maxKeys: number;
}

/** The defaults of the `redoFailedDeletes` option. */
export const REDO_DEFAULTS: RedoSettings = { interval: 1_000, maxKeys: 10_000 };

/**
 * What `CacheManager.redoStats` reports.
 */
export interface RedoStats {
  /**
   * Keys waiting for a redo: their L2 delete failed (they are deleted again, then published),
   * or only their bus message failed (they are published again).
   */
  readonly pending: number;
  /** Keys redone since the manager was created (deleted again and/or published again). */
  readonly redone: number;
  /**
   * Keys given up because `maxKeys` were already pending (each one emitted as
   * `redo:overflow` and logged): L2 may serve their old value until its TTL.
   */
  readonly dropped: number;
}

/**
 * The few manager internals a redo needs.
 *
 * @internal
 */
export interface RedoHost {
  readonly events: Emitter;
  /**
   * Deletes `key` from L2 the way `delete` does (versioned when `versionedWrites` is on).
   * `true` when L2 answered (or there is no L2); `false` when it failed, in which case the
   * failure was reported and {@link DeleteRedo.deleteFailed} called again.
   */
  deleteL2(key: string): boolean | Promise<boolean>;
  /** After L2 answered: drops this instance's L1 copy and detaches its loads of `key`. */
  dropLocal(key: string): void;
  /** Publishes a `keys` message; `true` when the bus accepted it (or there is no bus). */
  publish(keys: string[]): Promise<boolean>;
  /** Logs at `level`, throttled per `id` by the manager. */
  log(level: 'error' | 'debug', id: string, message: string, meta: Record<string, unknown>): void;
}

/**
 * What is left to do for one key. A new object for every new failure: a redo that started
 * before it does not forget the key (see {@link DeleteRedo.redo}).
 */
interface Pending {
  /** The L2 delete failed: delete again, then publish. Otherwise: publish only. */
  readonly l2: boolean;
}

/**
 * A tier that tells when it is healthy again, like `redisTier`'s `on('circuit', state)`.
 * Duck-typed: core does not depend on any tier package.
 */
type CircuitReporting = {
  on(event: 'circuit', listener: (state: unknown) => void): unknown;
  off?(event: 'circuit', listener: (state: unknown) => void): unknown;
};

/**
 * Subscribes `listener` to the tier's circuit closing, when the tier reports its circuit
 * (`on('circuit', state)`); returns the unsubscribe function.
 */
function onCircuitClosed(tier: CacheTier, listener: () => void): () => void {
  const candidate = tier as Partial<CircuitReporting>;
  if (typeof candidate.on !== 'function') return () => {};
  const handler = (state: unknown): void => {
    if (state === 'closed') listener();
  };
  let off: unknown;
  try {
    off = candidate.on.call(tier, 'circuit', handler);
  } catch {
    // An `on` for other events (e.g. an EventEmitter-like tier that validates names).
    return () => {};
  }
  if (typeof off === 'function') return () => void (off as () => unknown)();
  return () => {
    try {
      candidate.off?.call(tier, 'circuit', handler);
    } catch {
      // Nothing to unsubscribe from.
    }
  };
}

/**
 * Remembers the keys whose L2 delete (or bus message) failed and does it again: an L2 that
 * kept the old value would otherwise serve it until its TTL to every instance the bus told
 * to drop its L1 copy.
 *
 * A redo runs on an unref'd timer while keys are pending (none when nothing is), and at
 * once when the L2 reports its circuit closed. Each redo first tries the oldest key alone:
 * while L2 is still down that costs one failed call, not one per key (and with `redisTier`
 * that call is the probe that lets the circuit close). Then the other keys are deleted from
 * L2 in parallel, those that succeeded are dropped from this instance's L1, and one `keys`
 * message tells the other instances to drop theirs (again: they may have read the old value
 * back from L2 after the first message).
 *
 * @internal
 */
export class DeleteRedo {
  readonly #host: RedoHost;
  readonly #settings: RedoSettings;
  /** In order of their last failure: the first key is the one whose failure is oldest. */
  readonly #pending = new Map<string, Pending>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;
  #redone = 0;
  #dropped = 0;
  readonly #offCircuit: () => void;

  constructor(host: RedoHost, settings: RedoSettings, l2: CacheTier | undefined) {
    this.#host = host;
    this.#settings = settings;
    // A microtask later: not from inside the tier's own state-change callback.
    this.#offCircuit =
      l2 === undefined
        ? () => {}
        : onCircuitClosed(l2, () => {
            if (this.#pending.size > 0) void Promise.resolve().then(() => this.redo());
          });
  }

  get stats(): RedoStats {
    return { pending: this.#pending.size, redone: this.#redone, dropped: this.#dropped };
  }

  /** The L2 delete of `key` failed. */
  deleteFailed(key: string): void {
    this.#remember(key, true);
  }

  /** A `keys` message failed: every key in it must be published again. */
  publishFailed(keys: readonly string[]): void {
    for (const key of keys) this.#remember(key, false);
  }

  /** Runs a redo now, or joins the one running. Nothing after {@link close}. */
  redo(): Promise<void> {
    return this.#stopped ? Promise.resolve() : this.#redo();
  }

  #redo(): Promise<void> {
    if (this.#running !== undefined) return this.#running;
    if (this.#pending.size === 0) return Promise.resolve();
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const running = this.#round()
      .catch((error: unknown) =>
        // Not expected (every step catches its own failures), but never an unhandled rejection.
        this.#host.log('error', 'redo:error', 'tiercache: redoing failed L2 deletes failed', {
          error,
        }),
      )
      .finally(() => {
        this.#running = undefined;
        this.#schedule();
      });
    this.#running = running;
    return running;
  }

  /**
   * Stops the timer and the circuit subscription, after one last redo of what is pending
   * (bounded by the L2's and the bus's own timeouts, as the writes `close()` waits for).
   * Keys still pending after it are logged at error level and given up.
   */
  async close(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#offCircuit();
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    await this.#running;
    if (this.#pending.size > 0) await this.#redo();
    const left = this.#pending.size;
    if (left > 0) {
      this.#host.log(
        'error',
        'redo:close',
        `tiercache: ${left} keys whose L2 delete or bus message failed are given up at close; other instances may serve their old value until its TTL`,
        { keys: left, sample: [...this.#pending.keys()].slice(0, 10) },
      );
    }
  }

  #remember(key: string, l2: boolean): void {
    const had = this.#pending.get(key);
    if (had !== undefined) {
      // A fresh object, moved to the end: a redo already running keeps the key pending.
      this.#pending.delete(key);
      this.#pending.set(key, { l2: had.l2 || l2 });
    } else {
      if (this.#pending.size >= this.#settings.maxKeys) this.#overflow();
      this.#pending.set(key, { l2 });
    }
    this.#schedule();
  }

  /** Full: the key whose last failure is oldest is given up, loudly. */
  #overflow(): void {
    const oldest = this.#pending.keys().next().value;
    if (oldest === undefined) return;
    this.#pending.delete(oldest);
    this.#dropped++;
    const { maxKeys } = this.#settings;
    const events = this.#host.events;
    if (events.lists['redo:overflow'].length !== 0) {
      events.emit('redo:overflow', { key: oldest, dropped: this.#dropped, maxKeys });
    }
    this.#host.log(
      'error',
      'redo:overflow',
      `tiercache: more than ${maxKeys} keys wait for their failed L2 delete to be redone; "${oldest}" was given up and may be served stale until its TTL (raise redoFailedDeletes.maxKeys, or clear the cache once L2 is back)`,
      { key: oldest, dropped: this.#dropped, maxKeys },
    );
  }

  #schedule(): void {
    if (this.#stopped || this.#timer !== undefined || this.#running !== undefined) return;
    if (this.#pending.size === 0) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.redo();
    }, this.#settings.interval);
    this.#timer.unref?.();
  }

  async #round(): Promise<void> {
    const host = this.#host;
    const snapshot = [...this.#pending];
    const deletes: Array<[string, Pending]> = [];
    const publishOnly: Array<[string, Pending]> = [];
    for (const item of snapshot) (item[1].l2 ? deletes : publishOnly).push(item);

    const done: Array<[string, Pending]> = [];
    const first = deletes[0];
    // The oldest key alone first: while L2 is down, one failed call per redo, not one per key.
    if (first !== undefined && (await host.deleteL2(first[0]))) {
      done.push(first);
      const rest = deletes.slice(1);
      const answered = await Promise.all(rest.map(([key]) => host.deleteL2(key)));
      for (let i = 0; i < rest.length; i++)
        if (answered[i]) done.push(rest[i] as [string, Pending]);
    }
    for (const [key] of done) host.dropLocal(key);
    const toPublish = [...done, ...publishOnly];
    if (toPublish.length === 0) return;
    const published = await host.publish(toPublish.map(([key]) => key));

    const deleted: string[] = [];
    const republished: string[] = [];
    for (const [key, pending] of toPublish) {
      // A failure reported since this redo started (a new object): the key stays as it is.
      if (this.#pending.get(key) !== pending) continue;
      if (!published) {
        // L2 is clean now; only the message is left to send.
        if (pending.l2) this.#pending.set(key, { l2: false });
        continue;
      }
      this.#pending.delete(key);
      (pending.l2 ? deleted : republished).push(key);
    }
    const count = deleted.length + republished.length;
    if (count === 0) return;
    this.#redone += count;
    const pending = this.#pending.size;
    host.log('debug', 'redo:done', `tiercache: redid ${count} failed L2 deletes or bus messages`, {
      deleted: deleted.length,
      republished: republished.length,
      pending,
    });
    const events = host.events;
    if (events.lists['redo:done'].length !== 0) {
      events.emit('redo:done', { deleted, republished, pending });
    }
  }
}
