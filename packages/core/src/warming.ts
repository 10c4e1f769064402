import { z } from 'zod';
import { asError, type CacheWriter, checkedSet, withTtl } from './checked-set.js';
import { InvalidKeyError, InvalidOptionsError } from './errors.js';
import type { SetOptions } from './options.js';

/** Something that yields items: an array, a `Set`, a generator, an async generator (a DB cursor)… */
export type WarmSource<T> = Iterable<T> | AsyncIterable<T>;

/** A source, or a function that produces one when the spec's turn comes (e.g. runs a query). */
export type WarmSourceInput<T> =
  | WarmSource<T>
  | (() => WarmSource<T> | Promise<WarmSource<T>> | Promise<T[]>);

/** What a warm `load` receives besides the key. */
export interface WarmLoadContext {
  /** Aborted when the warm is aborted (`signal`) or stopped by an error (`stopOnError`). */
  readonly signal: AbortSignal;
}

/**
 * Warms keys one by one: each key from `keys` is loaded with `load` and stored. Use it when
 * the source of truth answers per key (an HTTP API, a per-id query).
 */
export interface WarmKeysSpec<T = unknown> {
  /** Shown in progress reports and the final report. */
  readonly name: string;
  /** The keys to warm (cache keys, as `get` would use them). */
  readonly keys: WarmSourceInput<string>;
  /**
   * Loads the value of one key. `undefined` means "nothing to cache" (counted as skipped);
   * `null` is cached as a negative entry, as with `get`.
   */
  readonly load: (key: string, ctx: WarmLoadContext) => T | Promise<T>;
  /**
   * Fresh TTL in milliseconds for these entries (wins over `set.ttl`).
   * @default the manager's `ttl`
   */
  readonly ttl?: number;
  /**
   * Other `set` options for these entries (`maxStale`, `jitter`, `l1Ttl`…).
   * @default undefined
   */
  readonly set?: SetOptions;
}

/**
 * Warms ready-made entries: each `[key, value]` is stored as is, without a per-key load.
 * Use it to warm from one query (`SELECT … WHERE is_active`) instead of N lookups.
 */
export interface WarmEntriesSpec<T = unknown> {
  /** Shown in progress reports and the final report. */
  readonly name: string;
  /** `[key, value]` pairs (a `Map`, an array, an async generator over query rows…). */
  readonly entries: WarmSourceInput<readonly [string, T]>;
  /**
   * Fresh TTL in milliseconds for these entries (wins over `set.ttl`).
   * @default the manager's `ttl`
   */
  readonly ttl?: number;
  /**
   * Other `set` options for these entries.
   * @default undefined
   */
  readonly set?: SetOptions;
}

/** One set of keys to warm. */
export type WarmSpec = WarmKeysSpec<unknown> | WarmEntriesSpec<unknown>;

/** A key that could not be warmed, and why. */
export interface WarmFailure {
  /** The key, or `undefined` when the spec's source itself failed. */
  readonly key: string | undefined;
  readonly error: Error;
}

/** Progress of one spec: passed to `onProgress`, and part of the final {@link WarmReport}. */
export interface WarmSpecReport {
  readonly name: string;
  /** Items processed so far: `stored + skipped + errors` (a failed source counts one error). */
  readonly done: number;
  /** Entries written to the cache (every tier took them). */
  readonly stored: number;
  /** Keys whose `load` returned `undefined`. */
  readonly skipped: number;
  /** Keys whose load or store failed (including tier failures), plus a failed source. */
  readonly errors: number;
  /** The first failures (up to `maxErrorSamples`). */
  readonly failures: readonly WarmFailure[];
  /** `true` once every item of the spec has been processed (or the warm stopped). */
  readonly finished: boolean;
  /** Milliseconds since the spec started. */
  readonly durationMs: number;
}

