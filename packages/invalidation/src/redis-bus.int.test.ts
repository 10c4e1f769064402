import type {
  InvalidationBus as CoreBus,
  TagVersionStore as CoreTagVersionStore,
} from '@tiercache/core';
import { CacheManager } from '@tiercache/core';
import { memoryTier } from '@tiercache/l1';
import { type RedisServer, startRedis } from '@tiercache/test-servers';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { BusPublishError, InvalidOptionsError, TagStoreError } from './errors.js';
import { createInvalidator } from './invalidator.js';
import { type RedisBus, redisBus } from './redis-bus.js';
import { redisTagVersions } from './redis-tag-versions.js';
import type { InvalidationMessage } from './types.js';

const quiet = () => ({ warn: vi.fn(), error: vi.fn(), debug: vi.fn() });

let server: RedisServer;
let client: Redis;
let channel = 0;

beforeAll(async () => {
  server = await startRedis();
  client = new Redis({ ...server.options(), maxRetriesPerRequest: 1 });
});

afterAll(async () => {
  client?.disconnect();
  await server?.stop();
});

async function pair(
  options: { metrics?: { recordBusMessage: (d: 'published' | 'received') => void } } = {},
) {
  const name = `updates:t${++channel}`;
  const a = redisBus({ client, channel: name, logger: quiet(), ...options });
  const b = redisBus({ client, channel: name, logger: quiet() });
  await Promise.all([a.ready(), b.ready()]);
  return { a, b };
}

function next(bus: RedisBus): Promise<InvalidationMessage> {
  return new Promise((resolve) => {
    const off = bus.subscribe((message) => {
      off();
      resolve(message);
    });
  });
}

describe('redisBus', () => {
  it('delivers a message to the other instances, not back to its sender', async () => {
    const { a, b } = await pair();
    const own = vi.fn();
    a.subscribe(own);
    const received = next(b);

    await a.publish({ type: 'keys', keys: ['user:1'] });

    expect(await received).toEqual({ type: 'keys', keys: ['user:1'] });
    await expect.poll(() => a.stats.ignored).toBe(1);
    expect(own).not.toHaveBeenCalled();
    await Promise.all([a.close(), b.close()]);
  });

  it('counts published and received messages through metrics.recordBusMessage', async () => {
    const metrics = { recordBusMessage: vi.fn() };
    const { a, b } = await pair({ metrics });
    const received = next(a);
    await a.publish({ type: 'clear' });
    await b.publish({ type: 'pattern', pattern: 'x:*' });
    await received;

    expect(metrics.recordBusMessage.mock.calls).toEqual([['published'], ['received']]);
    expect(a.stats).toMatchObject({ published: 1, received: 1 });
    await Promise.all([a.close(), b.close()]);
  });

  it('names its subscriber connection (CLIENT LIST) and closes it on close()', async () => {
    const bus = redisBus({ client, connectionName: 'my-bus-1', logger: quiet() });
    await bus.ready();
    expect(String(await client.client('LIST'))).toContain(' name=my-bus-1 ');

    await bus.close();

    await expect
      .poll(async () => String(await client.client('LIST')))
      .not.toContain('name=my-bus-1 ');
    await expect(bus.publish({ type: 'clear' })).rejects.toThrow(BusPublishError);
  });

  it('turns an unreadable message into an L1 clear (it may have been an invalidation)', async () => {
    const { a, b } = await pair();
    const reasons: string[] = [];
    a.on('reconnect-clear', ({ reason }) => reasons.push(reason));
    const received = next(a);

    await client.publish(a.channel, '{"i":"someone","t":"future-kind"}');

    expect(await received).toEqual({ type: 'clear' });
    expect(reasons).toEqual(['unreadable']);
    await Promise.all([a.close(), b.close()]);
  });

  it('a manager drops its L1 entry when another instance deletes the key (core wiring)', async () => {
    const { a, b } = await pair();
    const l1 = memoryTier();
    const cache = new CacheManager({ l1, bus: b, logger: quiet() });
    await cache.get('k', () => 'old');
    const received = new Promise((resolve) => b.on('received', resolve));

    await a.publish({ type: 'keys', keys: ['k'] });
    await received;

    expect(l1.peek('k')).toBeUndefined();
    await cache.close();
    await Promise.all([a.close(), b.close()]);
  });

  it('after the Redis server restarts, clears L1 once subscribed again', async () => {
    const own = await startRedis();
    const c = new Redis({ ...own.options(), maxRetriesPerRequest: 1 });
    c.on('error', () => {});
    const bus = redisBus({ client: c, logger: quiet() });
    await bus.ready();
    const cleared = new Promise((resolve) =>
      bus.on('reconnect-clear', ({ reason }) => {
        if (reason === 'reconnected') resolve(reason);
      }),
    );
    const messages: InvalidationMessage[] = [];
    bus.subscribe((m) => messages.push(m));

    await own.restart();
    await cleared;

    expect(messages).toEqual([{ type: 'clear' }, { type: 'clear' }]); // on the drop, on the return
    expect(bus.stats).toMatchObject({ disconnects: 1, reconnectClears: 1 });
    await bus.close();
    c.disconnect();
    await own.stop();
  });

  it('rejects publish with BusPublishError when Redis does not answer within publishTimeout', async () => {
    const own = await startRedis();
    const c = new Redis({ ...own.options(), maxRetriesPerRequest: 1 });
    const bus = redisBus({ client: c, publishTimeout: 100, logger: quiet() });
    await bus.ready();
    own.pause();
    try {
      await expect(bus.publish({ type: 'clear' })).rejects.toThrow(BusPublishError);
    } finally {
      own.resume();
    }
    await bus.close();
    c.disconnect();
    await own.stop();
  });

  it('validates its options, naming the field', () => {
    expect(() => redisBus({ client, channel: '' })).toThrow(InvalidOptionsError);
    expect(() => redisBus({ client, channel: '' })).toThrow(/channel/);
    expect(() => redisBus({ client, publishTimeout: -1 })).toThrow(/publishTimeout/);
    expect(() => redisBus({ client: {} as never })).toThrow(/client/);
  });

  it('implements core’s interfaces', async () => {
    const bus: CoreBus = redisBus({ client, logger: quiet() });
    const store: CoreTagVersionStore = redisTagVersions({ client });
    const cache = new CacheManager({ bus, tagVersions: store, logger: quiet() });
    expect(createInvalidator({ cache })).toBeDefined();
    await cache.close();
    await (bus as RedisBus).close();
  });
});

