import { CacheManager } from '@tiercache/core';
import { globMatcher, tenantKey } from '@tiercache/keys';
import { memoryTier } from '@tiercache/l1';
import { redisTier } from '@tiercache/redis';
import { type RedisServer, startRedis } from '@tiercache/test-servers';
import { fuzzRuns, fuzzTimeout } from '@tiercache/test-utils';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { glob } from './glob.js';
import { createInvalidator } from './invalidator.js';

vi.setConfig({ testTimeout: fuzzTimeout(60_000) });

// Tenant isolation against a real Redis (SCAN MATCH is Redis' own matcher): clearing one
// tenant, or invalidating a pattern built from user input, never reaches another tenant's keys.

const RUNS = fuzzRuns(40);
const PREFIX = 'ti:';
const silent = { warn: () => {}, error: () => {}, debug: () => {} };

let server: RedisServer;
let redis: Redis;

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url, { enableAutoPipelining: true, maxRetriesPerRequest: 1 });
});

afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});

/** Ids built to attack a glob: metacharacters, separators, ids that prefix each other. */
const tenantId = fc.oneof(
  fc.string({
    unit: fc.constantFrom('a', 'b', '*', '?', '[', ']', '\\', ':', '{', '}', '^', '-', '%', ' '),
    minLength: 1,
    maxLength: 5,
  }),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 4 }).filter((s) => !/\p{Cc}/u.test(s)),
  fc.constantFrom('a', 'a:b', 'a*', '*', '?', '[a]', '[^a]', 'a\\', 'a%3Ab', 'a b', '{a}', 'a:'),
);

/** 2–4 distinct tenants, each with 1–3 entries; the first is the one cleared. */
const tenants = fc.uniqueArray(tenantId, { minLength: 2, maxLength: 4 }).chain((ids) =>
  fc.tuple(
    fc.constant(ids),
    fc.array(
      fc.uniqueArray(fc.constantFrom('user:1', 'user:2', 'doc:x*', 'doc:[1]'), {
        minLength: 1,
        maxLength: 3,
      }),
      { minLength: ids.length, maxLength: ids.length },
    ),
  ),
);

async function l2Keys(): Promise<Set<string>> {
  const found = new Set<string>();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${PREFIX}*`, 'COUNT', 1000);
    for (const k of keys) found.add(k.slice(PREFIX.length));
    cursor = next;
  } while (cursor !== '0');
  return found;
}

function manager(): CacheManager {
  return new CacheManager({
    l1: memoryTier({ max: 1000 }),
    l2: redisTier({ client: redis, prefix: PREFIX, commandTimeout: 5_000, logger: silent }),
    matchPattern: globMatcher,
    logger: silent,
    earlyRefresh: false,
    jitter: 0,
  });
}

describe('tenant isolation on a real Redis (fuzz)', () => {
  for (const how of ['clearTenant', 'invalidatePattern(glob t:<id>:*)'] as const) {
    it(`${how}: deletes every key of that tenant, in L2 and L1, and no other tenant's`, async () => {
      const cache = manager();
      const invalidator = createInvalidator({ cache });
      await fc.assert(
        fc.asyncProperty(tenants, async ([ids, entries]) => {
          await redis.flushdb();
          await cache.clear();
          const all: { tenant: string; key: string }[] = [];
          for (let t = 0; t < ids.length; t++) {
            for (const entity of entries[t]!) {
              const [type, id] = entity.split(':') as [string, string];
              const key = tenantKey(ids[t]!, type, id);
              await cache.set(key, { tenant: t, entity });
              all.push({ tenant: ids[t]!, key });
            }
          }
          const victim = ids[0]!;
          const deleted =
            how === 'clearTenant'
              ? await invalidator.clearTenant(victim)
              : await invalidator.invalidatePattern(glob`t:${victim}:*`);
          const left = await l2Keys();
          const mine = all.filter((e) => e.tenant === victim);
          const others = all.filter((e) => e.tenant !== victim);
          expect(deleted).toBe(mine.length);
          for (const e of mine) expect(left.has(e.key)).toBe(false);
          for (const e of others) expect(left.has(e.key)).toBe(true);
          // L1 follows the same pattern (globMatcher): other tenants still hit, the victim misses.
          for (const e of others) {
            const load = vi.fn(() => 'reloaded');
            expect(await cache.get(e.key, load)).not.toBe('reloaded');
            expect(load).not.toHaveBeenCalled();
          }
          for (const e of mine) {
            expect(await cache.get(e.key, () => 'reloaded')).toBe('reloaded');
          }
        }),
        {
          numRuns: RUNS,
          examples: [
            [
              [
                ['a', 'a:b', 'a*', 'ab'],
                [['user:1'], ['user:1'], ['user:1'], ['user:1']],
              ],
            ],
            [
              [
                ['*', 'a', '?'],
                [['user:1'], ['user:2'], ['doc:x*']],
              ],
            ],
            [
              [
                ['[a]', 'a', ']'],
                [['user:1'], ['user:1'], ['user:1']],
              ],
            ],
            [
              [
                ['a\\', 'a\\b', 'a'],
                [['user:1'], ['user:1'], ['user:1']],
              ],
            ],
          ],
        },
      );
      await cache.close();
    });
  }

  it('a raw id spliced into a pattern would widen it (the bug escaping prevents)', async () => {
    await redis.flushdb();
    const cache = manager();
    await cache.set(tenantKey('acme', 'user', '1'), 1);
    await cache.set(tenantKey('acme-corp', 'user', '1'), 2);
    // Unescaped: `t:acme*` — the guide's `t:${tenantId}:*` with tenantId = 'acme*' minus ':'.
    const unsafe = await redis.scan('0', 'MATCH', `${PREFIX}t:acme*`, 'COUNT', 1000);
    expect(unsafe[1].length).toBe(2);
    const invalidator = createInvalidator({ cache });
    expect(await invalidator.clearTenant('acme*')).toBe(0);
    expect((await l2Keys()).size).toBe(2);
    await cache.close();
  });
});
