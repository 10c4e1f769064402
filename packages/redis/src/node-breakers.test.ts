import { createCodec } from '@tiercache/compression';
import { describe, expect, it } from 'vitest';
import { CircuitBreaker, type CircuitState, REJECT } from './circuit-breaker.js';
import { CommandEngine, type Commands, DOWN, FREE } from './command-engine.js';
import { keySlot } from './key-slot.js';
import { NodeBreakers, NodeTicket } from './node-breakers.js';

// Per-master circuits on a Cluster: the engine judges a call on one key by the circuit of
// the master that owns the key's slot, so one dead master does not cut off the others.

/** Two keys whose slots fall in different halves of the slot space. */
function keysInHalves(): { low: string; high: string } {
  let low: string | undefined;
  let high: string | undefined;
  for (let i = 0; low === undefined || high === undefined; i++) {
    const key = `k${i}`;
    if (keySlot(key) < 8192) low ??= key;
    else high ??= key;
  }
  return { low, high };
}

function cluster(options: { failureThreshold?: number; status?: string } = {}) {
  let now = 0;
  // Slots 0–8191 on master A, the rest on B; `failover()` hands A's slots to A'.
  const owners = { low: '10.0.0.1:7000', high: '10.0.0.2:7000' };
  const changes: Array<[string, CircuitState]> = [];
  const nodes = new NodeBreakers(
    (slot) => (slot < 8192 ? owners.low : owners.high),
    (node) =>
      new CircuitBreaker({
        failureThreshold: options.failureThreshold ?? 3,
        resetTimeout: 1_000,
        clock: () => now,
        onStateChange: (state) => changes.push([node, state]),
      }),
  );
  const raw = { status: options.status ?? 'ready', isCluster: true } as unknown as Commands;
  const engine = new CommandEngine({
    raw,
    codec: createCodec(),
    timeout: 100,
    breaker: undefined,
    nodes,
    batching: false,
  });
  return {
    engine,
    nodes,
    changes,
    advance: (ms: number) => {
      now += ms;
    },
    failover: () => {
      owners.low = '10.0.0.3:7000';
    },
    /** `times` calls on `key`, each failing as a timeout would. */
    fail(key: string, times: number) {
      for (let i = 0; i < times; i++) {
        const gate = engine.gate(key);
        expect(gate).toBeInstanceOf(NodeTicket);
        engine.record(gate as NodeTicket, true);
      }
    },
  };
}

describe('NodeBreakers (Cluster circuits, one per master)', () => {
  const { low, high } = keysInHalves();

  it('opens only the circuit of the master that fails', () => {
    const c = cluster();

    c.fail(low, 3);

    expect(c.engine.gate(low)).toBe(REJECT);
    expect(c.engine.gate(high)).toBeInstanceOf(NodeTicket);
    expect(c.nodes.states()).toEqual({ '10.0.0.1:7000': 'open', '10.0.0.2:7000': 'closed' });
    expect(c.changes).toEqual([['10.0.0.1:7000', 'open']]);
  });

  it("reports the worst master's state as the tier's", () => {
    const c = cluster();
    c.engine.gate(high);
    expect(c.engine.circuitState).toBe('closed');

    c.fail(low, 3);
    expect(c.engine.circuitState).toBe('open');

    c.advance(1_000);
    const probe = c.engine.gate(low);
    expect(probe).toMatchObject({ probe: true });
    expect(c.engine.circuitState).toBe('half-open');
    c.engine.record(probe as NodeTicket, false);
    expect(c.engine.circuitState).toBe('closed');
  });

  it('after a failover, the promoted master starts with a closed circuit', () => {
    const c = cluster();
    c.fail(low, 3);
    expect(c.engine.gate(low)).toBe(REJECT);

    c.failover();

    expect(c.engine.gate(low)).toBeInstanceOf(NodeTicket);
    expect(c.nodes.states()['10.0.0.3:7000']).toBe('closed');
  });

  it('counts successes against the right master only', () => {
    const c = cluster();
    c.fail(low, 2);
    // Successes on B do not reset A's consecutive failures.
    for (let i = 0; i < 5; i++) c.engine.record(c.engine.gate(high) as NodeTicket, false);
    c.fail(low, 1);

    expect(c.engine.gate(low)).toBe(REJECT);
  });

  it('gives an abandoned probe slot back to its master', () => {
    const c = cluster({ failureThreshold: 1 });
    c.fail(low, 1);
    c.advance(1_000);
    const probe = c.engine.gate(low);
    expect(probe).toMatchObject({ probe: true });
    expect(c.engine.gate(low)).toBe(REJECT);

    c.engine.abandon(probe as NodeTicket);

    expect(c.engine.gate(low)).toMatchObject({ probe: true });
  });

  it('admits calls without a key unjudged, and refuses while the client is down', () => {
    expect(cluster().engine.gate()).toBe(FREE);
    const down = cluster({ status: 'reconnecting', failureThreshold: 2 });
    expect(down.engine.gate()).toBe(DOWN);
    expect(down.engine.gate(low)).toBe(DOWN);
    expect(down.engine.gate(low)).toBe(DOWN);
    // A DOWN counts as a failure of that key's master.
    expect(down.nodes.states()).toEqual({ '10.0.0.1:7000': 'open' });
  });
});
