// The Redis tier under an ACL user restricted to its key prefix and to the commands the
// README's "Security: ACL and TLS" section lists, and over TLS. The command list is checked
// both ways: a user allowed every command uses exactly the listed ones (INFO commandstats),
// and a user allowed only those can do everything.
import {
  aclDenials,
  commandsUsed,
  type RedisServer,
  resetCommandStats,
  setAclUser,
  startRedis,
} from '@tiercache/test-servers';
import type { RedisOptions } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { L2CommandError, L2UnavailableError } from './errors.js';
import type { RedisTierLogger } from './options.js';
import { type RedisTier, redisTier } from './redis-tier.js';

/** The commands `redisTier` sends (README, "Security: ACL and TLS"), ioredis's ready check included. */
const TIER_COMMANDS = [
  'info', // ioredis ready check (or enableReadyCheck: false)
  'get',
  'mget',
  'set',
  'unlink',
  'scan',
  'evalsha',
  'eval',
];
/** Optional: `checkEvictionPolicy()` reads the policy; without it, a warning and 'unknown'. */
const POLICY_COMMAND = 'config|get';

const PASSWORD = 'tier-s3cret';
const silent: RedisTierLogger = { warn: () => {}, error: () => {}, debug: () => {} };

let server: RedisServer;
const tiers: RedisTier[] = [];

/**
 * The key patterns of a tier with prefix `app:c:`: its entries, and the version keys of
 * `versionedWrites` (`{<slot tag>}v:<prefix><key>`, led by a hash tag for Cluster).
 */
const KEY_PATTERNS = '~app:* ~{*}v:app:*';

function rulesFor(commands: readonly string[]): string {
  return `resetkeys ${KEY_PATTERNS} resetchannels -@all ${commands.map((c) => `+${c}`).join(' ')}`;
}

function setUser(name: string, commands: readonly string[]): Promise<void> {
  return setAclUser(server, { name, password: PASSWORD, rules: rulesFor(commands) });
}

function tierAs(user: string, extra: Partial<RedisOptions> = {}, logger = silent): RedisTier {
  const tier = redisTier({
    connection: {
      ...server.options(),
      username: user,
      password: PASSWORD,
      ...extra,
    } as RedisOptions,
    prefix: 'app:c:',
    commandTimeout: 5_000,
    logger,
  });
  tiers.push(tier);
  return tier;
}

/** Everything the tier does, with results a caller would check. */
async function workload(tier: RedisTier): Promise<void> {
  await tier.set('a', { n: 1 }, 60_000);
  await tier.set('b', 'two', 60_000);
  expect(await tier.get('a')).toEqual({ n: 1 });
  expect(await tier.getMany(['a', 'b', 'missing'])).toEqual([
    { hit: true, value: { n: 1 } },
    { hit: true, value: 'two' },
    { hit: false },
  ]);
  expect(await tier.delete('a')).toBe(true);
  await tier.setVersioned('v', 'first', 60_000);
  const [version] = await tier.getVersions(['v']);
  expect(await tier.setIfVersion('v', 'second', 60_000, version!)).toBe(true);
  expect(await tier.get('v')).toBe('second');
  expect(await tier.deleteVersioned('v')).toBe(true);
  await tier.set('p:1', 1, 60_000);
  expect(await tier.deleteMatching('p:*')).toBe(1);
  await tier.clear();
  expect(await tier.get('b')).toBeUndefined();
}

beforeAll(async () => {
  server = await startRedis({ maxmemoryPolicy: 'allkeys-lru' });
});

afterEach(async () => {
  await Promise.all(tiers.splice(0).map((t) => t.close()));
});

afterAll(async () => {
  await server.stop();
});

describe('redisTier under an ACL user', () => {
  it('sends exactly the documented commands (measured with every command allowed)', async () => {
    await setUser('all', ['@all']);
    await resetCommandStats(server);
    const tier = tierAs('all');

    await workload(tier);
    expect(await tier.checkEvictionPolicy()).toBe('allkeys-lru');

    expect(await commandsUsed(server)).toEqual([...TIER_COMMANDS, POLICY_COMMAND].sort());
  });

  it('works with only those commands on ~app:*', async () => {
    await setUser('tight', TIER_COMMANDS);
    const warnings: string[] = [];
    const tier = tierAs('tight', {}, { ...silent, warn: (m: string) => void warnings.push(m) });

    await workload(tier);

    // Without CONFIG GET the policy check warns and carries on.
    expect(await tier.checkEvictionPolicy()).toBe('unknown');
    expect(warnings.join('\n')).toMatch(/cannot read maxmemory-policy/);
    // The only denial is the optional CONFIG GET.
    expect(await aclDenials(server)).toEqual(['tight:command:config|get']);
  });

  it('turns a command the ACL forbids into a typed L2CommandError, not an outage', async () => {
    await setUser(
      'no-unlink',
      TIER_COMMANDS.filter((c) => c !== 'unlink'),
    );
    const tier = tierAs('no-unlink');
    await tier.set('k', 1, 60_000);

    const error = await tier.delete('k').then(
      () => undefined,
      (e: unknown) => e,
    );

    expect(error).toBeInstanceOf(L2CommandError);
    expect((error as Error).message).toMatch(/NOPERM/);
    expect(tier.circuitState).toBe('closed');
    expect(await tier.get('k')).toBe(1);
  });

  it('refuses keys outside the pattern with a typed error', async () => {
    await setUser('tight2', TIER_COMMANDS);
    const outside = redisTier({
      connection: { ...server.options(), username: 'tight2', password: PASSWORD },
      prefix: 'other:',
      commandTimeout: 5_000,
      logger: silent,
    });
    tiers.push(outside);

    await expect(outside.set('k', 1, 60_000)).rejects.toThrow(L2CommandError);
  });

  it('keeps the password out of the error of a failed AUTH', async () => {
    await setUser('auth-user', TIER_COMMANDS);
    const tier = redisTier({
      connection: {
        ...server.options(),
        username: 'auth-user',
        password: 'wrong-s3cret',
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      },
      prefix: 'app:c:',
      commandTimeout: 2_000,
      logger: silent,
    });
    tiers.push(tier);

    const error = await tier.get('k').then(
      () => undefined,
      (e: unknown) => e as Error,
    );

    expect(error).toBeInstanceOf(L2UnavailableError);
    const seen = [error?.message, error?.stack, String((error?.cause as Error)?.message)];
    expect(seen.join('\n')).not.toContain('s3cret');
  });
});

describe('redisTier over TLS', () => {
  let tlsServer: RedisServer;

  beforeAll(async () => {
    tlsServer = await startRedis({
      tls: { authClients: 'yes' },
      users: [{ name: 'app', password: PASSWORD, rules: rulesFor(TIER_COMMANDS) }],
    });
  });

  afterAll(async () => {
    await tlsServer.stop();
  });

  it('runs the whole workload with tls: { ca, cert, key } and an ACL user', async () => {
    const tier = redisTier({
      connection: tlsServer.options({ user: 'app' }),
      prefix: 'app:c:',
      commandTimeout: 5_000,
      logger: silent,
    });
    tiers.push(tier);

    await workload(tier);
  });

  it('cannot connect without the CA', async () => {
    const { tls: _, ...plain } = tlsServer.options({ user: 'app' });
    const tier = redisTier({
      connection: { ...plain, tls: {}, maxRetriesPerRequest: 0, retryStrategy: () => null },
      prefix: 'app:c:',
      commandTimeout: 2_000,
      logger: silent,
    });
    tiers.push(tier);

    await expect(tier.get('k')).rejects.toThrow(L2UnavailableError);
  });
});
