import { InvalidOptionsError, UnknownEventError } from './errors.js';

/**
 * Event name → payload type, e.g. `{ 'agent.updated': { agentId: string } }` (a type alias
 * or an interface).
 */
export type EventMap = object;

/** What one event invalidates. */
export interface InvalidationTargets {
  /** Cache keys to delete. */
  readonly keys?: readonly string[];
  /** Tags to invalidate. */
  readonly tags?: readonly string[];
  /** Redis globs whose keys to delete (escape user input: `glob` or `escapeGlob`). */
  readonly patterns?: readonly string[];
}

/** Everything an event invalidates, deduplicated, as {@link InvalidationRegistry.resolve} returns it. */
export interface ResolvedTargets {
  readonly keys: readonly string[];
  readonly tags: readonly string[];
  readonly patterns: readonly string[];
}

/** Maps a payload to what it invalidates. */
export type InvalidationRule<P> = (payload: P) => InvalidationTargets;

/**
 * The shape of an `@tiercache/ttl` policy that {@link InvalidationRegistry.fromPolicies}
 * reads (a `CachePolicy`).
 */
export interface PolicyLike {
  readonly name: string;
  readonly key: (...args: never[]) => string;
  readonly invalidateOn: readonly string[];
}

/** The shape of `@tiercache/ttl`'s `defineCachePolicies(...)` result this package reads. */
export interface PoliciesLike<P extends PolicyLike> {
  all(): readonly P[];
}

/**
 * For each event, for each policy it invalidates: the policy's keys for a payload, built
 * with the policy's own (typed) `key` function, which is passed in:
 * `(e, { key }) => key(e.agentId)`, or several (`STATUSES.map((s) => key(e.agentId, s))`),
 * or `null` for none (handled by a rule of your own, e.g. a pattern).
 */
export type PolicyKeys<E extends EventMap, P extends PolicyLike> = {
  readonly [K in keyof E]?: {
    readonly [N in P['name']]?: (
      payload: E[K],
      policy: Extract<P, { name: N }>,
    ) => string | readonly string[] | null;
  };
};

const EMPTY: ResolvedTargets = Object.freeze({
  keys: Object.freeze([]),
  tags: Object.freeze([]),
  patterns: Object.freeze([]),
});

/**
 * Event-based invalidation: a typed map from domain events to the cache keys, tags and
 * patterns each one invalidates. Rules come from your own functions (`on`) and from
 * `@tiercache/ttl` endpoint policies (`fromPolicies`: every policy whose `invalidateOn` lists
 * the event has its key rebuilt from the payload). An {@link Invalidator} applies them.
 *
 * @example
 * type Events = { 'agent.updated': { agentId: string } };
 * const registry = invalidationRegistry<Events>()
 *   .on('agent.updated', ({ agentId }) => ({ keys: [CACHE_KEYS.AGENT(agentId)], tags: [`agent:${agentId}`] }));
 */
export class InvalidationRegistry<E extends EventMap> {
  readonly #rules = new Map<string, Array<(payload: object) => InvalidationTargets>>();

  /** Adds a rule for `event` (an event may have several; their targets add up). */
  on<K extends keyof E & string>(event: K, rule: InvalidationRule<E[K]>): this {
    if (typeof event !== 'string' || event === '') {
      throw new InvalidOptionsError('event: expected a non-empty string');
    }
    if (typeof rule !== 'function') throw new InvalidOptionsError(`${event}: expected a function`);
    const list = this.#rules.get(event);
    const r = rule as (payload: object) => InvalidationTargets;
    if (list === undefined) this.#rules.set(event, [r]);
    else list.push(r);
    return this;
  }

  /**
   * Adds a rule per event listed in the policies' `invalidateOn`: the keys of every policy
   * the event invalidates, as `keys[event][policy](payload, policy)` builds them (with the
   * policy's `key`). Policies that are disabled are invalidated too (entries written before
   * still need to go).
   *
   * @throws {InvalidOptionsError} an event invalidates a policy for which `keys` has no
   * function; the message names both.
   */
  fromPolicies<P extends PolicyLike>(policies: PoliciesLike<P>, keys: PolicyKeys<E, P>): this {
    if (typeof policies?.all !== 'function') {
      throw new InvalidOptionsError('policies: expected the result of defineCachePolicies()');
    }
    type Build = (payload: object, policy: P) => string | readonly string[] | null;
    const byEvent = new Map<string, Array<{ policy: P; build: Build }>>();
    const table = keys as Record<string, Record<string, Build> | undefined>;
    for (const policy of policies.all()) {
      for (const event of policy.invalidateOn) {
        const build = table[event]?.[policy.name];
        if (typeof build !== 'function') {
          throw new InvalidOptionsError(
            `keys.${event}.${policy.name}: "${event}" invalidates policy "${policy.name}"; ` +
              'say how to build its keys from the payload (or return null and add a rule with on())',
          );
        }
        const list = byEvent.get(event);
        if (list === undefined) byEvent.set(event, [{ policy, build }]);
        else list.push({ policy, build });
      }
    }
    for (const [event, entries] of byEvent) {
      this.on(
        event as keyof E & string,
        ((payload: object) => {
          const out: string[] = [];
          for (const { policy, build } of entries) {
            const built = build(payload, policy);
            if (typeof built === 'string') out.push(built);
            else if (built !== null && built !== undefined) out.push(...built);
          }
          return { keys: out };
        }) as InvalidationRule<E[keyof E & string]>,
      );
    }
    return this;
  }

  /** The events that have at least one rule. */
  events(): string[] {
    return [...this.#rules.keys()];
  }

  /**
   * What `event` with `payload` invalidates (keys, tags and patterns, each deduplicated).
   * @throws {UnknownEventError} no rule for `event`.
   */
  resolve<K extends keyof E & string>(event: K, payload: E[K]): ResolvedTargets {
    const rules = this.#rules.get(event);
    if (rules === undefined) {
      throw new UnknownEventError(
        `No invalidation rule for event "${String(event)}"; known: ${this.events().join(', ') || '(none)'}`,
      );
    }
    if (rules.length === 0) return EMPTY;
    const keys = new Set<string>();
    const tags = new Set<string>();
    const patterns = new Set<string>();
    for (const rule of rules) {
      const t = rule(payload as object);
      for (const key of t.keys ?? []) keys.add(key);
      for (const tag of t.tags ?? []) tags.add(tag);
      for (const pattern of t.patterns ?? []) patterns.add(pattern);
    }
    return { keys: [...keys], tags: [...tags], patterns: [...patterns] };
  }
}

/** Creates an empty {@link InvalidationRegistry} for the events `E`. */
export function invalidationRegistry<E extends EventMap>(): InvalidationRegistry<E> {
  return new InvalidationRegistry<E>();
}