/** The result of {@link warm}. */
export interface WarmReport {
  /**
   * `'completed'`: every spec ran to its end (errors are counted, see `errors`);
   * `'aborted'`: `signal` aborted or the cache was closed; `'stopped'`: `stopOnError` and an
   * error happened. Items not reached are simply not warmed.
   */
  readonly status: 'completed' | 'aborted' | 'stopped';
  /** One report per spec, in the order given; specs not reached have `done: 0`. */
  readonly specs: readonly WarmSpecReport[];
  readonly stored: number;
  readonly skipped: number;
  readonly errors: number;
  readonly durationMs: number;
}

/** Options of {@link warm}. */
export interface WarmOptions {
  /**
   * Most loads and stores in flight at once, across all specs: keeps warming from
   * overwhelming the source of truth (size it below its connection pool).
   * @default 16
   */
  readonly concurrency?: number;
  /** Stops the warm: no new items start, in-flight ones finish, the report says `'aborted'`. */
  readonly signal?: AbortSignal;
  /**
   * Called with a spec's progress every `progressEvery` items and once when it finishes. A
   * throwing callback is ignored.
   * @default undefined
   */
  readonly onProgress?: (progress: WarmSpecReport) => void;
  /**
   * Items between two progress reports of one spec.
   * @default 100
   */
  readonly progressEvery?: number;
  /**
   * Stop the whole warm at the first failed key (status `'stopped'`). By default a failed
   * key is counted and the warm goes on.
   * @default false
   */
  readonly stopOnError?: boolean;
  /**
   * Failures kept per spec in `failures` (all are counted in `errors`).
   * @default 10
   */
  readonly maxErrorSamples?: number;
  /**
   * Millisecond clock for `durationMs`.
   * @default performance.now
   */
  readonly clock?: () => number;
}

const fn = (message: string) =>
  z.custom<(...args: never[]) => unknown>((v) => typeof v === 'function', message);

const optionsSchema = z.strictObject({
  concurrency: z.number().int().positive().optional(),
  signal: z
    .custom<AbortSignal>((v) => v instanceof AbortSignal, 'expected an AbortSignal')
    .optional(),
  onProgress: fn('expected a function').optional(),
  progressEvery: z.number().int().positive().optional(),
  stopOnError: z.boolean().optional(),
  maxErrorSamples: z.number().int().min(0).optional(),
  clock: fn('expected a function').optional(),
});

function invalid(message: string, cause?: unknown): InvalidOptionsError {
  return new InvalidOptionsError(message, cause === undefined ? undefined : { cause });
}

function parseOptions(options: WarmOptions): WarmOptions {
  const result = optionsSchema.safeParse(options);
  if (result.success) return options;
  const issue = result.error.issues[0];
  let field = issue?.path.join('.') ?? '';
  if (issue?.code === 'unrecognized_keys') field = issue.keys.join(', ');
  throw invalid(`Invalid warm option "${field}": ${issue?.message}`, result.error);
}

function isSource(value: unknown): boolean {
  return (
    typeof value === 'function' ||
    (typeof value === 'object' &&
      value !== null &&
      (Symbol.iterator in value || Symbol.asyncIterator in value))
  );
}

function checkSpecs(specs: readonly WarmSpec[]): void {
  if (!Array.isArray(specs)) throw invalid('Invalid warm specs: expected an array');
  specs.forEach((spec: Partial<WarmKeysSpec & WarmEntriesSpec>, i) => {
    const at = `specs[${i}]`;
    if (typeof spec !== 'object' || spec === null)
      throw invalid(`Invalid ${at}: expected an object`);
    if (typeof spec.name !== 'string' || spec.name === '') {
      throw invalid(`Invalid ${at}.name: expected a non-empty string`);
    }
    const hasKeys = spec.keys !== undefined;
    if (hasKeys === (spec.entries !== undefined)) {
      throw invalid(`Invalid ${at} ("${spec.name}"): give exactly one of keys or entries`);
    }
    if (!isSource(hasKeys ? spec.keys : spec.entries)) {
      throw invalid(
        `Invalid ${at}.${hasKeys ? 'keys' : 'entries'}: expected an iterable, an async iterable or a function`,
      );
    }
    if (hasKeys && typeof spec.load !== 'function') {
      throw invalid(`Invalid ${at}.load: expected a function (keys need a loader)`);
    }
    if (
      spec.ttl !== undefined &&
      !(typeof spec.ttl === 'number' && spec.ttl > 0 && Number.isFinite(spec.ttl))
    ) {
      throw invalid(`Invalid ${at}.ttl: expected a positive finite number of milliseconds`);
    }
  });
}