describe('redisTagVersions', () => {
  it('reads 0 for a tag never invalidated, and moves versions forward', async () => {
    const store = redisTagVersions({ client, prefix: 'tv1:' });
    expect(await store.get(['a', 'b'])).toEqual([0, 0]);

    const [first] = await store.invalidate(['a']);
    const [second] = await store.invalidate(['a']);

    expect(second).toBe(first! + 1);
    expect(await store.get(['a', 'b'])).toEqual([second, 0]);
  });

  it('seeds a new version from the clock, so a lost version never comes back lower', async () => {
    let now = 1_000_000;
    const store = redisTagVersions({ client, prefix: 'tv2:', clock: () => now });
    const [before] = await store.invalidate(['a']);
    expect(before).toBe(1_000_000_001);
    await client.del('tv2:a'); // evicted, or expired

    now += 1;
    const [after] = await store.invalidate(['a']);

    expect(after).toBeGreaterThan(before!);
  });

  it('keeps a version for ttl after its last invalidation', async () => {
    const store = redisTagVersions({ client, prefix: 'tv3:', ttl: 60_000 });
    await store.invalidate(['a']);
    const ttl = await client.pttl('tv3:a');
    expect(ttl).toBeGreaterThan(55_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  it('rejects with TagStoreError when Redis does not answer within timeout', async () => {
    const own = await startRedis();
    const c = new Redis(own.options());
    const store = redisTagVersions({ client: c, timeout: 100 });
    await store.get(['warm']);
    own.pause();
    try {
      await expect(store.get(['a'])).rejects.toThrow(TagStoreError);
      await expect(store.invalidate(['a'])).rejects.toThrow(TagStoreError);
    } finally {
      own.resume();
    }
    c.disconnect();
    await own.stop();
  });
});
