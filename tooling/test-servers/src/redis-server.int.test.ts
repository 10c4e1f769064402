import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { ServerNotFoundError, ServerStartError } from './errors.js';
import { type RedisServer, startRedis } from './redis-server.js';

const servers: RedisServer[] = [];
const clients: Redis[] = [];

async function server(options?: Parameters<typeof startRedis>[0]): Promise<RedisServer> {
  const started = await startRedis(options);
  servers.push(started);
  return started;
}

function client(target: RedisServer, options: { commandTimeout?: number } = {}): Redis {
  const created = new Redis({ ...target.options(), ...options });
  created.on('error', () => {});
  clients.push(created);
  return created;
}

/** The errno `process.kill(pid, 0)` fails with, or `undefined` while the process exists. */
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
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

describe('startRedis', () => {
  it('starts a server that answers SET and GET', async () => {
    const redis = client(await server());

    await redis.set('greeting', 'hello');

    expect(await redis.get('greeting')).toBe('hello');
  });

  it('listens on a loopback port and describes it as a URL', async () => {
    const started = await server();

    expect(started.host).toBe('127.0.0.1');
    expect(started.url).toBe(`redis://127.0.0.1:${started.port}`);
    expect(started.options()).toEqual({ host: '127.0.0.1', port: started.port });
  });

  it('gives servers started together different ports', async () => {
    const [a, b, c] = await Promise.all([server(), server(), server()]);

    expect(new Set([a?.port, b?.port, c?.port]).size).toBe(3);
  });

  it('passes maxmemory, maxmemoryPolicy and password to the server', async () => {
    const started = await server({
      maxmemory: '10mb',
      maxmemoryPolicy: 'allkeys-lru',
      password: 's3cret:/@',
    });
    const redis = client(started);

    expect(await redis.config('GET', 'maxmemory')).toEqual(['maxmemory', String(10 * 1024 * 1024)]);
    expect(await redis.config('GET', 'maxmemory-policy')).toEqual([
      'maxmemory-policy',
      'allkeys-lru',
    ]);
    expect(started.url).toBe(
      `redis://:${encodeURIComponent('s3cret:/@')}@127.0.0.1:${started.port}`,
    );
  });

  it('refuses clients without the password', async () => {
    const started = await server({ password: 'pw' });
    const anonymous = new Redis({ host: started.host, port: started.port, lazyConnect: true });
    anonymous.on('error', () => {});
    clients.push(anonymous);

    await expect(anonymous.get('k')).rejects.toThrow(/NOAUTH/);
  });

  it('passes extra args', async () => {
    const redis = client(await server({ args: ['--maxclients', '77'] }));

    expect(await redis.config('GET', 'maxclients')).toEqual(['maxclients', '77']);
  });

  it('leaves no process behind after stop()', async () => {
    const started = await server();
    const pid = started.pid;
    expect(pid).toBeTypeOf('number');

    await started.stop();

    expect(probe(pid!)).toBe('ESRCH');
    expect(started.pid).toBeUndefined();
  });

  it('accepts stop() twice', async () => {
    const started = await server();

    await started.stop();

    await expect(started.stop()).resolves.toBeUndefined();
  });

  it('serves again on the same port after kill() and restart()', async () => {
    const started = await server();
    const redis = client(started);
    await redis.set('k', 'before');
    const { port, pid } = started;

    await started.kill();
    expect(probe(pid!)).toBe('ESRCH');
    await started.restart();

    expect(started.port).toBe(port);
    expect(started.pid).not.toBe(pid);
    // No persistence: the restarted server is empty, and the client reconnected to it.
    expect(await redis.get('k')).toBeNull();
    await redis.set('k', 'after');
    expect(await redis.get('k')).toBe('after');
  });

  it('restarts after stop() too', async () => {
    const started = await server();
    await started.stop();

    await started.restart();

    expect(await client(started).ping()).toBe('PONG');
  });

  it('makes commands time out while paused, and answers again after resume()', async () => {
    const started = await server();
    const redis = client(started, { commandTimeout: 200 });
    await redis.set('k', 'v');

    started.pause();
    await expect(redis.get('k')).rejects.toThrow(/Command timed out/);
    started.resume();

    expect(await redis.get('k')).toBe('v');
  });

  it('resumes by itself after pause(ms)', async () => {
    const started = await server();
    const redis = client(started);
    await redis.ping();
    const pausedAt = Date.now();

    started.pause(300);

    expect(await redis.ping()).toBe('PONG');
    expect(Date.now() - pausedAt).toBeGreaterThanOrEqual(250);
  });

  it('stops a paused server', async () => {
    const started = await server();
    const pid = started.pid!;
    started.pause();

    await started.stop();

    expect(probe(pid)).toBe('ESRCH');
  });

  it('stops at the end of an `await using` block', async () => {
    let pid: number | undefined;
    {
      await using started = await startRedis();
      pid = started.pid;
      expect(probe(pid!)).toBeUndefined();
    }

    expect(probe(pid!)).toBe('ESRCH');
  });

  it('explains how to install redis-server when it is not on PATH', async () => {
    const attempt = startRedis({ env: { PATH: '/nonexistent' } });

    await expect(attempt).rejects.toThrow(ServerNotFoundError);
    await expect(attempt).rejects.toThrow(
      'redis-server not found on PATH. Install it: `apt-get update && apt-get install -y redis-server` (Debian/Ubuntu) or `brew install redis` (macOS)',
    );
  });

  it('reports a missing binary given by redisServerBin', async () => {
    await expect(startRedis({ redisServerBin: 'tiercache-no-such-redis' })).rejects.toThrow(
      /^tiercache-no-such-redis not found on PATH/,
    );
  });

  it('reports the server output when it fails to start', async () => {
    const attempt = startRedis({ maxmemoryPolicy: 'not-a-policy' });

    await expect(attempt).rejects.toThrow(ServerStartError);
    await expect(attempt).rejects.toThrow(/exited during startup[\s\S]*maxmemory-policy/);
  });

  it('fails with the server output when the requested port is taken', async () => {
    const first = await server();

    await expect(startRedis({ port: first.port })).rejects.toThrow(/Address already in use/);
  });
});
