import type { CircuitBreaker, CircuitState } from './circuit-breaker.js';
import { keySlot } from './key-slot.js';

/**
 * A Cluster call's admission: the breaker of the node that owns the key's slot, and whether
 * the call is that breaker's half-open probe. Two are made per node and reused, so judging a
 * call allocates nothing.
 */
export class NodeTicket {
  constructor(
    readonly breaker: CircuitBreaker,
    readonly probe: boolean,
  ) {}
}

interface NodeEntry {
  readonly breaker: CircuitBreaker;
  readonly admitted: NodeTicket;
  readonly probing: NodeTicket;
}

const SEVERITY: Record<CircuitState, number> = { closed: 0, 'half-open': 1, open: 2 };

/**
 * One circuit breaker per Cluster master. A dead master then opens only its own circuit:
 * keys on the healthy masters keep reading from L2 instead of all going to the loader until
 * a single tier-wide circuit closes again. After a failover the slot belongs to the promoted
 * replica, a different node, whose circuit starts closed.
 */
export class NodeBreakers {
  readonly #entries = new Map<string, NodeEntry>();
  readonly #slotOwner: (slot: number) => string | undefined;
  readonly #create: (node: string) => CircuitBreaker;

  /**
   * @param slotOwner `host:port` of the master serving `slot`, as the client knows it
   *   (`undefined` before the slot table is loaded).
   * @param create a breaker for `node`, reporting its own state changes.
   */
  constructor(
    slotOwner: (slot: number) => string | undefined,
    create: (node: string) => CircuitBreaker,
  ) {
    this.#slotOwner = slotOwner;
    this.#create = create;
  }

  /** The breaker entry of the master that owns `fullKey`. */
  forKey(fullKey: string): NodeEntry {
    const node = this.#slotOwner(keySlot(fullKey)) ?? 'unknown';
    let entry = this.#entries.get(node);
    if (entry === undefined) {
      const breaker = this.#create(node);
      entry = {
        breaker,
        admitted: new NodeTicket(breaker, false),
        probing: new NodeTicket(breaker, true),
      };
      this.#entries.set(node, entry);
    }
    return entry;
  }

  /** The worst state of any node's circuit: `'open'` when at least one master is cut off. */
  get state(): CircuitState {
    let worst: CircuitState = 'closed';
    for (const { breaker } of this.#entries.values()) {
      if (SEVERITY[breaker.state] > SEVERITY[worst]) worst = breaker.state;
    }
    return worst;
  }

  /** Every node's circuit state, by `host:port`. */
  states(): Record<string, CircuitState> {
    const out: Record<string, CircuitState> = {};
    for (const [node, { breaker }] of this.#entries) out[node] = breaker.state;
    return out;
  }
}
