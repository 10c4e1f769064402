import { createKeyv } from '@keyv/redis';
import type { RedisServer } from '@tiercache/test-servers';
import { BentoCache, bentostore } from 'bentocache';
import { redisDriver } from 'bentocache/drivers/redis';
import { createCache } from 'cache-manager';
import { Redis, type RedisOptions } from 'ioredis';
import {
  fastest,
  importTiercache,
  measurePrepared,
  type Prepared,
  prepare,
  rowsOf,
  verifyAll,
} from '../contenders.js';
import type { MeasureOptions } from '../measure.js';
import {
  type Check,
  formatRatio,
  measurementTable,
  notRun,
  ratioCheck,
  type Section,
} from '../report.js';
import type { AgentRecord, Workload } from '../workload.js';

const SCENARIO = 'L2 hit';
const TTL_MS = 3_600_000;
/** Concurrent gets in flight per timed call. */
export const CONCURRENCY = 64;

const RAW = 'ioredis GET + JSON.parse';
const RAW_AP = 'ioredis GET + JSON.parse, enableAutoPipelining';
const TC = 'tiercache: CacheManager({ l2: redisTier({ connection }) }).get(k, loader)';
const TC_GZIP = "tiercache, codec createCodec() (gzip from 1 KiB, the guide's rule)";
const BENTO_GET = 'BentoCache redis store (L2 only): get({ key })';
const BENTO_GOS = 'BentoCache redis store (L2 only): getOrSet({ key, factory })';
const BENTO_AP_GET = 'BentoCache redis store, enableAutoPipelining: get';
const BENTO_AP_GOS = 'BentoCache redis store, enableAutoPipelining: getOrSet';
const CM_GET = 'cache-manager + @keyv/redis: get(k)';
const CM_WRAP = 'cache-manager + @keyv/redis: wrap(k, fn)';

const PEERS = [BENTO_GET, BENTO_GOS, BENTO_AP_GET, BENTO_AP_GOS, CM_GET, CM_WRAP];

export interface L2Options {
  workload: Workload;
  measure: MeasureOptions;
  redis: RedisServer;
}

function parseJson(text: string | null): unknown {
  return text === null ? undefined : JSON.parse(text);
}

function redisBento(connection: RedisOptions) {
  return new BentoCache({
    default: 'redis',
    stores: { redis: bentostore().useL2Layer(redisDriver({ connection })) },
  });
}

/**
 * Scenario 2: no L1 anywhere; every get goes to Redis and decodes the value. One timed call
 * starts 64 gets of random keys at once and awaits them all (a busy server handling 64
 * requests), so client-side batching of commands shows.
 */
