/*
 * Test helpers (not exported from the package): a map-backed L2 tier, a fake circuit tier
 * and a fake event source.
 */

type Listener = (payload: never) => void;

/** A synchronous L2 tier on a Map, without TTLs: enough to see L2 hits. */
export class MapTier {
  readonly data = new Map<string, unknown>();
  constructor(readonly name: string) {}
  get(key: string): unknown {
    return this.data.get(key);
  }
  getMany(keys: readonly string[]) {
    return keys.map((key) =>
      this.data.has(key)
        ? { hit: true as const, value: this.data.get(key) }
        : { hit: false as const },
    );
  }
  set(key: string, value: unknown): void {
    this.data.set(key, value);
  }
  delete(key: string): boolean {
    return this.data.delete(key);
  }
  clear(): void {
    this.data.clear();
  }
}

/** A tier that fails every call with an error carrying `code`. */
export class FailingTier extends MapTier {
  constructor(
    name: string,
    readonly code: string,
  ) {
    super(name);
  }
  override get(): unknown {
    throw Object.assign(new Error(`${this.name} failed`), { code: this.code });
  }
  override set(): void {
    throw Object.assign(new Error(`${this.name} failed`), { code: this.code });
  }
}

/** A Redis-tier look-alike whose circuit state the test drives. */
export class FakeCircuitTier extends MapTier {
  circuitState = 'closed';
  readonly #listeners = new Set<(state: string) => void>();
  on(_event: 'circuit', listener: (state: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
  transition(state: string): void {
    this.circuitState = state;
    for (const l of this.#listeners) l(state);
  }
  get listenerCount(): number {
    return this.#listeners.size;
  }
}

/** An event source with the shape of a CacheManager's `on`. */
export class FakeEvents {
  readonly #listeners = new Map<string, Set<Listener>>();
  on(event: string, listener: Listener): () => void {
    let set = this.#listeners.get(event);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener);
    return () => set.delete(listener);
  }
  emit(event: string, payload: unknown): void {
    for (const l of this.#listeners.get(event) ?? []) (l as (p: unknown) => void)(payload);
  }
  listenerCount(): number {
    let n = 0;
    for (const set of this.#listeners.values()) n += set.size;
    return n;
  }
}

/** A logger that drops everything. */
export const silentLogger = { warn() {}, error() {}, debug() {} };
