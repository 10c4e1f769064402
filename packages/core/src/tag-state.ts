/** Tag → version, as stamped on an entry. */
export type TagStamp = Readonly<Record<string, number>>;

interface Known {
  v: number;
  /** When this version was learnt (manager clock), to forget it once no L1 entry can predate it. */
  at: number;
}

/**
 * The newest tag versions this process has heard of: from its own `invalidateTags` and from
 * `tags` messages on the bus. An L1 entry stamped with an older version of one of its tags
 * is stale. Only invalidated tags are remembered, so a tag nobody invalidates costs nothing.
 *
 * Versions only move forward (a message that arrives late never lowers one). The map is
 * bounded: past `max` tags, versions learnt longer ago than the longest L1 lifetime are
 * forgotten (no L1 entry can be older than that); if that is not enough, {@link raise}
 * reports it and the manager clears L1 and this map together, which is always safe.
 *
 * @internal
 */
export class TagState {
  private readonly known = new Map<string, Known>();

  constructor(private readonly max: number) {}

  get size(): number {
    return this.known.size;
  }

  /** Whether an entry stamped `stamp` is older than what this process knows of a tag. */
  isStale(stamp: TagStamp): boolean {
    const known = this.known;
    if (known.size === 0) return false;
    for (const tag in stamp) {
      const k = known.get(tag);
      if (k !== undefined && k.v > (stamp[tag] as number)) return true;
    }
    return false;
  }

  /**
   * Records that `tags[i]` reached `versions[i]`. Returns `false` when the map is full even
   * after forgetting versions learnt before `now - horizon`: the caller must then clear L1
   * and call {@link clear}.
   */
  raise(
    tags: readonly string[],
    versions: readonly number[],
    now: number,
    horizon: number,
  ): boolean {
    const known = this.known;
    for (let i = 0; i < tags.length; i++) {
      const tag = tags[i] as string;
      const v = versions[i];
      if (typeof v !== 'number' || !Number.isFinite(v)) continue;
      const k = known.get(tag);
      if (k === undefined) known.set(tag, { v, at: now });
      else if (v > k.v) {
        k.v = v;
        k.at = now;
      }
    }
    if (known.size <= this.max) return true;
    const before = now - horizon;
    for (const [tag, k] of known) if (k.at < before) known.delete(tag);
    return known.size <= this.max;
  }

  clear(): void {
    this.known.clear();
  }
}

/** Whether `value` is a tag stamp: a plain object of finite numbers. */
export function isTagStamp(value: unknown): value is TagStamp {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  for (const tag in value) {
    const v = (value as Record<string, unknown>)[tag];
    if (typeof v !== 'number' || !Number.isFinite(v)) return false;
  }
  return true;
}