export async function l2HitScenario({ workload, measure, redis }: L2Options): Promise<Section> {
  const seq = workload.randomOrder;
  const mask = seq.length - 1;
  if ((seq.length & mask) !== 0) throw new Error('randomOrder length must be a power of two');
  const value = (key: string): AgentRecord => workload.valueByKey.get(key) as AgentRecord;
  const cleanups: (() => unknown)[] = [];

  /** A contender that starts 64 gets at once through `get` and counts misses. */
  const concurrent = (
    name: string,
    get: (key: string) => Promise<unknown>,
    keys: readonly string[] = seq,
    extraCheck?: () => string | undefined,
  ) => {
    let cursor = 0;
    let misses = 0;
    return {
      name,
      opsPerCall: CONCURRENCY,
      async: true,
      fn: async () => {
        const batch = new Array<Promise<unknown>>(CONCURRENCY);
        for (let j = 0; j < CONCURRENCY; j++) batch[j] = get(keys[cursor++ & mask]!);
        const values = await Promise.all(batch);
        for (const v of values) if (v === undefined || v === null) misses++;
      },
      check: () => extraCheck?.() ?? (misses > 0 ? `${misses} misses while timed` : undefined),
    };
  };

  try {
    const prepared: Prepared[] = [];

    for (const [name, enableAutoPipelining] of [
      [RAW, false],
      [RAW_AP, true],
    ] as const) {
      prepared.push(
        await prepare(name, 'baseline', async () => {
          const client = new Redis({ ...redis.options(), enableAutoPipelining });
          cleanups.push(() => client.quit());
          for (const key of workload.keys) {
            await client.set(`raw:${key}`, JSON.stringify(value(key)), 'PX', TTL_MS);
          }
          await verifyAll(name, workload, (key) => client.get(`raw:${key}`).then(parseJson));
          const rawKeys = seq.map((key) => `raw:${key}`);
          return concurrent(name, (key) => client.get(key).then(parseJson), rawKeys);
        }),
      );
    }

    for (const [name, compression, prefix] of [
      [TC, undefined, 'tc:'],
      [TC_GZIP, 'gzip', 'tcg:'],
    ] as const) {
      prepared.push(
        await prepare(name, 'tiercache', async () => {
          const { CacheManager } = await importTiercache(
            '@tiercache/core',
            () => import('@tiercache/core'),
          );
          const { redisTier } = await importTiercache(
            '@tiercache/redis',
            () => import('@tiercache/redis'),
          );
          let codec: import('@tiercache/compression').Codec | undefined;
          if (compression) {
            const { createCodec } = await importTiercache(
              '@tiercache/compression',
              () => import('@tiercache/compression'),
            );
            codec = createCodec({ compression, threshold: 1024 });
          }
          const tier = redisTier(
            codec
              ? { connection: redis.options(), prefix, codec }
              : { connection: redis.options(), prefix },
          );
          const cache = new CacheManager({ l2: tier });
          cleanups.push(async () => {
            await cache.close();
            await tier.close();
          });
          for (const key of workload.keys) await cache.set(key, value(key), { ttl: TTL_MS });
          let loads = 0;
          const loader = ({ key }: { key: string }): AgentRecord => {
            loads++;
            return value(key);
          };
          await verifyAll(name, workload, (key) => cache.get(key, loader));
          if (loads > 0) throw new Error(`${loads} keys written with set() were not L2 hits`);
          return concurrent(
            name,
            (key) => cache.get(key, loader),
            seq,
            () => (loads > 0 ? `${loads} loader calls while timed` : undefined),
          );
        }),
      );
    }

    for (const [getName, gosName, enableAutoPipelining] of [
      [BENTO_GET, BENTO_GOS, false],
      [BENTO_AP_GET, BENTO_AP_GOS, true],
    ] as const) {
      let bento: ReturnType<typeof redisBento> | undefined;
      let loads = 0;
      const factory = (): never => {
        loads++;
        throw new Error('factory called on a hit');
      };
      const setup = async (): Promise<ReturnType<typeof redisBento>> => {
        if (bento) return bento;
        // The documented setup passes ioredis connection options; bentocache creates the
        // client (without auto-pipelining unless asked, hence the second variant).
        const created = redisBento(
          enableAutoPipelining ? { ...redis.options(), enableAutoPipelining } : redis.options(),
        );
        cleanups.push(() => created.disconnectAll());
        for (const key of workload.keys) {
          await created.set({ key, value: value(key), ttl: TTL_MS });
        }
        await verifyAll(getName, workload, (key) => created.get({ key }));
        bento = created;
        return created;
      };
      prepared.push(
        await prepare(getName, 'peer', async () => {
          const b = await setup();
          return concurrent(getName, (key) => b.get({ key }));
        }),
        await prepare(gosName, 'peer', async () => {
          const b = await setup();
          return concurrent(
            gosName,
            (key) => b.getOrSet({ key, factory }),
            seq,
            () => (loads > 0 ? `${loads} factory calls while timed` : undefined),
          );
        }),
      );
    }

    {
      // @keyv/redis's documented one-liner; a namespace keeps its keys apart from the others.
      const cm = createCache({ stores: [createKeyv(redis.url, { namespace: 'cm' })] });
      cleanups.push(() => cm.disconnect());
      let ready: Promise<void> | undefined;
      const setup = (): Promise<void> => {
        ready ??= (async () => {
          for (const key of workload.keys) await cm.set(key, value(key), TTL_MS);
          await verifyAll(CM_GET, workload, (key) => cm.get(key));
        })();
        return ready;
      };
      let loads = 0;
      prepared.push(
        await prepare(CM_GET, 'peer', async () => {
          await setup();
          return concurrent(CM_GET, (key) => cm.get(key));
        }),
        await prepare(CM_WRAP, 'peer', async () => {
          await setup();
          return concurrent(
            CM_WRAP,
            (key) =>
              cm.wrap(key, () => {
                loads++;
                return value(key);
              }),
            seq,
            () => (loads > 0 ? `${loads} wrapped function calls while timed` : undefined),
          );
        }),
      );
    }

    const { results, problems } = await measurePrepared(prepared, measure);
    const raw = results.find((m) => m.name === RAW);
    const rawAp = results.find((m) => m.name === RAW_AP);
    const tc = results.find((m) => m.name === TC);
    const tcGzip = results.find((m) => m.name === TC_GZIP);
    const peer = fastest(results, PEERS);

    const checks: Check[] = [];
    const t1 = 'tiercache ÷ raw ioredis (no auto-pipelining)';
    const t2 = 'tiercache ÷ fastest peer';
    if (tc && raw) checks.push(ratioCheck(SCENARIO, t1, tc, raw, 1.2));
    else checks.push(notRun(SCENARIO, t1, '≥ 1.2×', tc ? 'baseline missing' : 'tiercache missing'));
    if (tc && peer) checks.push(ratioCheck(SCENARIO, t2, tc, peer, 1));
    else checks.push(notRun(SCENARIO, t2, '≥ 1×', tc ? 'peers missing' : 'tiercache missing'));

    const lines = [
      `No L1 anywhere: each get is a Redis round trip plus decoding. One timed call starts ${CONCURRENCY} gets of random keys (the same pseudo-random sequence for everyone) and awaits them all; ops/s counts gets. Each library wrote the ${workload.keys.length} values through its own API (formats differ: tiercache's codec, BentoCache's JSON envelope, Keyv's JSON), TTL 1 h, on a dedicated redis-server.`,
      '',
      ...measurementTable(
        rowsOf(prepared, results, problems),
        raw ? { label: 'raw ioredis', opsPerSec: raw.opsPerSec } : undefined,
      ),
      '',
      rawAp && raw
        ? `Raw ioredis with \`enableAutoPipelining\`: ${formatRatio(rawAp.opsPerSec / raw.opsPerSec)} the plain client. tiercache's redis tier enables it on the clients it creates, merges the gets of one tick into MGETs of 16 keys, each sent as soon as it is full, and sends them outside the auto-pipeline (\`autoPipeliningIgnoredCommands: ['mget']\`: through it, the batch waited one more tick inside a Pipeline, about 30 % of this scenario's throughput).`
        : '',
      tcGzip && raw && peer
        ? `For comparison, not a target: with \`codec: createCodec()\` (gzip from 1 KiB, so every value of this workload is compressed and every hit pays a gunzip) tiercache is ${formatRatio(tcGzip.opsPerSec / raw.opsPerSec)} raw ioredis and ${formatRatio(tcGzip.opsPerSec / peer.opsPerSec)} the fastest peer. The redis tier's default codec compresses from 8 KiB for that reason (section 3 has the per-value encode/decode cost).`
        : '',
      peer ? `Fastest peer: **${peer.name}**.` : '',
    ];
    return { title: `L2 hit path (Redis only, ${CONCURRENCY} concurrent callers)`, lines, checks };
  } finally {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch {
        // Closing is best effort: the numbers are already taken.
      }
    }
  }
}
