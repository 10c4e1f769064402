import type { CacheTier, TierReadResult } from '../tier.js';

/** Counts of calls per method, so tests can assert "one L2 GET for 1000 misses". */
export interface TierCalls {
  get: number;
  getMany: number;
  set: number;
  delete: number;
  clear: number;
}

/**
 * A synchronous in-memory {@link CacheTier} on a `Map`, with TTLs read from an injected
 * clock. Test-only: not exported from the package.
 */
export class MapTier implements CacheTier {
  readonly calls: TierCalls = { get: 0, getMany: 0, set: 0, delete: 0, clear: 0 };
  /** The TTL each key was last written with. */
  readonly ttls = new Map<string, number>();
  private readonly data = new Map<string, { value: unknown; expiresAt: number }>();

  constructor(
    readonly name: string,
    private readonly clock: () => number = () => Date.now(),
  ) {}

  get(key: string): unknown {
    this.calls.get++;
    return this.read(key);
  }

  getMany(keys: readonly string[]): TierReadResult[] {
    this.calls.getMany++;
    return keys.map((key) => {
      const value = this.read(key);
      return value === undefined ? { hit: false } : { hit: true, value };
    });
  }

  set(key: string, value: unknown, ttlMs: number): void {
    this.calls.set++;
    if (value === undefined) throw new TypeError('a tier never stores undefined');
    if (!Number.isInteger(ttlMs) || ttlMs <= 0) throw new RangeError(`bad ttl ${ttlMs}`);
    this.ttls.set(key, ttlMs);
    this.data.set(key, { value, expiresAt: this.clock() + ttlMs });
  }

  delete(key: string): boolean {
    this.calls.delete++;
    return this.data.delete(key);
  }

  clear(): void {
    this.calls.clear++;
    this.data.clear();
  }

  /** The live keys (so pattern invalidation can drop only matching L1 entries). */
  keys(): string[] {
    return [...this.data.keys()].filter((key) => this.read(key) !== undefined);
  }

  /** Writes a raw value, bypassing the manager (e.g. a foreign or corrupt entry). */
  put(key: string, value: unknown, ttlMs = 60_000): void {
    this.data.set(key, { value, expiresAt: this.clock() + ttlMs });
  }

  /** The raw stored value (the manager's entry), without counting a call. */
  peek(key: string): unknown {
    return this.read(key);
  }

  get size(): number {
    return this.data.size;
  }

  private read(key: string): unknown {
    const slot = this.data.get(key);
    if (slot === undefined) return undefined;
    if (this.clock() >= slot.expiresAt) {
      this.data.delete(key);
      return undefined;
    }
    return slot.value;
  }
}
