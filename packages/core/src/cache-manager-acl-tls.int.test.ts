// CacheManager end to end (memory L1, Redis L2, bus, tag versions, stampede lock) as one ACL
// user restricted to `app:*` keys and channels and to the union of the commands the redis
// README's "Security: ACL and TLS" section lists, over TLS. A command the ACL forbids is a
// counted tier error, and the read is answered by the loader.

import { redisBus, redisTagVersions } from '@tiercache/invalidation';
import { memoryTier } from '@tiercache/l1';
import { DistributedLock } from '@tiercache/lock';
import { redisTier } from '@tiercache/redis';
import { aclDenials, type RedisServer, startRedis } from '@tiercache/test-servers';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CacheManager } from './cache-manager.js';
import type { TierErrorEvent } from './events.js';

const COMMANDS = [
  // connection: ioredis ready check, the bus subscriber's name, QUIT on close
  'info',
  'client|setname',
  'quit',
  // @tiercache/redis
  'get',
  'mget',
  'set',
  'unlink',
  'scan',
  'evalsha',
  'eval',
  // @tiercache/invalidation
  'publish',
  'subscribe',
  'exists',
  'incr',
  'pexpire',
  // @tiercache/lock
  'del',
];
const KEYS = '~app:* ~{*}v:app:*';
const PASSWORD = 'core-s3cret';
const silent = { warn: () => {}, error: () => {}, debug: () => {} };

/** Polls `condition` every 10 ms for up to 10 s. */
async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met within 10 s');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const rulesFor = (commands: readonly string[]) =>
  `resetkeys ${KEYS} resetchannels &app:* -@all ${commands.map((c) => `+${c}`).join(' ')}`;

let server: RedisServer;

beforeAll(async () => {
  server = await startRedis({
    tls: true,
    users: [
      { name: 'app', password: PASSWORD, rules: rulesFor(COMMANDS) },
      { name: 'no-set', password: PASSWORD, rules: rulesFor(COMMANDS.filter((c) => c !== 'set')) },
    ],
  });
});

afterAll(async () => {
  await server.stop();
});

async function managerAs(user: string) {
  const client = new Redis({ ...server.options({ user }), maxRetriesPerRequest: 1 });
  client.on('error', () => {});
  const bus = redisBus({ client, channel: 'app:bus', logger: silent });
  await bus.ready();
  const cache = new CacheManager({
    l1: memoryTier(),
    l2: redisTier({ client, prefix: 'app:c:', commandTimeout: 5_000, logger: silent }),
    bus,
    tagVersions: redisTagVersions({ client, prefix: 'app:tag:' }),
    versionedWrites: true,
    locker: new DistributedLock({ client, prefix: 'app:stampede:', fencing: false }),
    logger: silent,
  });
  const tierErrors: TierErrorEvent[] = [];
  cache.on('tier:error', (e) => tierErrors.push(e));
  return {
    cache,
    bus,
    tierErrors,
    async close() {
      await cache.close();
      await bus.close();
      client.disconnect();
    },
  };
}

describe('CacheManager over TLS as a restricted ACL user', () => {
  it('loads, caches, tags, invalidates across instances and locks with only the listed commands', async () => {
    const a = await managerAs('app');
    const b = await managerAs('app');
    try {
      let loads = 0;
      const loader = async () => ({ n: ++loads });

      expect(await a.cache.get('user:1', loader, { ttl: 60_000, tags: ['users'] })).toEqual({
        n: 1,
      });
      expect(await b.cache.get('user:1', loader, { ttl: 60_000, tags: ['users'] })).toEqual({
        n: 1,
      });
      await a.cache.invalidateTags(['users']);
      await until(() => b.bus.stats.received > 0);
      expect(await b.cache.get('user:1', loader, { ttl: 60_000, tags: ['users'] })).toEqual({
        n: 2,
      });
      await a.cache.delete('user:1');
      expect(await a.cache.get('user:1', loader, { ttl: 60_000 })).toEqual({ n: 3 });

      expect(a.tierErrors).toEqual([]);
      expect(b.tierErrors).toEqual([]);
      expect(await aclDenials(server)).toEqual([]);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('counts a command the ACL forbids as a tier error and still answers from the loader', async () => {
    const m = await managerAs('no-set');
    try {
      let loads = 0;
      const value = await m.cache.get('user:2', async () => `loaded ${++loads}`, { ttl: 60_000 });

      expect(value).toBe('loaded 1');
      // The L2 write runs after the value is returned.
      await until(() => m.tierErrors.length > 0);
      expect(m.tierErrors.map((e) => e.error.code)).toContain('E_L2_COMMAND');
    } finally {
      await m.close();
    }
  });
});