async function openSource<T>(input: WarmSourceInput<T>): Promise<Iterator<T> | AsyncIterator<T>> {
  const source = typeof input === 'function' ? await input() : input;
  if (typeof source === 'object' && source !== null) {
    if (Symbol.asyncIterator in source) return (source as AsyncIterable<T>)[Symbol.asyncIterator]();
    if (Symbol.iterator in source) return (source as Iterable<T>)[Symbol.iterator]();
  }
  throw new TypeError('a warm source function must return an iterable or an async iterable');
}

/** Mutable progress of one spec. */
class SpecRun {
  stored = 0;
  skipped = 0;
  errors = 0;
  readonly failures: WarmFailure[] = [];
  /** Items pulled from the source and not yet finished. */
  pending = 0;
  exhausted = false;
  finished = false;
  started: number | undefined;
  ended: number | undefined;

  constructor(
    readonly spec: WarmSpec,
    readonly setOptions: SetOptions | undefined,
  ) {}

  get done(): number {
    return this.stored + this.skipped + this.errors;
  }

  report(now: number): WarmSpecReport {
    const start = this.started ?? now;
    return {
      name: this.spec.name,
      done: this.done,
      stored: this.stored,
      skipped: this.skipped,
      errors: this.errors,
      failures: [...this.failures],
      finished: this.finished,
      durationMs: (this.ended ?? now) - start,
    };
  }
}

type Item = { run: SpecRun; value: unknown };

const noop = (): void => {};

/**
 * Loads sets of keys from the source of truth into `cache` with bounded concurrency, so a
 * fresh instance (or a flushed Redis) does not send its first users to the database.
 *
 * Specs run in the order given (put the most valuable first); at most `concurrency` loads
 * and stores are in flight at any time, across specs. A key whose load or store fails
 * (tier failures included) is counted in its spec's `errors` and the warm goes on, unless
 * `stopOnError`. Never rejects for a failed key or source: the returned report says what
 * happened. Rejects only for invalid specs or options (`InvalidOptionsError`).
 *
 * @example
 * ```ts
 * const report = await warm(cache, [
 *   { name: 'active-agents', entries: async () => (await db.query(ACTIVE)).rows.map((r) => [`agent:${r.id}`, r] as const) },
 *   { name: 'sessions', keys: sessionIds, load: (key) => db.findSession(key) },
 * ], { concurrency: 8, signal: AbortSignal.timeout(30_000), onProgress: (p) => log.info(p) });
 * ```
 */
