import { positiveInt } from './options.js';

/** Keys read from the source of truth, e.g. an async generator over a paged SQL query. */
export type RebuildSource = AsyncIterable<string> | Iterable<string>;

/** Options of {@link rebuild}. */
export interface RebuildOptions {
  /**
   * Items between two pauses: an in-process rebuild yields to the event loop, a shared one
   * also renews its rebuild lease in Redis.
   * @default 10_000
   */
  batchSize?: number;
}

/** A filter that can be rebuilt from the source of truth: both built-in filters are. */
export interface Rebuildable {
  rebuild(source: RebuildSource, options?: RebuildOptions): Promise<number>;
}

/**
 * Replaces the contents of `filter` with exactly the keys of `source` and resolves to the
 * number of keys read. This is how a Bloom filter "deletes": it cannot remove a key, so
 * rebuild it from the source of truth periodically (and whenever it has grown past its
 * `expectedItems`). Readers never see a half-built filter — the new bits are swapped in at
 * once (a `RENAME` in Redis) — and keys added while the rebuild runs are kept.
 */
export function rebuild(
  filter: Rebuildable,
  source: RebuildSource,
  options?: RebuildOptions,
): Promise<number> {
  return filter.rebuild(source, options);
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Feeds every key of `source` to `onKey`, and awaits `onBatch` (or a macrotask, so a large
 * synchronous source does not starve the event loop) after each `batchSize` keys.
 */
export async function consume(
  source: RebuildSource,
  options: RebuildOptions | undefined,
  onKey: (key: string) => void,
  onBatch: () => Promise<void> = yieldToEventLoop,
): Promise<number> {
  const batchSize = positiveInt('rebuild', 'batchSize', options?.batchSize ?? 10_000);
  let count = 0;
  let inBatch = 0;
  // A sync iterable is walked without `for await`, which would cost a microtask per key.
  if (Symbol.asyncIterator in source) {
    for await (const key of source) {
      onKey(key);
      count++;
      if (++inBatch === batchSize) {
        inBatch = 0;
        await onBatch();
      }
    }
  } else {
    for (const key of source) {
      onKey(key);
      count++;
      if (++inBatch === batchSize) {
        inBatch = 0;
        await onBatch();
      }
    }
  }
  return count;
}
