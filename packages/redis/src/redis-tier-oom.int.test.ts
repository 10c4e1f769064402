import { startRedis } from '@tiercache/test-servers';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type RedisTier, redisTier } from './redis-tier.js';

// Redis at maxmemory with `noeviction` refuses SET (and scripts whose first write is a SET) but
// not UNLINK: a versioned delete must still remove the value, or every instance reads it back
// until its TTL.

const clients: Redis[] = [];
const tiers: RedisTier[] = [];

afterEach(async () => {
  await Promise.all(tiers.splice(0).map((t) => t.close()));
  for (const c of clients.splice(0)) c.disconnect();
});

async function setup(server: { url: string }) {
  const client = new Redis(server.url, { maxRetriesPerRequest: 1 });
  clients.push(client);
  const tier = redisTier({
    client,
    prefix: 'oom:',
    logger: { warn: vi.fn(), error: vi.fn(), debug: vi.fn() },
    circuitBreaker: false,
  });
  tiers.push(tier);
  // maxmemory far below what an empty Redis uses: every SET is refused, whatever is freed.
  const fill = async (): Promise<void> => {
    await client.config('SET', 'maxmemory-policy', 'noeviction');
    await client.config('SET', 'maxmemory', '1');
  };
  return { client, tier, fill };
}

describe('redisTier when Redis is out of memory (noeviction)', () => {
  it('deleteVersioned removes the value, and a load that read the old version cannot write it back', async () => {
    await using server = await startRedis();
    const { client, tier, fill } = await setup(server);
    await tier.setVersioned('agent:1', { name: 'old' }, 60_000);
    const [before] = await tier.getVersions(['agent:1']);
    await fill();
    await expect(client.set('probe', 'x')).rejects.toThrow(/OOM/);

    await expect(tier.deleteVersioned('agent:1')).resolves.toBe(true);

    expect(await tier.get('agent:1')).toBeUndefined();
    await client.config('SET', 'maxmemory', '0');
    await expect(tier.setIfVersion('agent:1', { name: 'old' }, 60_000, before!)).resolves.toBe(
      false,
    );
    expect(await tier.get('agent:1')).toBeUndefined();
  });

  it('setVersioned replaces the value (the write is not refused half way)', async () => {
    await using server = await startRedis();
    const { client, tier, fill } = await setup(server);
    await tier.setVersioned('agent:2', { name: 'old' }, 60_000);
    await fill();
    await expect(client.set('probe', 'x')).rejects.toThrow(/OOM/);

    await tier.setVersioned('agent:2', { name: 'new' }, 60_000);
    await tier.setVersioned('agent:3', { name: 'new' }, 60_000);

    expect(await tier.get('agent:2')).toEqual({ name: 'new' });
    expect(await tier.get('agent:3')).toEqual({ name: 'new' });
  });
});
