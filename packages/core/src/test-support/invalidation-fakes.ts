import type {
  InvalidationBus,
  InvalidationMessage,
  TagVersionStore,
  VersionedTier,
} from '../invalidation.js';
import { MapTier } from './map-tier.js';

/**
 * A test glob matcher: `*` matches any run of characters, everything else is literal. The
 * real, Redis-compatible one is `globMatcher` in `@tiercache/keys`.
 */
export function starMatcher(pattern: string): (key: string) => boolean {
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  const re = new RegExp(`^${source}$`, 's');
  return (key) => re.test(key);
}

/** Connects in-process {@link MemoryBus}es: what one publishes, the others receive. */
export class MemoryBusHub {
  readonly buses: MemoryBus[] = [];

  connect(): MemoryBus {
    const bus = new MemoryBus(this);
    this.buses.push(bus);
    return bus;
  }
}

/**
 * An {@link InvalidationBus} on a {@link MemoryBusHub}: delivers synchronously to the other
 * buses' handlers (never to its own), records what it published, and can be made to fail.
 */
export class MemoryBus implements InvalidationBus {
  readonly published: InvalidationMessage[] = [];
  readonly handlers = new Set<(message: InvalidationMessage) => void>();
  /** When set, `publish` rejects with it. */
  failWith: Error | undefined;

  constructor(private readonly hub: MemoryBusHub) {}

  publish(message: InvalidationMessage): Promise<void> {
    if (this.failWith !== undefined) return Promise.reject(this.failWith);
    this.published.push(message);
    for (const bus of this.hub.buses) if (bus !== this) bus.deliver(message);
    return Promise.resolve();
  }

  subscribe(handler: (message: InvalidationMessage) => void): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  /** Calls this bus's handlers, as if `message` had arrived (or, for `clear`, a reconnect). */
  deliver(message: InvalidationMessage): void {
    for (const handler of this.handlers) handler(message);
  }
}

/** An in-memory {@link TagVersionStore} counting calls; can be made to fail. */
export class MemoryTagStore implements TagVersionStore {
  readonly versions = new Map<string, number>();
  readonly calls = { get: 0, invalidate: 0 };
  /** When set, `get` and `invalidate` reject with it. */
  failWith: Error | undefined;

  get(tags: readonly string[]): Promise<readonly number[]> {
    this.calls.get++;
    if (this.failWith !== undefined) return Promise.reject(this.failWith);
    return Promise.resolve(tags.map((tag) => this.versions.get(tag) ?? 0));
  }

  invalidate(tags: readonly string[]): Promise<readonly number[]> {
    this.calls.invalidate++;
    if (this.failWith !== undefined) return Promise.reject(this.failWith);
    return Promise.resolve(
      tags.map((tag) => {
        const next = (this.versions.get(tag) ?? 0) + 1;
        this.versions.set(tag, next);
        return next;
      }),
    );
  }
}

/**
 * A {@link MapTier} that is also a {@link VersionedTier} and deletes by pattern (`*` only):
 * the in-memory counterpart of `redisTier` for the manager's unit tests.
 */
export class VersionedMapTier extends MapTier implements VersionedTier {
  readonly keyVersions = new Map<string, string>();
  readonly rejectedWrites: string[] = [];
  /** When set, `getVersions` throws it. */
  failVersionsWith: Error | undefined;
  private counter = 0;

  getVersions(keys: readonly string[]): string[] {
    if (this.failVersionsWith !== undefined) throw this.failVersionsWith;
    return keys.map((key) => this.keyVersions.get(key) ?? '');
  }

  setIfVersion(key: string, value: unknown, ttlMs: number, version: string): boolean {
    if ((this.keyVersions.get(key) ?? '') !== version) {
      this.rejectedWrites.push(key);
      return false;
    }
    this.set(key, value, ttlMs);
    return true;
  }

  setVersioned(key: string, value: unknown, ttlMs: number): void {
    this.bump(key);
    this.set(key, value, ttlMs);
  }

  deleteVersioned(key: string): boolean {
    this.bump(key);
    return this.delete(key);
  }

  deleteMatching(pattern: string): number {
    const match = starMatcher(pattern);
    let count = 0;
    for (const key of this.keys()) if (match(key) && this.delete(key)) count++;
    return count;
  }

  private bump(key: string): void {
    this.keyVersions.set(key, `v${++this.counter}`);
  }
}
