import { CacheManager } from '@tiercache/core';
import { globMatcher, tenantKey, tenantPattern } from '@tiercache/keys';
import { memoryTier } from '@tiercache/l1';
import { redisTier } from '@tiercache/redis';
import { type RedisClusterServer, startRedisCluster } from '@tiercache/test-servers';
import fc from 'fast-check';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { glob } from './glob.js';
import { createInvalidator } from './invalidator.js';
import { redisBus } from './redis-bus.js';
import { redisTagVersions } from './redis-tag-versions.js';

const quiet = { warn() {}, error() {}, debug() {} };
const PREFIX = 'pc:';
// Tenant ids with glob metacharacters next to the ids they could wrongly reach.
const TENANTS = ['acme', 'acme*', 'acme-corp', 'acmeX', 'a?c', 'abc', 'a-c', '[x]', 'x', '*'];
const PER_TENANT = 120;

let cluster: RedisClusterServer;
let client: Cluster;

beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
  client = new Cluster(cluster.startupNodes, { enableAutoPipelining: true });
  await new Promise<void>((resolve) => client.once('ready', resolve));
}, 120_000);

afterAll(async () => {
  await client?.quit();
  await cluster?.stop();
});

function instance() {
  const bus = redisBus({ client, channel: 'updates:pc', logger: quiet });
  const l1 = memoryTier({ max: 10_000 });
  const cache = new CacheManager({
    l1,
    l2: redisTier({ client, prefix: PREFIX, commandTimeout: 5_000, logger: quiet }),
    bus,
    tagVersions: redisTagVersions({ client, prefix: `${PREFIX}tag:` }),
    matchPattern: globMatcher,
    versionedWrites: true,
    jitter: 0,
    earlyRefresh: false,
    logger: quiet,
  });
  return { cache, bus, l1, invalidator: createInvalidator({ cache }) };
}

/** Keys matching `pattern` on each master (SCAN, as an operator would check). */
async function keysPerMaster(pattern: string): Promise<string[][]> {
  return Promise.all(
    client.nodes('master').map(async (node) => {
      const found: string[] = [];
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1_000);
        cursor = next;
        found.push(...keys);
      } while (cursor !== '0');
      return found;
    }),
  );
}

async function fill(cache: CacheManager): Promise<void> {
  for (const tenant of TENANTS) {
    await Promise.all(
      Array.from({ length: PER_TENANT }, (_, i) =>
        cache.set(tenantKey(tenant, 'user', i), { tenant, i }),
      ),
    );
  }
}

describe('pattern and tenant invalidation on a Cluster (3 masters + 3 replicas)', () => {
  it('tenant keys are spread over every master', async () => {
    const { cache, bus } = instance();
    await fill(cache);
    const perMaster = await keysPerMaster(`${PREFIX}t:*`);
    expect(perMaster).toHaveLength(3);
    for (const keys of perMaster) expect(keys.length).toBeGreaterThan(0);
    await cache.close();
    await bus.close();
  });

  it.each(TENANTS)(
    'clearTenant(%j) deletes that tenant on every master and nothing else',
    async (tenant) => {
      const { cache, bus, invalidator } = instance();
      await fill(cache);

      const deleted = await invalidator.clearTenant(tenant);

      expect(deleted).toBe(PER_TENANT);
      const left = (await keysPerMaster(`${PREFIX}t:*`)).flat();
      for (const other of TENANTS) {
        const theirs = left.filter((k) =>
          k.startsWith(`${PREFIX}${tenantPattern(other).slice(0, -1).replace(/\\/g, '')}`),
        );
        expect(theirs, other).toHaveLength(other === tenant ? 0 : PER_TENANT);
      }
      await cache.close();
      await bus.close();
    },
  );

  it('invalidatePattern deletes every match on every master and returns the count', async () => {
    const { cache, bus, invalidator } = instance();
    await fill(cache);
    await Promise.all(Array.from({ length: 300 }, (_, i) => cache.set(`tasks:agent:a1:${i}`, i)));
    await Promise.all(Array.from({ length: 50 }, (_, i) => cache.set(`tasks:agent:a10:${i}`, i)));

    expect(await invalidator.invalidatePattern(glob`tasks:agent:${'a1'}:*`)).toBe(300);

    expect((await keysPerMaster(`${PREFIX}tasks:agent:a1:*`)).flat()).toEqual([]);
    expect((await keysPerMaster(`${PREFIX}tasks:agent:a10:*`)).flat()).toHaveLength(50);
    await cache.close();
    await bus.close();
  });

  it("another instance drops the matching L1 entries (bus over the Cluster's pub/sub)", async () => {
    const a = instance();
    const b = instance();
    await Promise.all([a.bus.ready(), b.bus.ready()]);
    await b.cache.get(tenantKey('bus-acme*', 'user', 1), () => 'old');
    await b.cache.set(tenantKey('bus-acme', 'user', 1), 'kept');
    const received = new Promise((resolve) => {
      b.bus.on('received', ({ message }) => {
        if (message.type === 'pattern') resolve(message);
      });
    });

    await a.invalidator.clearTenant('bus-acme*');
    await received;

    expect(await b.cache.get(tenantKey('bus-acme*', 'user', 1), () => 'new')).toBe('new');
    // Not matched: still served (from L1, or from L2 when the L1 cannot list its keys and
    // was cleared as a whole), never reloaded.
    expect(await b.cache.get(tenantKey('bus-acme', 'user', 1), () => 'reloaded')).toBe('kept');
    for (const x of [a, b]) {
      await x.cache.close();
      await x.bus.close();
    }
  });

  it('tag versions work across slots (single-key scripts, no CROSSSLOT)', async () => {
    const store = redisTagVersions({ client, prefix: 'pc:tv:' });
    const tags = Array.from({ length: 30 }, (_, i) => `tag-${i}`);
    const first = await store.invalidate(tags);
    const second = await store.invalidate(tags);
    expect(second).toEqual(first.map((v) => v + 1));
    expect(await store.get(tags)).toEqual(second);
  });

  it('globMatcher (L1) and SCAN MATCH (Redis) agree on which keys a pattern matches', async () => {
    const alphabet = fc.constantFrom('a', 'b', '-', '*', '?', '[', ']', '\\', '^', 'é');
    const subjects = fc.sample(fc.string({ unit: alphabet, minLength: 1, maxLength: 6 }), 400);
    const unique = [...new Set(subjects)];
    await Promise.all(unique.map((s) => client.set(`gm:{g}${s}`, '1')));
    const patterns = fc.sample(
      fc.string({
        unit: fc.oneof(alphabet, fc.constantFrom('*', '?', '[a-b]', '[^a]')),
        maxLength: 5,
      }),
      150,
    );
    for (const p of patterns) {
      const pattern = `gm:{g}${p}`;
      const byRedis = (await keysPerMaster(pattern)).flat().sort();
      const match = globMatcher(pattern);
      const byMatcher = unique
        .map((s) => `gm:{g}${s}`)
        .filter(match)
        .sort();
      expect(byMatcher, pattern).toEqual(byRedis);
    }
  });
});
