import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type RedisServer, startRedis } from '@tiercache/test-servers';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisBloom } from './redis-bloom.js';

// Each "instance" is a separate Node process, as in a real deployment behind a load balancer.
const tsx = fileURLToPath(new URL('../../../node_modules/.bin/tsx', import.meta.url));
const instanceScript = fileURLToPath(new URL('./test-support/bloom-instance.ts', import.meta.url));

let server: RedisServer;
let client: Redis;
const users = Array.from({ length: 200 }, (_, i) => `user:${i}`);

beforeAll(async () => {
  server = await startRedis();
  client = new Redis(server.options());
});

afterAll(async () => {
  client.disconnect();
  await server.stop();
});

async function runInstance(config: {
  filter: 'in-process' | 'redis';
  key: string;
  add?: string[];
  check?: string[];
}): Promise<boolean[]> {
  const { stdout } = await promisify(execFile)(tsx, [
    instanceScript,
    JSON.stringify({ port: server.port, expectedItems: 10_000, ...config }),
  ]);
  return (JSON.parse(stdout) as { mightExist: boolean[] }).mightExist;
}

describe('two instances behind a load balancer', () => {
  it('with a filter per process, B reports keys that A added as definitely absent', async () => {
    await runInstance({ filter: 'in-process', key: 'unused', add: users });
    const seenByB = await runInstance({ filter: 'in-process', key: 'unused', check: users });

    const falseNegatives = users.filter((_, i) => !seenByB[i]);
    expect(falseNegatives.length).toBeGreaterThan(190); // all but the odd false positive
    // ...although every one of them is in the cache: B would skip it, or report it missing.
    const cached = await client.exists(...falseNegatives.map((user) => `cache:${user}`));
    expect(cached).toBe(falseNegatives.length);
  });

  it('with the shared Redis filter, B sees every key that A added', async () => {
    await redisBloom({ client, key: 'bloom:users', expectedItems: 10_000 }).clear();
    await runInstance({ filter: 'redis', key: 'bloom:users', add: users });
    const seenByB = await runInstance({ filter: 'redis', key: 'bloom:users', check: users });

    expect(seenByB).toHaveLength(users.length);
    expect(seenByB.every(Boolean)).toBe(true);
  });
});
