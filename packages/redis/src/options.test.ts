import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidOptionsError, InvalidTtlError, InvalidValueError } from './errors.js';
import { type RedisTier, redisTier } from './redis-tier.js';

// lazyConnect: these tests never send a command, so no Redis is needed.
const offline = () => new Redis({ lazyConnect: true });

function optionsError(build: () => unknown): InvalidOptionsError {
  try {
    build();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionsError);
    return error as InvalidOptionsError;
  }
  throw new Error('expected InvalidOptionsError');
}

describe('redisTier options', () => {
  const opened: Array<RedisTier | Redis> = [];
  afterEach(async () => {
    for (const item of opened.splice(0)) {
      if (item instanceof Redis) item.disconnect();
      else await item.close();
    }
  });
  const client = () => {
    const c = offline();
    opened.push(c);
    return c;
  };

  it('requires a client or connection options', () => {
    const error = optionsError(() => redisTier({}));
    expect(error.code).toBe('E_INVALID_OPTIONS');
    expect(error.message).toMatch(/^Invalid redisTier options: client: /);
  });

  it('refuses both client and connection', () => {
    const error = optionsError(() => redisTier({ client: client(), connection: {} }));
    expect(error.message).toContain('connection: pass either client or connection, not both');
  });

  it('names a client that is not an ioredis client', () => {
    const error = optionsError(() => redisTier({ client: {} as Redis }));
    expect(error.message).toContain('client: expected an ioredis Redis or Cluster instance');
  });

  it.each([
    ['commandTimeout', { commandTimeout: 0 }],
    ['commandTimeout', { commandTimeout: 1.5 }],
    ['prefix', { prefix: 42 }],
    ['batch', { batch: 'yes' }],
    ['clock', { clock: 5 }],
    ['logger', { logger: { warn: () => {} } }],
    ['codec', { codec: { encode: () => Buffer.alloc(0) } }],
    ['circuitBreaker', { circuitBreaker: true }],
    ['circuitBreaker.failureThreshold', { circuitBreaker: { failureThreshold: 0 } }],
    ['circuitBreaker.resetTimeout', { circuitBreaker: { resetTimeout: -1 } }],
  ])('names the field %s', (field, bad) => {
    const error = optionsError(() => redisTier({ client: client(), ...(bad as object) }));
    expect(error.message).toMatch(new RegExp(`^Invalid redisTier options: ${field}: `));
    expect(error.cause).toBeDefined();
  });

  it('names an unknown option', () => {
    const error = optionsError(() =>
      redisTier({ client: client(), ttl: 5 } as unknown as Parameters<typeof redisTier>[0]),
    );
    expect(error.message).toContain('ttl: Unrecognized key');
  });

  it('applies the documented defaults', () => {
    const tier = redisTier({ client: client() });
    expect(tier.name).toBe('l2');
    expect(tier.prefix).toBe('tc:');
    expect(tier.circuitState).toBe('closed');
  });

  it('accepts circuitBreaker: false', () => {
    const tier = redisTier({ client: client(), circuitBreaker: false });
    expect(tier.circuitState).toBe('closed');
  });

  it('creates and owns a client from connection options', async () => {
    const tier = redisTier({ connection: { lazyConnect: true, keyPrefix: undefined } });
    expect(tier.client.options.enableAutoPipelining).toBe(true);
    expect((tier.client as Redis).options.maxRetriesPerRequest).toBe(1);
    await tier.close();
    expect(tier.client.status).toBe('end');
  });

  it('lets connection options override the defaults', async () => {
    const tier = redisTier({ connection: { lazyConnect: true, maxRetriesPerRequest: 3 } });
    expect((tier.client as Redis).options.maxRetriesPerRequest).toBe(3);
    await tier.close();
  });

  it('leaves a client it did not create open on close()', async () => {
    const c = client();
    const tier = redisTier({ client: c });
    await tier.close();
    expect(c.status).toBe('wait');
  });
});

describe('redisTier arguments', () => {
  const tier = () => redisTier({ client: new Redis({ lazyConnect: true }) });

  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])(
    'rejects set() with ttlMs %s without sending it',
    async (ttl) => {
      const t = tier();
      await expect(t.set('k', 1, ttl)).rejects.toBeInstanceOf(InvalidTtlError);
      await expect(t.set('k', 1, ttl)).rejects.toMatchObject({ code: 'E_INVALID_TTL' });
      expect(t.client.status).toBe('wait');
    },
  );

  it('rejects set() of undefined', async () => {
    const t = tier();
    await expect(t.set('k', undefined, 1_000)).rejects.toBeInstanceOf(InvalidValueError);
    await expect(t.set('k', undefined, 1_000)).rejects.toMatchObject({ code: 'E_INVALID_VALUE' });
    expect(t.client.status).toBe('wait');
  });

  it('refuses clear() with an empty prefix', async () => {
    const t = redisTier({ client: new Redis({ lazyConnect: true }), prefix: '' });
    await expect(t.clear()).rejects.toMatchObject({ code: 'E_CLEAR_REFUSED' });
    expect(t.client.status).toBe('wait');
  });

  it('refuses to subscribe to an unknown event', () => {
    expect(() => tier().on('open' as 'circuit', () => {})).toThrow(InvalidOptionsError);
  });

  it('answers getMany([]) without Redis', async () => {
    await expect(tier().getMany([])).resolves.toEqual([]);
  });
});
