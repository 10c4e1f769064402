import { connect as connectTls } from 'node:tls';
import { Redis, type RedisOptions } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidOptionsError, ServerStartError } from './errors.js';
import { type RedisServer, type StartRedisOptions, startRedis } from './redis-server.js';
import { sendCommands } from './resp.js';

const servers: RedisServer[] = [];
const clients: Redis[] = [];

async function server(options: StartRedisOptions): Promise<RedisServer> {
  const started = await startRedis(options);
  servers.push(started);
  return started;
}

function client(options: RedisOptions): Redis {
  const created = new Redis({ maxRetriesPerRequest: 1, ...options });
  created.on('error', () => {});
  clients.push(created);
  return created;
}

afterEach(async () => {
  for (const c of clients.splice(0)) c.disconnect();
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

const APP_USER = { name: 'app', password: 'app-s3cret', rules: '~app:* &app:* -@all +get +set' };

describe('startRedis with ACL users', () => {
  it('creates the users with their rules, and options({ user }) connects as one', async () => {
    const started = await server({ users: [APP_USER] });
    const app = client(started.options({ user: 'app' }));

    await app.set('app:k', 'v');

    expect(await app.get('app:k')).toBe('v');
    await expect(app.set('other:k', 'v')).rejects.toThrow(/NOPERM/);
    await expect(app.del('app:k')).rejects.toThrow(/NOPERM.*'del'/);
    expect(started.options({ user: 'app' })).toMatchObject({
      username: 'app',
      password: 'app-s3cret',
    });
  });

  it('keeps only the hash of a password on the command line and in ACL LIST', async () => {
    const started = await server({ users: [APP_USER] });
    const admin = client(started.options());

    const acl = (await admin.call('ACL', 'LIST')) as string[];

    expect(acl.join('\n')).toMatch(/^user app on #[0-9a-f]{64} /m);
    expect(acl.join('\n')).not.toContain('app-s3cret');
  });

  it('turns the default user off and probes, restarts and reports as tc-admin', async () => {
    const started = await server({ users: [APP_USER], disableDefaultUser: true });
    const anonymous = client({ host: started.host, port: started.port, lazyConnect: true });

    await expect(anonymous.ping()).rejects.toThrow(/NOAUTH|WRONGPASS/);
    expect(started.options()).toMatchObject({ username: 'tc-admin' });
    expect(started.url).toMatch(/^redis:\/\/tc-admin:[^@]+@127\.0\.0\.1:\d+$/);

    await started.kill();
    await started.restart();

    const app = client(started.options({ user: 'app' }));
    await app.set('app:after-restart', '1');
    expect(await app.get('app:after-restart')).toBe('1');
  });

  it('rejects an unknown user, a reserved name and a missing password', async () => {
    const started = await server({ users: [APP_USER] });

    expect(() => started.options({ user: 'nobody' })).toThrow(InvalidOptionsError);
    await expect(startRedis({ users: [{ name: 'default', password: 'x' }] })).rejects.toThrow(
      /users\.0\.name/,
    );
    await expect(startRedis({ users: [{ name: 'a b', password: 'x' }] })).rejects.toThrow(
      /users\.0\.name/,
    );
    await expect(startRedis({ users: [{ name: 'a', password: '' }] })).rejects.toThrow(
      /users\.0\.password/,
    );
    await expect(startRedis({ password: 'x', disableDefaultUser: true })).rejects.toThrow(
      InvalidOptionsError,
    );
  });

  it('never puts a password into a startup error, even when Redis quotes the bad line', async () => {
    // An unknown ACL rule makes Redis print the offending `user` line; a bad maxmemory
    // prints its line next to requirepass.
    // Both start at once; each rejection is caught at once (awaiting them in turn left the
    // second one unhandled while the first was awaited, which vitest reports as an error).
    const attempts = [
      startRedis({ users: [{ ...APP_USER, rules: '~app:* +no-such-command' }] }),
      startRedis({ password: 'req-s3cret', args: ['--requirepass', 'req-s3cret', 'extra'] }),
    ].map((attempt) =>
      attempt.then(
        () => undefined,
        (e: unknown) => e,
      ),
    );

    for (const error of await Promise.all(attempts)) {
      expect(error).toBeInstanceOf(ServerStartError);
      const text = `${(error as Error).message}\n${(error as Error).stack}`;
      expect(text).not.toContain('s3cret');
    }
  });
});

describe('startRedis with TLS', () => {
  it('serves TLS only, on the same port, trusting the CA it exposes', async () => {
    const started = await server({ tls: true });
    const redis = client(started.options());

    await redis.set('k', 'over tls');

    expect(await redis.get('k')).toBe('over tls');
    expect(started.url).toBe(`rediss://127.0.0.1:${started.port}`);
    expect(started.tls?.ca).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(started.options().tls).toEqual({ ca: started.tls?.ca });
  });

  it('refuses a plain-TCP client and a client that does not trust the CA', async () => {
    const started = await server({ tls: true });
    const plain = client({ host: started.host, port: started.port, lazyConnect: true });
    plain.options.retryStrategy = () => null;

    await expect(plain.ping()).rejects.toThrow();
    const untrusting = await new Promise<Error>((resolve) => {
      const socket = connectTls({ host: started.host, port: started.port });
      socket.once('error', resolve);
      socket.once('secureConnect', () => {
        socket.destroy();
        resolve(new Error('connected'));
      });
    });
    expect(untrusting.message).toMatch(/self[- ]signed|unable to (get|verify)/i);
  });

  it('requires the client certificate with authClients yes', async () => {
    const started = await server({ tls: { authClients: 'yes' } });
    const withCert = client(started.options());
    const ca = started.tls?.ca ?? '';

    expect(await withCert.ping()).toBe('PONG');
    await expect(
      sendCommands({ host: started.host, port: started.port, tls: { ca } }, [['PING']]),
    ).rejects.toThrow();
  });

  it('keeps its certificates across kill() and restart(), and can be paused', async () => {
    const started = await server({ tls: true, users: [APP_USER] });
    const before = started.tls?.ca;
    const app = client({ ...started.options({ user: 'app' }), commandTimeout: 300 });
    await app.set('app:k', '1');

    started.pause();
    await expect(app.get('app:k')).rejects.toThrow(/timed out/);
    started.resume();
    expect(await app.get('app:k')).toBe('1');

    await started.kill();
    await started.restart();

    expect(started.tls?.ca).toBe(before);
    expect(await app.set('app:k', '2')).toBe('OK');
  });

  it('combines TLS with ACL users: the probe uses tc-admin over TLS', async () => {
    const started = await server({ tls: true, users: [APP_USER], disableDefaultUser: true });
    const [reply] = await sendCommands(started.options(), [['ACL', 'WHOAMI']]);

    expect(reply).toBe('tc-admin');
    expect(started.url).toMatch(/^rediss:\/\/tc-admin:/);
  });
});