export async function warm(
  cache: CacheWriter,
  specs: readonly WarmSpec[],
  options: WarmOptions = {},
): Promise<WarmReport> {
  const o = parseOptions(options);
  checkSpecs(specs);
  const concurrency = o.concurrency ?? 16;
  const progressEvery = o.progressEvery ?? 100;
  const maxSamples = o.maxErrorSamples ?? 10;
  const clock = o.clock ?? (() => performance.now());
  const onProgress = o.onProgress;
  const startedAt = clock();

  const runs = specs.map((spec) => new SpecRun(spec, withTtl(spec.set, spec.ttl)));
  const controller = new AbortController();
  let status: WarmReport['status'] = 'completed';
  const stop = (why: 'aborted' | 'stopped', reason?: unknown): void => {
    if (status !== 'completed') return;
    status = why;
    controller.abort(reason);
  };
  const external = o.signal;
  const onAbort = (): void => stop('aborted', external?.reason);
  if (external?.aborted) onAbort();
  else external?.addEventListener('abort', onAbort, { once: true });

  const progress = (run: SpecRun): void => {
    if (onProgress === undefined) return;
    try {
      onProgress(run.report(clock()));
    } catch {
      // A progress callback is for reporting; it must not break the warm.
    }
  };
  const finishIfDone = (run: SpecRun): void => {
    if (run.finished || !run.exhausted || run.pending !== 0) return;
    run.finished = true;
    run.ended = clock();
    progress(run);
  };
  const fail = (run: SpecRun, key: string | undefined, cause: unknown): void => {
    run.errors++;
    if (run.failures.length < maxSamples) run.failures.push({ key, error: asError(cause) });
    if ((cause as { code?: unknown } | null)?.code === 'E_CACHE_CLOSED') stop('aborted', cause);
    else if (o.stopOnError === true) stop('stopped', cause);
  };

  // Pulls are chained so that one spec's source is read by one caller at a time and moving
  // on to the next spec happens once, whatever the number of workers.
  let index = 0;
  let iterator: Iterator<unknown> | AsyncIterator<unknown> | undefined;
  const closeIterator = async (): Promise<void> => {
    const it = iterator;
    iterator = undefined;
    try {
      await it?.return?.();
    } catch {
      // Closing a source that already failed may fail again; nothing left to report.
    }
  };
  const pullOne = async (): Promise<Item | undefined> => {
    while (index < runs.length && status === 'completed') {
      const run = runs[index] as SpecRun;
      const spec = run.spec as Partial<WarmKeysSpec & WarmEntriesSpec>;
      try {
        if (iterator === undefined) {
          run.started ??= clock();
          iterator = await openSource((spec.keys ?? spec.entries) as WarmSourceInput<unknown>);
        }
        const next = await iterator.next();
        if (next.done !== true) {
          run.pending++;
          return { run, value: next.value };
        }
      } catch (error) {
        fail(run, undefined, error);
        await closeIterator();
      }
      iterator = undefined;
      run.exhausted = true;
      finishIfDone(run);
      index++;
    }
    if (iterator !== undefined) await closeIterator();
    return undefined;
  };
  let chain: Promise<unknown> = Promise.resolve();
  const pull = (): Promise<Item | undefined> => {
    const next = chain.then(pullOne);
    chain = next.catch(noop);
    return next;
  };

  const processItem = async ({ run, value }: Item): Promise<void> => {
    const spec = run.spec as Partial<WarmKeysSpec & WarmEntriesSpec>;
    let key: string | undefined;
    try {
      let toStore: unknown;
      if (spec.load !== undefined) {
        key = value as string;
        if (typeof key !== 'string' || key === '') {
          throw new InvalidKeyError(`Invalid key from "${run.spec.name}": ${String(key)}`);
        }
        toStore = await spec.load(key, { signal: controller.signal });
      } else {
        const pair = value as readonly [string, unknown] | undefined;
        key = Array.isArray(pair) ? pair[0] : undefined;
        if (typeof key !== 'string' || key === '') {
          throw new InvalidKeyError(
            `Invalid entry from "${run.spec.name}": expected [key, value] with a non-empty string key`,
          );
        }
        toStore = (pair as readonly [string, unknown])[1];
      }
      if (toStore === undefined) {
        run.skipped++;
      } else {
        const failure = await checkedSet(cache, key, toStore, run.setOptions);
        if (failure === undefined) run.stored++;
        else fail(run, key, failure);
      }
    } catch (error) {
      fail(run, key, error);
    }
    run.pending--;
    if (run.done % progressEvery === 0 && !run.finished) progress(run);
    finishIfDone(run);
  };

  const worker = async (): Promise<void> => {
    for (let item = await pull(); item !== undefined; item = await pull()) {
      await processItem(item);
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    external?.removeEventListener('abort', onAbort);
  }

  const now = clock();
  for (const run of runs) {
    if (run.started !== undefined && !run.finished) {
      // Stopped early: the spec ends here, with what it had done.
      run.finished = true;
      run.ended = now;
      progress(run);
    }
  }
  const reports = runs.map((run) => run.report(now));
  let stored = 0;
  let skipped = 0;
  let errors = 0;
  for (const r of reports) {
    stored += r.stored;
    skipped += r.skipped;
    errors += r.errors;
  }
  return { status, specs: reports, stored, skipped, errors, durationMs: now - startedAt };
}
