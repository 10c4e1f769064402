import { Cluster, Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidOptionsError, ServerNotFoundError } from './errors.js';
import { type RedisClusterServer, startRedisCluster } from './redis-cluster.js';
import type { RedisServer } from './redis-server.js';

const clusters: RedisClusterServer[] = [];
const clients: (Redis | Cluster)[] = [];

async function cluster(options?: Parameters<typeof startRedisCluster>[0]) {
  const started = await startRedisCluster(options);
  clusters.push(started);
  return started;
}

function direct(node: RedisServer): Redis {
  const created = new Redis(node.options());
  // Reconnection attempts to a killed node are expected; keep them out of the output.
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
  await Promise.all(clusters.splice(0).map((c) => c.stop()));
});

describe('startRedisCluster', () => {
  it('starts 3 masters by default, each reporting cluster_state:ok', async () => {
    const started = await cluster();

    expect(started.nodes).toHaveLength(3);
    for (const node of started.nodes) {
      const info = String(await direct(node).cluster('INFO'));
      expect(info).toContain('cluster_state:ok');
      expect(info).toContain('cluster_slots_ok:16384');
    }
  });

  it('serves keys of different slots through ioredis Cluster', async () => {
    const started = await cluster();
    const client = new Cluster(started.startupNodes);
    client.on('error', () => {});
    clients.push(client);
    // 'a', 'b' and 'c' hash to slots 15495, 3300 and 7365: one per master.
    const keys = ['a', 'b', 'c'];

    for (const key of keys) await client.set(key, `value-${key}`);

    expect(await Promise.all(keys.map((key) => client.get(key)))).toEqual([
      'value-a',
      'value-b',
      'value-c',
    ]);
    const sizes = await Promise.all(started.nodes.map((node) => direct(node).dbsize()));
    expect(sizes).toEqual([1, 1, 1]);
  });

  it('attaches replicas, listing masters first', async () => {
    const started = await cluster({ masters: 3, replicasPerMaster: 1 });

    const roles = await Promise.all(
      started.nodes.map(async (node) => (await direct(node).role())[0]),
    );

    expect(roles).toEqual(['master', 'master', 'master', 'slave', 'slave', 'slave']);
  });

  it('creates a password-protected Cluster (redis-cli gets the password from its environment)', async () => {
    const started = await cluster({ password: 's3cret-cluster' });
    const client = new Cluster(started.startupNodes, {
      redisOptions: { password: 's3cret-cluster' },
    });
    clients.push(client);

    await client.set('k', 'v');

    expect(await client.get('k')).toBe('v');
    const node = started.nodes[0]!;
    const unauthenticated = new Redis({ host: node.host, port: node.port, lazyConnect: true });
    unauthenticated.on('error', () => {});
    clients.push(unauthenticated);
    await expect(unauthenticated.cluster('INFO')).rejects.toThrow(/NOAUTH/);
  });

  it('leaves no process behind after stop()', async () => {
    const started = await cluster();
    const pids = started.nodes.map((node) => node.pid!);

    await started.stop();

    expect(pids.map(probe)).toEqual(['ESRCH', 'ESRCH', 'ESRCH']);
  });

  it('rejoins a killed and restarted node with the same node ID', async () => {
    const started = await cluster();
    const node = started.nodes[0]!;
    const before = await direct(node).cluster('MYID');

    await node.kill();
    await node.restart();

    expect(await direct(node).cluster('MYID')).toBe(before);
  });

  it('failover(): kills a master, resolves once its replica serves its slots', async () => {
    const started = await cluster({ masters: 3, replicasPerMaster: 1 });
    const client = new Cluster(started.startupNodes, { redisOptions: { maxRetriesPerRequest: 1 } });
    client.on('error', () => {});
    clients.push(client);
    await new Promise<void>((resolve) => client.once('ready', () => resolve()));
    const [victim] = await started.masters();
    // A key that lives on the victim (slot ranges are per master).
    let key = '';
    for (let i = 0; key === ''; i++) {
      const slot = (await client.cluster('KEYSLOT', `k${i}`)) as number;
      const ranges = await client.cluster('SLOTS');
      if (
        ranges.some(
          ([from, to, owner]) => from <= slot && slot <= to && owner?.[1] === victim!.port,
        )
      ) {
        key = `k${i}`;
      }
    }
    await client.set(key, 'before');
    // WAIT: the replica has the write before its master dies (replication is asynchronous).
    expect(await direct(victim!).wait(1, 2000)).toBe(1);

    const result = await started.failover(victim!);

    expect(result.killed).toBe(victim);
    expect(victim!.pid).toBeUndefined();
    expect((await direct(result.promoted).role())[0]).toBe('master');
    expect(await started.masters()).toContain(result.promoted);
    expect(await started.masters()).not.toContain(victim);
    expect(await direct(result.promoted).get(key)).toBe('before');
    expect(result.ms).toBeGreaterThan(0);

    // The old master comes back as a replica of the promoted one.
    await victim!.restart();
    await started.untilHealthy();
    expect((await direct(victim!).role())[0]).toBe('slave');
  }, 120_000);

  it('failover() refuses a master without replicas', async () => {
    const started = await cluster();
    await expect(started.failover(started.nodes[0]!)).rejects.toThrow(/has no replica/);
    expect(started.nodes[0]!.pid).toBeDefined();
  });

  it('explains how to install redis-cli when it is missing', async () => {
    await expect(startRedisCluster({ redisCliBin: 'tiercache-no-such-cli' })).rejects.toThrow(
      ServerNotFoundError,
    );
  });

  it('rejects fewer than 3 masters, naming the option', async () => {
    await expect(startRedisCluster({ masters: 2 })).rejects.toThrow(InvalidOptionsError);
    await expect(startRedisCluster({ masters: 2 })).rejects.toThrow(/^masters:/);
  });
});
