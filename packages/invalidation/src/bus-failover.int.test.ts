import {
  type RedisClusterServer,
  type RedisSentinelServer,
  type RedisServer,
  startRedisCluster,
  startRedisSentinel,
} from '@tiercache/test-servers';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type RedisBus, redisBus } from './redis-bus.js';
import type { InvalidationMessage } from './types.js';

// The invalidation bus through a failover: pub/sub is fire-and-forget, so messages published
// while the subscriber is away are lost; what the bus promises instead is that every
// subscriber is told to clear its L1 when its connection drops and again once it is
// subscribed anew, and that delivery resumes. Measured on Sentinel and on a Cluster whose
// master carrying the subscription is killed.

/** How long before the kill an acknowledged message may still be in transit. */
const IN_FLIGHT_MS = 100;
const clients: Array<Redis | Cluster> = [];
const buses: RedisBus[] = [];
const logger = { warn: () => {}, error: () => {}, debug: () => {} };

function track<T extends Redis | Cluster>(client: T): T {
  client.on('error', () => {});
  clients.push(client);
  return client;
}

afterAll(async () => {
  await Promise.all(buses.map((b) => b.close()));
  for (const client of clients) client.disconnect();
});

async function pair(connect: () => Redis | Cluster) {
  const publisher = redisBus({ client: track(connect()), instanceId: 'pub', logger });
  const subscriber = redisBus({ client: track(connect()), instanceId: 'sub', logger });
  buses.push(publisher, subscriber);
  const got: Array<{ message: InvalidationMessage; at: number }> = [];
  subscriber.subscribe((message) => got.push({ message, at: performance.now() }));
  const clears: Array<{ reason: string; at: number }> = [];
  subscriber.on('reconnect-clear', ({ reason }) => clears.push({ reason, at: performance.now() }));
  await Promise.all([publisher.ready(), subscriber.ready()]);
  return { publisher, subscriber, got, clears };
}

/**
 * Publishes every 10 ms until stopped; returns the keys whose publish Redis acknowledged, with
 * when each PUBLISH was sent (`sentAt`) and when its acknowledgement reached us (`at`).
 */
function publishing(bus: RedisBus) {
  const acked: Array<{ key: string; sentAt: number; at: number }> = [];
  let refused = 0;
  let stop = false;
  const done = (async () => {
    for (let i = 0; !stop; i++) {
      const key = `k${i}`;
      const sentAt = performance.now();
      try {
        await bus.publish({ type: 'keys', keys: [key] });
        acked.push({ key, sentAt, at: performance.now() });
      } catch {
        refused += 1;
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();
  return {
    acked,
    refused: () => refused,
    stop: async () => {
      stop = true;
      await done;
    },
  };
}

function keysOf(got: Array<{ message: InvalidationMessage }>): Set<string> {
  const keys = new Set<string>();
  for (const { message } of got) {
    if (message.type === 'keys') for (const key of message.keys) keys.add(key);
  }
  return keys;
}

async function throughFailover(
  name: string,
  buses: Awaited<ReturnType<typeof pair>>,
  failover: () => Promise<{ ms: number }>,
): Promise<void> {
  const { publisher, got, clears } = buses;
  const pub = publishing(publisher);
  await vi.waitFor(() => expect(got.length).toBeGreaterThan(10));
  const killedAt = performance.now();
  let failoverMs = 0;
  try {
    failoverMs = (await failover()).ms;
    // Delivery resumes: a message acknowledged after the resubscription arrives.
    await vi.waitFor(
      () => {
        const back = clears.find((c) => c.reason === 'reconnected');
        expect(back).toBeDefined();
        expect(got.some((g) => g.at > (back?.at ?? Number.POSITIVE_INFINITY))).toBe(true);
      },
      { timeout: 20_000, interval: 20 },
    );
  } finally {
    await pub.stop();
  }
  // The last acknowledged messages may still be on their way (through the cluster bus, on a
  // Cluster): give them a moment before counting what was lost.
  await vi
    .waitFor(() => expect(pub.acked.every((a) => keysOf(got).has(a.key))).toBe(true), {
      timeout: 2_000,
      interval: 50,
    })
    .catch(() => {});
  const received = keysOf(got);
  const back = clears.find((c) => c.reason === 'reconnected');
  const dropped = clears.find((c) => c.reason === 'disconnected');
  const lost = pub.acked.filter((a) => !received.has(a.key));
  console.info(
    `[scale] ${JSON.stringify({
      test: `bus, ${name}`,
      failoverMs,
      published: pub.acked.length,
      refusedPublishes: pub.refused(),
      lostAcknowledged: lost.length,
      lostSentAfterResubscribe: lost.filter((a) => a.sentAt > (back?.at ?? 0)).length,
      clearReasons: clears.map((c) => c.reason),
      clearOnDropAfterKillMs: Math.round((dropped?.at ?? 0) - killedAt),
      resubscribedAfterKillMs: Math.round((back?.at ?? 0) - killedAt),
    })}`,
  );
  // The subscriber was told to clear L1 when it lost the connection and after it came back.
  expect(dropped).toBeDefined();
  expect(back).toBeDefined();
  // Only messages published during the failover can be missing: none acknowledged well
  // before the kill (one acknowledged just before it may still have been on its way to the
  // subscriber's node), none sent after the subscriber was subscribed again and had cleared
  // its L1. A PUBLISH sent before that may be acknowledged after it (it ran before the
  // SUBSCRIBE; its acknowledgement reached us later): the clear covers it.
  for (const a of lost) {
    expect(a.at).toBeGreaterThanOrEqual(killedAt - IN_FLIGHT_MS);
    expect(a.sentAt).toBeLessThanOrEqual(back?.at ?? 0);
  }
}

describe('redisBus on Sentinel through a failover', { timeout: 120_000 }, () => {
  let group: RedisSentinelServer;
  // Starting the group and the failover each take seconds, more on a loaded machine (the
  // sentinels learn of each other every 2 s; a split election retries after 2× the
  // failover-timeout): neither belongs in the test's own time budget.
  beforeAll(async () => {
    group = await startRedisSentinel({ replicas: 1, sentinels: 3 });
  }, 120_000);
  afterAll(() => group?.stop());

  it('tells subscribers to clear L1 and delivers again on the promoted master', async () => {
    const b = await pair(
      () => new Redis({ sentinels: group.sentinels, name: group.name, maxRetriesPerRequest: 1 }),
    );
    await throughFailover('Sentinel failover', b, () => group.failover());
  });
});

describe('redisBus on a Cluster through a failover', { timeout: 120_000 }, () => {
  let cluster: RedisClusterServer;
  afterAll(() => cluster?.stop());

  it('moves the subscription off the dead master, clears L1, delivers again', async () => {
    cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
    const b = await pair(
      () => new Cluster(cluster.startupNodes, { redisOptions: { maxRetriesPerRequest: 1 } }),
    );
    // Kill the master the subscriber's connection is on.
    let carrier: RedisServer | undefined;
    await vi.waitFor(async () => {
      for (const node of await cluster.masters()) {
        const admin = track(new Redis(node.options()));
        if (String(await admin.client('LIST')).includes('name=tiercache:bus:sub')) carrier = node;
      }
      expect(carrier).toBeDefined();
    });
    await throughFailover('Cluster failover of the subscribed master', b, () =>
      cluster.failover(carrier as RedisServer),
    );
  });
});
