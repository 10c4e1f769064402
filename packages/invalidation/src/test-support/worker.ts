/**
 * One cache instance in its own process, driven by the multi-process integration tests
 * (`node --import tsx src/test-support/worker.ts`). Reads one JSON command per line on stdin,
 * answers `{ id, ...result }` on stdout; unsolicited lines are `{ event, ... }`.
 *
 * Its "database" is a Redis key per cache key (`db:<key>`): a stand-in for the source of
 * truth that every process can change.
 *
 * Env: REDIS_PORT, PREFIX (L2 prefix), CHANNEL (bus channel), NAME (instance name).
 */
import { createInterface } from 'node:readline';
import { CacheManager } from '@tiercache/core';
import { globMatcher } from '@tiercache/keys';
import { memoryTier } from '@tiercache/l1';
import { redisTier } from '@tiercache/redis';
import { Redis } from 'ioredis';
import { createInvalidator, invalidationRegistry, redisBus, redisTagVersions } from '../index.js';

const env = (name: string): string => {
  const value = process.env[name];
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
};

const say = (line: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify(line)}\n`);
};

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across processes. */
const now = (): number => performance.timeOrigin + performance.now();

const name = env('NAME');
const prefix = env('PREFIX');
const quiet = {
  warn: () => {},
  error: (message: string) => say({ event: 'log', message }),
  debug: () => {},
};
const redis = new Redis({
  host: '127.0.0.1',
  port: Number(env('REDIS_PORT')),
  enableAutoPipelining: true,
  maxRetriesPerRequest: 1,
});
const bus = redisBus({
  client: redis,
  channel: env('CHANNEL'),
  connectionName: `tc-bus-${name}`,
  logger: quiet,
});
const tagVersions = redisTagVersions({ client: redis, prefix: `${prefix}tag:` });
const l1 = memoryTier({ max: 100_000 });
const l2 = redisTier({ client: redis, prefix, logger: quiet });

function manager(
  versionedWrites: boolean,
  withBus: boolean,
  own = memoryTier({ max: 1_000 }),
): CacheManager {
  return new CacheManager({
    l1: withBus ? l1 : own,
    l2,
    ...(withBus ? { bus } : {}),
    tagVersions,
    matchPattern: globMatcher,
    versionedWrites,
    ttl: 600_000,
    jitter: 0,
    earlyRefresh: false,
    clock: Date.now,
    logger: quiet,
  });
}

const cache = manager(true, true);
type Events = { 'agent.updated': { agentId: string } };
const invalidator = createInvalidator({
  cache,
  events: invalidationRegistry<Events>().on('agent.updated', ({ agentId }) => ({
    keys: [`ev:${agentId}`],
    tags: [`evtag:${agentId}`],
  })),
});

bus.on('reconnect-clear', ({ reason }) => say({ event: 'reconnect-clear', reason, at: now() }));

const readDb = async (key: string): Promise<string | null> => redis.get(`db:${key}`);

type Command = Record<string, unknown> & { id: number; cmd: string };

/** Resolves when the parent sends `{ cmd: 'continue', token }`. */
const continues = new Map<string, () => void>();

async function run(c: Command): Promise<Record<string, unknown>> {
  switch (c.cmd) {
    case 'ready':
      await bus.ready();
      return { connectionName: bus.connectionName, instanceId: bus.instanceId };
    case 'prime': {
      const key = c.key as string;
      const tags = c.tags as string[] | undefined;
      const value = await cache.get(
        key,
        () => readDb(key),
        tags === undefined ? undefined : { tags },
      );
      return { value };
    }
    case 'get': {
      const key = c.key as string;
      const tags = c.tags as string[] | undefined;
      return {
        value: await cache.get(key, () => readDb(key), tags === undefined ? undefined : { tags }),
      };
    }
    case 'peek':
      return { present: l1.peek(c.key as string) !== undefined };
    case 'stats':
      return { stats: bus.stats };
    case 'watch': {
      // Resolves with the instant of the first bus message after which this instance no
      // longer answers `old` for `key`: each received message is followed by a get, which
      // decides synchronously whether L1 still serves the entry.
      const key = c.key as string;
      const old = c.old as string;
      const tags = c.tags as string[] | undefined;
      const options = tags === undefined ? undefined : { tags };
      return new Promise((resolve) => {
        let done = false;
        const finish = (result: Record<string, unknown>): void => {
          if (done) return;
          done = true;
          off();
          clearTimeout(timer);
          resolve(result);
        };
        const off = bus.on('received', () => {
          const at = now();
          void cache
            .get(key, () => readDb(key), options)
            .then((value) => {
              if (value !== old) finish({ seenAt: at, value });
            });
        });
        const timer = setTimeout(() => finish({ timeout: true }), 5_000);
        say({ event: 'watching', id: c.id });
      });
    }
    case 'invalidate': {
      const key = c.key as string;
      await redis.set(`db:${key}`, c.value as string);
      const t0 = now();
      switch (c.strategy) {
        case 'key':
          await invalidator.invalidate(key);
          break;
        case 'tag':
          await invalidator.invalidateTag(c.tag as string);
          break;
        case 'pattern':
          await invalidator.invalidatePattern(c.pattern as string);
          break;
        case 'event':
          await invalidator.emit('agent.updated', { agentId: c.agentId as string });
          break;
        default:
          throw new Error(`unknown strategy ${String(c.strategy)}`);
      }
      return { t0, t1: now() };
    }
    case 'race-read': {
      // A reader whose loader reads the row, then (optionally) waits to be told to go on.
      const key = c.key as string;
      const readerL1 = memoryTier({ max: 1_000 });
      const reader = manager(c.versioned as boolean, false, readerL1);
      const token = c.token as string | undefined;
      const delay = c.delay as number | undefined;
      const value = await reader.get(key, async () => {
        const row = await readDb(key);
        if (token !== undefined) {
          say({ event: 'loaded', token, row });
          await new Promise<void>((go) => continues.set(token, go));
        } else if (delay !== undefined) {
          await new Promise((go) => setTimeout(go, delay));
        }
        return row;
      });
      await reader.close(); // waits for the background L2 write (and a refused one's L1 drop)
      const held = readerL1.peek(key) as { v?: unknown } | undefined;
      return { value, l1: held?.v ?? null };
    }
    case 'race-write': {
      const key = c.key as string;
      const writer = manager(c.versioned as boolean, false);
      const delay = c.delay as number | undefined;
      if (delay !== undefined) await new Promise((go) => setTimeout(go, delay));
      await redis.set(`db:${key}`, c.value as string);
      await writer.delete(key);
      await writer.close();
      return {};
    }
    case 'continue':
      continues.get(c.token as string)?.();
      continues.delete(c.token as string);
      return {};
    case 'exit':
      await cache.close();
      await bus.close();
      redis.disconnect();
      setImmediate(() => process.exit(0));
      return {};
    default:
      throw new Error(`unknown command ${c.cmd}`);
  }
}

createInterface({ input: process.stdin }).on('line', (line) => {
  const command = JSON.parse(line) as Command;
  run(command).then(
    (result) => say({ id: command.id, ...result }),
    (error: unknown) => say({ id: command.id, error: String(error) }),
  );
});
