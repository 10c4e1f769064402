import { z } from 'zod';
import { describeValue } from './describe.js';
import { InvalidPolicyError, UnknownPolicyError } from './errors.js';

/** Builds the cache key of one endpoint from its arguments, e.g. `(id: string) => \`agent:${id}\``. */
export type PolicyKeyFn = (...args: never[]) => string;

/** One entry of the table given to {@link defineCachePolicies}. */
export interface CachePolicyDefinition {
  /**
   * Whether responses of this endpoint are cached. A disabled policy is still listed by
   * `invalidatedBy`: entries written before it was disabled must still be dropped.
   * @default true
   */
  enabled?: boolean;
  /** Time to live in **seconds**, a positive integer. */
  ttl: number;
  /**
   * The cache key for the endpoint's arguments. Annotate its parameters: their types flow
   * through to `policies.get(name).key(...)`.
   */
  key: PolicyKeyFn;
  /**
   * Names of the domain events that make these entries stale (`'AGENT_UPDATED'`).
   * @default []
   */
  invalidateOn?: readonly string[];
}

/** The table given to {@link defineCachePolicies}: policy name → definition. */
export type CachePolicyTable = Readonly<Record<string, CachePolicyDefinition>>;

/** A validated policy, with its name and defaults applied. Frozen. */
export interface CachePolicy<N extends string = string, K extends PolicyKeyFn = PolicyKeyFn> {
  /** The policy's name in the table. */
  readonly name: N;
  /** Whether responses are cached. */
  readonly enabled: boolean;
  /** Time to live in seconds. */
  readonly ttl: number;
  /** The key function given in the table, unchanged. */
  readonly key: K;
  /** Events that invalidate these entries, without duplicates. */
  readonly invalidateOn: readonly string[];
}

/** The names of the policies of table `T`. */
export type PolicyName<T> = keyof T & string;

/** The validated policy `N` of table `T`, its key function's parameters preserved. */
export type PolicyOf<T, N extends PolicyName<T>> = CachePolicy<
  N,
  T[N] extends { key: infer K extends PolicyKeyFn } ? K : PolicyKeyFn
>;

/** Any policy of table `T`, as a union discriminated by `name`. */
export type AnyPolicyOf<T> = { [N in PolicyName<T>]: PolicyOf<T, N> }[PolicyName<T>];

/** The event names listed in the `invalidateOn` arrays of table `T`. */
export type PolicyEvent<T> = {
  [N in keyof T]: T[N] extends { invalidateOn?: readonly (infer E)[] } ? E & string : never;
}[keyof T];

/** The validated policy table returned by {@link defineCachePolicies}. Lookups do not allocate. */
export interface CachePolicies<T extends CachePolicyTable> {
  /**
   * The policy named `name`.
   * @throws {UnknownPolicyError} the table has no such policy.
   */
  get<N extends PolicyName<T>>(name: N): PolicyOf<T, N>;
  /** Whether the table defines `name`. */
  has(name: string): name is PolicyName<T>;
  /** Policy names, in table order. */
  names(): readonly PolicyName<T>[];
  /** Every policy, in table order. */
  all(): readonly AnyPolicyOf<T>[];
  /**
   * The policies whose `invalidateOn` lists `event` (disabled ones included), in table order;
   * an empty array for an event no policy lists.
   */
  invalidatedBy(event: PolicyEvent<T> | (string & Record<never, never>)): readonly AnyPolicyOf<T>[];
  /** Every event named in some `invalidateOn`, without duplicates, in first-seen order. */
  events(): readonly PolicyEvent<T>[];
}

const positiveInteger = (iss: { input?: unknown }) =>
  `expected a positive integer (seconds), got ${describeValue(iss.input)}`;

