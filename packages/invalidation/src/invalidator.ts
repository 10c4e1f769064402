import { tenantPattern as defaultTenantPattern, type KeySegment } from '@tiercache/keys';
import { z } from 'zod';
import { InvalidOptionsError } from './errors.js';
import type { EventMap, InvalidationRegistry, ResolvedTargets } from './event-registry.js';
import { hasFunctions, parseOptions } from './options.js';
import type { InvalidationTarget } from './types.js';

/** Options of {@link createInvalidator}. */
export interface InvalidatorOptions<E extends EventMap> {
  /**
   * The cache to invalidate: a `CacheManager` of `@tiercache/core` with a `bus` (so other
   * instances' L1 follow), `tagVersions` (for tags) and an L2 with `deleteMatching` (for
   * patterns).
   */
  cache: InvalidationTarget;
  /**
   * What each event invalidates, for {@link Invalidator.emit}.
   * @default undefined (emit rejects)
   */
  events?: InvalidationRegistry<E>;
  /**
   * Builds a tenant's pattern for {@link Invalidator.clearTenant}; pass your key builder's
   * (`createKeyBuilder({ prefix }).tenantPattern`) when tenant keys carry a prefix.
   * @default tenantPattern from `@tiercache/keys` (`t:<escaped id>:*`)
   */
  tenantPattern?: (tenantId: KeySegment) => string;
}

/** What {@link Invalidator.emit} did. */
export interface EmitResult extends ResolvedTargets {
  /** Keys a tier held among `keys`, plus keys deleted by `patterns`. */
  readonly deleted: number;
}

const schema = z.strictObject({
  cache: z.custom<InvalidationTarget>(
    (value) => hasFunctions(value, ['deleteMany', 'invalidateTags', 'invalidatePattern']),
    'expected a CacheManager (deleteMany, invalidateTags, invalidatePattern)',
  ),
  events: z
    .custom<InvalidationRegistry<EventMap>>(
      (value) => hasFunctions(value, ['resolve']),
      'expected an InvalidationRegistry',
    )
    .optional(),
  tenantPattern: z
    .custom<(id: KeySegment) => string>((v) => typeof v === 'function', 'expected a function')
    .optional(),
});

/**
 * The invalidation strategies in one place, over a `CacheManager`: by key, by tag, by
 * pattern, by tenant, and by domain event. Each call resolves once L2 is invalidated and the
 * bus message is published (other instances drop their L1 entries when it reaches them).
 */
export class Invalidator<E extends EventMap = EventMap> {
  readonly #cache: InvalidationTarget;
  readonly #events: InvalidationRegistry<E> | undefined;
  readonly #tenantPattern: (tenantId: KeySegment) => string;

  /** Prefer {@link createInvalidator}. Throws `InvalidOptionsError` for bad options. */
  constructor(options: InvalidatorOptions<E>) {
    const o = parseOptions('createInvalidator', schema, options);
    this.#cache = o.cache;
    this.#events = o.events as InvalidationRegistry<E> | undefined;
    this.#tenantPattern = o.tenantPattern ?? defaultTenantPattern;
  }

  /** Deletes keys everywhere (L2, this L1, other instances' L1); resolves to how many existed. */
  invalidate(keys: string | readonly string[]): Promise<number> {
    return this.#cache.deleteMany(typeof keys === 'string' ? [keys] : keys);
  }

  /** Invalidates every entry tagged `tag`, everywhere (one version bump). */
  invalidateTag(tag: string): Promise<void> {
    return this.#cache.invalidateTags([tag]);
  }

  /** Invalidates every entry tagged with any of `tags`, everywhere. */
  invalidateTags(tags: readonly string[]): Promise<void> {
    return this.#cache.invalidateTags(tags);
  }

  /**
   * Deletes every key matching the Redis glob `pattern` (SCAN + batched UNLINK on every
   * master, never KEYS) and the matching L1 entries everywhere; resolves to how many L2 keys
   * were deleted. `pattern` is trusted glob syntax: build it with {@link glob} (or
   * `escapeGlob`) when it contains user input.
   */
  invalidatePattern(pattern: string): Promise<number> {
    return this.#cache.invalidatePattern(pattern);
  }

  /**
   * Deletes every key of one tenant (`t:<tenantId>:*`, the id escaped so `acme*` or `[x]`
   * cannot reach another tenant's keys); resolves to how many L2 keys were deleted.
   */
  clearTenant(tenantId: KeySegment): Promise<number> {
    return this.#cache.invalidatePattern(this.#tenantPattern(tenantId));
  }

  /**
   * Applies what the registry maps `event` to: its keys, tags and patterns, all at once.
   * Resolves when every one is invalidated in L2 and published on the bus.
   * @throws {UnknownEventError} the registry has no rule for `event`.
   */
  async emit<K extends keyof E & string>(event: K, payload: E[K]): Promise<EmitResult> {
    const events = this.#events;
    if (events === undefined) {
      throw new InvalidOptionsError('emit() needs the "events" option (an InvalidationRegistry)');
    }
    const targets = events.resolve(event, payload);
    const [fromKeys, , ...fromPatterns] = await Promise.all([
      targets.keys.length > 0 ? this.#cache.deleteMany(targets.keys) : 0,
      targets.tags.length > 0 ? this.#cache.invalidateTags(targets.tags) : undefined,
      ...targets.patterns.map((pattern) => this.#cache.invalidatePattern(pattern)),
    ]);
    let deleted = fromKeys as number;
    for (const n of fromPatterns) deleted += n as number;
    return { ...targets, deleted };
  }
}

/**
 * Creates an {@link Invalidator} over a cache.
 *
 * @example
 * const invalidator = createInvalidator({ cache, events: registry });
 * await invalidator.emit('agent.updated', { agentId: '42' });
 * await invalidator.clearTenant('acme');
 */
export function createInvalidator<E extends EventMap = EventMap>(
  options: InvalidatorOptions<E>,
): Invalidator<E> {
  return new Invalidator<E>(options);
}
