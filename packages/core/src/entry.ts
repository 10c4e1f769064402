import { isTagStamp, type TagStamp } from './tag-state.js';

/**
 * What {@link CacheManager} stores in every tier: the value plus the timestamps it needs to
 * decide fresh / stale / expired and when to refresh early. The field names are one letter
 * because the entry is JSON-encoded into Redis for every key.
 *
 * Timestamps are absolute milliseconds of the manager's `clock`. Instances sharing an L2
 * therefore assume roughly synchronised clocks (NTP); a skew of `s` ms shifts freshness by
 * `s` ms.
 *
 * @internal Not exported from the package: the layout is an implementation detail.
 */
export class Entry {
  constructor(
    /** The cached value; never `undefined` (`null` is a value). */
    readonly v: unknown,
    /** When the value was stored. */
    readonly c: number,
    /** Fresh until this instant. */
    readonly f: number,
    /** May be served stale (revalidating or fail-safe) until this instant; never after. */
    readonly s: number,
    /** How long the load that produced the value took (XFetch's delta); 0 for `set`. */
    readonly d: number,
    /**
     * The versions of the entry's tags when its load started (tag invalidation); `undefined`
     * for an untagged entry, which then costs nothing in Redis (JSON omits it).
     */
    readonly t?: TagStamp,
  ) {}
}

/**
 * Returns `raw` as an {@link Entry}, or `undefined` when it is not one. Values decoded from
 * L2 are plain objects; they are rebuilt as `Entry` so L1 only ever holds one object shape
 * (keeps the L1-hit path monomorphic).
 */
export function toEntry(raw: unknown): Entry | undefined {
  if (raw instanceof Entry) return raw;
  if (typeof raw !== 'object' || raw === null) return undefined;
  const o = raw as { v?: unknown; c?: unknown; f?: unknown; s?: unknown; d?: unknown; t?: unknown };
  const { v, c, f, s, d, t } = o;
  if (
    v === undefined ||
    typeof c !== 'number' ||
    typeof f !== 'number' ||
    typeof s !== 'number' ||
    typeof d !== 'number' ||
    !(s >= f) ||
    (t !== undefined && !isTagStamp(t))
  ) {
    return undefined;
  }
  return new Entry(v, c, f, s, d, t);
}