const policySchema = z.strictObject(
  {
    enabled: z
      .boolean({ error: (iss) => `expected a boolean, got ${describeValue(iss.input)}` })
      .optional(),
    ttl: z
      .number({ error: positiveInteger })
      .int({ error: positiveInteger })
      .positive({ error: positiveInteger }),
    key: z.custom<PolicyKeyFn>((value) => typeof value === 'function', {
      error: (iss) => `expected a function building the cache key, got ${describeValue(iss.input)}`,
    }),
    invalidateOn: z
      .array(
        z
          .string({ error: (iss) => `expected an event name, got ${describeValue(iss.input)}` })
          .min(1, { error: 'expected a non-empty event name' }),
        { error: (iss) => `expected an array of event names, got ${describeValue(iss.input)}` },
      )
      .optional(),
  },
  {
    error: (iss) => {
      if (iss.code === 'unrecognized_keys') {
        const hint = iss.keys.includes('keyFn') ? ' (the key function is called "key")' : '';
        return `unknown field ${iss.keys.map((k) => `"${k}"`).join(', ')}${hint}`;
      }
      return `expected a policy object, got ${describeValue(iss.input)}`;
    },
  },
);

const tableSchema = z.record(
  z.string().min(1, { error: 'policy names must not be empty' }),
  policySchema,
  {
    error: (iss) => `expected an object of named policies, got ${describeValue(iss.input)}`,
  },
);

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    out +=
      typeof segment === 'number'
        ? `[${segment}]`
        : out === ''
          ? String(segment)
          : `.${String(segment)}`;
  }
  return out === '' ? 'policies' : out;
}

const EMPTY: readonly never[] = Object.freeze([]);

/**
 * Validates a per-endpoint cache policy table (the guide's `ENDPOINT_CACHE_CONFIG`, with
 * `key` instead of `keyFn`) once, at definition time, and returns typed lookups.
 *
 * @throws {InvalidPolicyError} a policy is invalid; the message names the policy and field,
 * e.g. `GET_AGENT.ttl: expected a positive integer (seconds), got 0`.
 *
 * @example
 * const policies = defineCachePolicies({
 *   GET_AGENT: {
 *     ttl: 300,
 *     key: (id: string) => `agent:${id}`,
 *     invalidateOn: ['AGENT_UPDATED', 'AGENT_DELETED'],
 *   },
 * });
 * policies.get('GET_AGENT').key('abc'); // 'agent:abc'
 * policies.invalidatedBy('AGENT_UPDATED').map((p) => p.name); // ['GET_AGENT']
 */
export function defineCachePolicies<const T extends CachePolicyTable>(table: T): CachePolicies<T> {
  const parsed = tableSchema.safeParse(table);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InvalidPolicyError(`${formatPath(issue.path)}: ${issue.message}`, {
      cause: parsed.error,
    });
  }

  type Name = PolicyName<T>;
  type Any = AnyPolicyOf<T>;
  const byName = new Map<string, Any>();
  const byEvent = new Map<string, Any[]>();
  for (const [name, definition] of Object.entries(parsed.data)) {
    const invalidateOn = Object.freeze([...new Set(definition.invalidateOn ?? [])]);
    const policy = Object.freeze({
      name,
      enabled: definition.enabled ?? true,
      ttl: definition.ttl,
      key: definition.key,
      invalidateOn,
    }) as Any;
    byName.set(name, policy);
    for (const event of invalidateOn) {
      const list = byEvent.get(event);
      if (list) list.push(policy);
      else byEvent.set(event, [policy]);
    }
  }
  for (const list of byEvent.values()) Object.freeze(list);
  const names = Object.freeze([...byName.keys()]) as readonly Name[];
  const all = Object.freeze([...byName.values()]);
  const events = Object.freeze([...byEvent.keys()]) as readonly PolicyEvent<T>[];

  return Object.freeze({
    get<N extends Name>(name: N): PolicyOf<T, N> {
      const policy = byName.get(name);
      if (policy === undefined) {
        throw new UnknownPolicyError(
          `Unknown cache policy ${describeValue(name)}; defined: ${names.join(', ') || '(none)'}`,
        );
      }
      return policy as PolicyOf<T, N>;
    },
    has: (name: string): name is Name => byName.has(name),
    names: () => names,
    all: () => all,
    invalidatedBy: (event: string) => byEvent.get(event) ?? EMPTY,
    events: () => events,
  });
}
