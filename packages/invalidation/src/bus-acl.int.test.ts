// The invalidation bus and the tag version store under an ACL user restricted to `app:*`
// keys and channels and to the commands the redis README's "Security: ACL and TLS" section
// lists, and over TLS. The bus subscribes on `client.duplicate()`: the ACL user, its password
// and the TLS settings must carry over to that second connection.
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
import { BusPublishError, TagStoreError } from './errors.js';
import { type RedisBus, redisBus } from './redis-bus.js';
import { redisTagVersions } from './redis-tag-versions.js';
import type { InvalidationMessage } from './types.js';

/** Bus: PUBLISH, SUBSCRIBE, CLIENT SETNAME (the subscriber's name; optional) and QUIT on close. */
const BUS_COMMANDS = ['info', 'publish', 'subscribe', 'client|setname', 'quit'];
/** Tag versions: MGET to read, a script (EXISTS, SET, INCR, PEXPIRE) to bump. */
const TAG_COMMANDS = ['info', 'mget', 'evalsha', 'eval', 'exists', 'set', 'incr', 'pexpire'];
const PASSWORD = 'bus-s3cret';
const silent = { warn: () => {}, error: () => {}, debug: () => {} };

let server: RedisServer;
const clients: Redis[] = [];
const buses: RedisBus[] = [];

const rulesFor = (commands: readonly string[]) =>
  `resetkeys ~app:* resetchannels &app:* -@all ${[...new Set(commands)].map((c) => `+${c}`).join(' ')}`;

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

function busOn(client: Redis, channel = 'app:bus'): RedisBus {
  const bus = redisBus({ client, channel, logger: silent, publishTimeout: 5_000 });
  buses.push(bus);
  return bus;
}

let run = 0;

async function workload(target: RedisServer, user: string): Promise<void> {
  const a = busOn(clientAs(target, user));
  const b = busOn(clientAs(target, user));
  await Promise.all([a.ready(), b.ready()]);
  const received: InvalidationMessage[] = [];
  const delivered = new Promise<void>((resolve) => {
    b.subscribe((m) => {
      received.push(m);
      resolve();
    });
  });
  await a.publish({ type: 'keys', keys: ['user:1'] });
  await delivered;
  expect(received).toEqual([{ type: 'keys', keys: ['user:1'] }]);

  const tags = redisTagVersions({ client: clientAs(target, user), prefix: `app:tag${run++}:` });
  expect(await tags.get(['t1', 't2'])).toEqual([0, 0]);
  const [bumped] = await tags.invalidate(['t1']);
  expect(bumped).toBeGreaterThan(0);
  expect(await tags.get(['t1', 't2'])).toEqual([bumped, 0]);
  await Promise.all(buses.splice(0).map((bus) => bus.close()));
}

beforeAll(async () => {
  server = await startRedis();
});

afterEach(async () => {
  await Promise.all(buses.splice(0).map((bus) => bus.close()));
  for (const c of clients.splice(0)) c.disconnect();
});

afterAll(async () => {
  await server.stop();
});

describe('redisBus and redisTagVersions under an ACL user', () => {
  it('send exactly the documented commands (measured with every command allowed)', async () => {
    await setAclUser(server, { name: 'all', password: PASSWORD, rules: rulesFor(['@all']) });
    await resetCommandStats(server);

    await workload(server, 'all');

    expect(await commandsUsed(server)).toEqual(
      [...new Set([...BUS_COMMANDS, ...TAG_COMMANDS])].sort(),
    );
  });

  it('work with only those commands on ~app:* and &app:*', async () => {
    await setAclUser(server, {
      name: 'tight',
      password: PASSWORD,
      rules: rulesFor([...BUS_COMMANDS, ...TAG_COMMANDS]),
    });

    await workload(server, 'tight');

    expect(await aclDenials(server)).toEqual([]);
  });

  it('rejects a publish on a channel outside &app:* with a typed error', async () => {
    await setAclUser(server, { name: 'tight2', password: PASSWORD, rules: rulesFor(BUS_COMMANDS) });
    const client = clientAs(server, 'tight2');
    const bus = busOn(client, 'other:bus');

    await expect(bus.publish({ type: 'clear' })).rejects.toThrow(BusPublishError);
  });

  it('turns a forbidden tag bump into a typed TagStoreError', async () => {
    await setAclUser(server, {
      name: 'no-incr',
      password: PASSWORD,
      rules: rulesFor(TAG_COMMANDS.filter((c) => c !== 'incr')),
    });
    const tags = redisTagVersions({ client: clientAs(server, 'no-incr'), prefix: 'app:tag:' });

    await expect(tags.invalidate(['t'])).rejects.toThrow(TagStoreError);
    // Reads still work. (The script's SET before the refused INCR did land: the version moved
    // to its clock seed, which only makes older entries stale: the safe direction.)
    expect(await tags.get(['t'])).toEqual([expect.any(Number)]);
  });
});

describe('redisBus over TLS', () => {
  it('duplicates the TLS settings and the ACL user onto its subscriber connection', async () => {
    const tlsServer = await startRedis({
      tls: true,
      users: [
        { name: 'app', password: PASSWORD, rules: rulesFor([...BUS_COMMANDS, ...TAG_COMMANDS]) },
      ],
    });
    try {
      const clientOf = () => {
        const c = new Redis({ ...tlsServer.options({ user: 'app' }), maxRetriesPerRequest: 1 });
        clients.push(c);
        return c;
      };
      const a = busOn(clientOf());
      const b = busOn(clientOf());
      await Promise.all([a.ready(), b.ready()]);
      const got: InvalidationMessage[] = [];
      const tagged = new Promise<void>((resolve) =>
        b.subscribe((m) => {
          got.push(m);
          if (m.type === 'keys') resolve();
        }),
      );

      await a.publish({ type: 'keys', keys: ['user:1'] });
      await tagged;

      expect(got).toEqual([{ type: 'keys', keys: ['user:1'] }]);
      expect(b.subscribed).toBe(true);
    } finally {
      await Promise.all(buses.splice(0).map((bus) => bus.close()));
      await tlsServer.stop();
    }
  });
});
