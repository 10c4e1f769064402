// DistributedLock under an ACL user restricted to its key prefix and to the commands the
// redis README's "Security: ACL and TLS" section lists for @tiercache/lock, and over TLS.
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
import { DistributedLock } from './distributed-lock.js';
import { LockNotAcquiredError } from './errors.js';

/** EVALSHA (EVAL when the script is not cached yet) and what the scripts call; INFO: ready check. */
const LOCK_COMMANDS = ['info', 'evalsha', 'eval', 'set', 'get', 'del', 'pexpire', 'incr'];
const PASSWORD = 'lock-s3cret';
const silent = { warn: () => {}, error: () => {}, debug: () => {} };

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

async function workload(locks: DistributedLock): Promise<void> {
  const lock = await locks.acquire('report', { ttl: 10_000 });
  expect(lock.fencingToken).toBeGreaterThan(0);
  await expect(locks.acquire('report', { ttl: 10_000, retry: { retries: 0 } })).rejects.toThrow(
    LockNotAcquiredError,
  );
  expect(await lock.extend(20_000)).toBeGreaterThan(Date.now());
  expect(await lock.release()).toBe(true);
  expect(await locks.executeWithLock('report', async ({ fencingToken }) => fencingToken)).toBe(
    lock.fencingToken + 1,
  );
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

describe('DistributedLock under an ACL user', () => {
  it('sends exactly the documented commands (measured with every command allowed)', async () => {
    await setAclUser(server, { name: 'all', password: PASSWORD, rules: rulesFor(['@all']) });
    await resetCommandStats(server);

    await workload(
      new DistributedLock({ client: clientAs(server, 'all'), prefix: 'app:lock:', logger: silent }),
    );

    expect(await commandsUsed(server)).toEqual([...LOCK_COMMANDS].sort());
  });

  it('works with only those commands on ~app:*', async () => {
    await setAclUser(server, { name: 'tight', password: PASSWORD, rules: rulesFor(LOCK_COMMANDS) });

    await workload(
      new DistributedLock({
        client: clientAs(server, 'tight'),
        prefix: 'app:lk2:',
        logger: silent,
      }),
    );

    expect(await aclDenials(server)).toEqual([]);
  });

  it('fails with a typed error, keeping the NOPERM cause, when the ACL forbids a command', async () => {
    await setAclUser(server, {
      name: 'no-incr',
      password: PASSWORD,
      rules: rulesFor(LOCK_COMMANDS.filter((c) => c !== 'incr')),
    });
    const locks = new DistributedLock({
      client: clientAs(server, 'no-incr'),
      prefix: 'app:lk3:',
      logger: silent,
    });

    const error = await locks.acquire('x', { retry: { retries: 0 } }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );

    expect(error).toBeInstanceOf(LockNotAcquiredError);
    // Inside a script Redis words it "The user executing the script can't run this command".
    expect(String((error?.cause as Error | undefined)?.message)).toMatch(
      /NOPERM|can't run this command/,
    );
  });

  it('refuses a prefix outside the key pattern', async () => {
    await setAclUser(server, {
      name: 'tight2',
      password: PASSWORD,
      rules: rulesFor(LOCK_COMMANDS),
    });
    const locks = new DistributedLock({ client: clientAs(server, 'tight2'), logger: silent });

    await expect(locks.acquire('x', { retry: { retries: 0 } })).rejects.toThrow(
      LockNotAcquiredError,
    );
  });
});

describe('DistributedLock over TLS', () => {
  it('runs the whole workload over TLS as a restricted ACL user', async () => {
    const tlsServer = await startRedis({
      tls: true,
      users: [{ name: 'app', password: PASSWORD, rules: rulesFor(LOCK_COMMANDS) }],
    });
    try {
      const client = new Redis({ ...tlsServer.options({ user: 'app' }), maxRetriesPerRequest: 1 });
      clients.push(client);

      await workload(new DistributedLock({ client, prefix: 'app:lock:', logger: silent }));
    } finally {
      await tlsServer.stop();
    }
  });
});
