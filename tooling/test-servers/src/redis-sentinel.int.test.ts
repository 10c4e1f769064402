import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidOptionsError } from './errors.js';
import { type RedisSentinelServer, startRedisSentinel } from './redis-sentinel.js';
import type { RedisServer } from './redis-server.js';

const groups: RedisSentinelServer[] = [];
const clients: Redis[] = [];

async function group(options?: Parameters<typeof startRedisSentinel>[0]) {
  const started = await startRedisSentinel(options);
  groups.push(started);
  return started;
}

function direct(node: RedisServer): Redis {
  const created = new Redis(node.options());
  created.on('error', () => {});
  clients.push(created);
  return created;
}

function probe(pid: number): string | undefined {
  try {
    process.kill(pid, 0);
    return undefined;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code;
  }
}

afterEach(async () => {
  for (const c of clients.splice(0)) c.disconnect();
  await Promise.all(groups.splice(0).map((g) => g.stop()));
});

describe('startRedisSentinel', { timeout: 120_000 }, () => {
  it('starts a master, its replicas and 3 sentinels that agree on the master', async () => {
    const started = await group({ replicas: 2, masterName: 'primary' });

    expect(started.sentinels).toHaveLength(3);
    expect(started.replicas).toHaveLength(2);
    expect((await direct(started.master).role())[0]).toBe('master');
    for (const replica of started.replicas) {
      expect((await direct(replica).role())[0]).toBe('slave');
    }
    for (const sentinel of started.sentinels) {
      const s = new Redis(sentinel);
      clients.push(s);
      expect(await s.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', 'primary')).toEqual([
        '127.0.0.1',
        String(started.master.port),
      ]);
    }
    expect(await started.currentMaster()).toBe(started.master);
  });

  it('serves an ioredis Sentinel client', async () => {
    const started = await group();
    const client = new Redis({ sentinels: started.sentinels, name: started.name });
    clients.push(client);

    await client.set('k', 'v');

    expect(await direct(started.master).get('k')).toBe('v');
  });

  it('failover(): kills the master and resolves once the sentinels promoted a replica', async () => {
    const started = await group({ replicas: 1 });
    const before = started.master;
    await direct(before).set('k', 'v');
    expect(await direct(before).wait(1, 2000)).toBe(1);

    const result = await started.failover();

    expect(result.killed).toBe(before);
    expect(before.pid).toBeUndefined();
    expect(result.promoted).not.toBe(before);
    expect(started.master).toBe(result.promoted);
    expect(await started.currentMaster()).toBe(result.promoted);
    expect((await direct(result.promoted).role())[0]).toBe('master');
    expect(await direct(result.promoted).get('k')).toBe('v');
  });

  it('leaves no process behind after stop()', async () => {
    const started = await group();
    const pids = started.nodes.map((node) => node.pid!);

    await started.stop();

    expect(pids.map(probe)).toEqual(['ESRCH', 'ESRCH']);
  });

  it('rejects a bad option, naming it', async () => {
    await expect(startRedisSentinel({ replicas: 0 })).rejects.toThrow(InvalidOptionsError);
    await expect(startRedisSentinel({ replicas: 0 })).rejects.toThrow(/^replicas:/);
    await expect(startRedisSentinel({ masterName: 'a b' })).rejects.toThrow(/^masterName:/);
  });
});
