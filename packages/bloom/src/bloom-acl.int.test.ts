// The shared Redis Bloom filter under an ACL user restricted to `app:*` keys and to the
// commands the redis README's "Security: ACL and TLS" section lists for @tiercache/bloom,
// and over TLS. The bitmap key has a hash tag (`app:{ids}`) so its rebuild helper keys
// (`app:{ids}:rebuild:*`) fall under the same pattern.
import {
  aclDenials,
  commandsUsed,
  type RedisServer,
  resetCommandStats,
  setAclUser,
  startRedis,
} from '@tiercache/test-servers';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bloomGuard } from './bloom-guard.js';
import { BloomUnavailableError } from './errors.js';
import { redisBloom } from './redis-bloom.js';

/**
 * Scripts (and what they call), EXISTS, BITCOUNT, GET (export), SETRANGE/PEXPIRE (rebuild
 * upload); INFO: ioredis's ready check.
 */
const BLOOM_COMMANDS = [
  'info',
  'evalsha',
  'eval',
  'exists',
  'bitcount',
  'get',
  'set',
  'del',
  'strlen',
  'setbit',
  'getbit',
  'setrange',
  'pexpire',
  'bitop',
  'rename',
  'persist',
];
const PASSWORD = 'bloom-s3cret';

let server: RedisServer;
const clients: Redis[] = [];

const rulesFor = (commands: readonly string[]) =>
  `resetkeys ~app:* resetchannels -@all ${commands.map((c) => `+${c}`).join(' ')}`;

function clientAs(target: RedisServer, user: string): Redis {
  const c = new Redis({
    ...target.options(),
    username: user,
    password: PASSWORD,
    maxRetriesPerRequest: 1,
  });
  c.on('error', () => {});
  clients.push(c);
  return c;
}

let run = 0;

async function workload(client: Redis): Promise<void> {
  const filter = redisBloom({ client, key: `app:{ids${run++}}`, expectedItems: 1_000 });
  expect(await filter.exists()).toBe(false);
  expect(await filter.rebuild(['a', 'b', 'c'])).toBe(3);
  await filter.add('d');
  expect(await filter.addMany(['e', 'f'])).toBe(2);
  expect(await filter.has('a')).toBe(true);
  expect(await filter.hasMany(['d', 'e', 'never-added'])).toEqual([true, true, false]);
  expect((await filter.stats()).bitsSet).toBeGreaterThan(0);
  expect(await filter.export()).toBeInstanceOf(Uint8Array);
  await filter.clear();
  expect(await filter.has('a')).toBe(false);
  await filter.delete();
}

beforeAll(async () => {
  server = await startRedis();
});

afterEach(() => {
  for (const c of clients.splice(0)) c.disconnect();
});

afterAll(async () => {
  await server.stop();
});

describe('redisBloom under an ACL user', () => {
  it('sends exactly the documented commands (measured with every command allowed)', async () => {
    await setAclUser(server, { name: 'all', password: PASSWORD, rules: rulesFor(['@all']) });
    await resetCommandStats(server);

    await workload(clientAs(server, 'all'));

    expect(await commandsUsed(server)).toEqual([...BLOOM_COMMANDS].sort());
  });

  it('works with only those commands on ~app:*', async () => {
    await setAclUser(server, {
      name: 'tight',
      password: PASSWORD,
      rules: rulesFor(BLOOM_COMMANDS),
    });

    await workload(clientAs(server, 'tight'));

    expect(await aclDenials(server)).toEqual([]);
  });

  it('fails open through bloomGuard, counted, when the ACL forbids the lookup', async () => {
    await setAclUser(server, {
      name: 'no-getbit',
      password: PASSWORD,
      rules: rulesFor(BLOOM_COMMANDS.filter((c) => c !== 'getbit')),
    });
    const filter = redisBloom({
      client: clientAs(server, 'no-getbit'),
      key: 'app:{guarded}',
      expectedItems: 100,
    });
    await filter.rebuild(['x']);
    const errors: Error[] = [];
    const guard = bloomGuard({ filter, onError: (error) => errors.push(error) });

    expect(await guard.mightExist('y')).toBe(true);
    expect(guard.stats.failedOpen).toBe(1);
    expect(errors[0]).toBeInstanceOf(BloomUnavailableError);
  });
});

describe('redisBloom over TLS', () => {
  it('runs the whole workload over TLS as a restricted ACL user', async () => {
    const tlsServer = await startRedis({
      tls: true,
      users: [{ name: 'app', password: PASSWORD, rules: rulesFor(BLOOM_COMMANDS) }],
    });
    try {
      const client = new Redis({ ...tlsServer.options({ user: 'app' }), maxRetriesPerRequest: 1 });
      clients.push(client);

      await workload(client);
    } finally {
      await tlsServer.stop();
    }
  });
});
