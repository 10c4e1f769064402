import { BentoCache, bentostore } from 'bentocache';
import { memoryDriver } from 'bentocache/drivers/memory';
import { createCache } from 'cache-manager';
import { Keyv } from 'keyv';
import { LRUCache } from 'lru-cache';
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
import { type Check, measurementTable, notRun, ratioCheck, type Section } from '../report.js';
import { type AgentRecord, KEY_COUNT, type Workload } from '../workload.js';

const SCENARIO = 'L1 hit';
const TTL_MS = 3_600_000;

const LRU = 'lru-cache (max)';
const LRU_TTL = 'lru-cache (max + ttl)';
const TC = 'tiercache: CacheManager({ l1: memoryTier() }).get(k, loader)';
const BENTO_GET = 'BentoCache memory store: get({ key })';
const BENTO_GOS = 'BentoCache memory store: getOrSet({ key, factory })';
const BENTO_RAW_GET = 'BentoCache memory store, serialize: false: get';
const BENTO_RAW_GOS = 'BentoCache memory store, serialize: false: getOrSet';
const CM_GET = 'cache-manager + Keyv (in-memory): get(k)';
const CM_WRAP = 'cache-manager + Keyv (in-memory): wrap(k, fn)';

const BASELINES = [LRU, LRU_TTL];
const PEERS = [BENTO_GET, BENTO_GOS, BENTO_RAW_GET, BENTO_RAW_GOS, CM_GET, CM_WRAP];

/**
 * BentoCache with only its memory layer. Its documented default is `serialize: true` (values
 * kept as JSON strings and parsed on every get); `serialize: false` keeps references, like
 * lru-cache and tiercache do, so both are measured.
 */
function memoryBento(serialize: boolean) {
  return new BentoCache({
    default: 'memory',
    stores: { memory: bentostore().useL1Layer(memoryDriver({ serialize })) },
  });
}

export interface L1Options {
  workload: Workload;
  measure: MeasureOptions;
}

/**
 * Scenario 1: every key is in memory; one timed call awaits `get` for all 1000 keys in a
 * fixed shuffled order, one after the other. Measures the per-get overhead of each library
 * on top of its in-process store.
 */
export async function l1HitScenario({ workload, measure }: L1Options): Promise<Section> {
  const order = workload.serialOrder;
  const n = order.length;
  const value = (key: string): AgentRecord => workload.valueByKey.get(key) as AgentRecord;
  const cleanups: (() => unknown)[] = [];
  try {
    const prepared: Prepared[] = [];

    for (const [name, withTtl] of [
      [LRU, false],
      [LRU_TTL, true],
    ] as const) {
      prepared.push(
        await prepare(name, 'baseline', async () => {
          const lru = new LRUCache<string, AgentRecord>(
            withTtl ? { max: KEY_COUNT, ttl: TTL_MS } : { max: KEY_COUNT },
          );
          for (const key of workload.keys) lru.set(key, value(key));
          await verifyAll(name, workload, (key) => lru.get(key));
          let misses = 0;
          return {
            name,
            opsPerCall: n,
            async: true,
            fn: async () => {
              for (let i = 0; i < n; i++) {
                if ((await lru.get(order[i]!)) === undefined) misses++;
              }
            },
            check: () => (misses > 0 ? `${misses} misses while timed` : undefined),
          };
        }),
      );
    }

    prepared.push(
      await prepare(TC, 'tiercache', async () => {
        const { CacheManager } = await importTiercache(
          '@tiercache/core',
          () => import('@tiercache/core'),
        );
        const { memoryTier } = await importTiercache(
          '@tiercache/l1',
          () => import('@tiercache/l1'),
        );
        const cache = new CacheManager({ l1: memoryTier() });
        cleanups.push(() => cache.close());
        for (const key of workload.keys) await cache.set(key, value(key), { ttl: TTL_MS });
        let loads = 0;
        const loader = ({ key }: { key: string }): AgentRecord => {
          loads++;
          return value(key);
        };
        await verifyAll(TC, workload, (key) => cache.get(key, loader));
        if (loads > 0) throw new Error(`${loads} keys written with set() were not L1 hits`);
        let misses = 0;
        return {
          name: TC,
          opsPerCall: n,
          async: true,
          fn: async () => {
            for (let i = 0; i < n; i++) {
              if ((await cache.get(order[i]!, loader)) === undefined) misses++;
            }
          },
          check: () =>
            loads + misses > 0
              ? `${loads} loader calls, ${misses} undefined while timed`
              : undefined,
        };
      }),
    );

    for (const [getName, gosName, serialize] of [
      [BENTO_GET, BENTO_GOS, true],
      [BENTO_RAW_GET, BENTO_RAW_GOS, false],
    ] as const) {
      let bento: ReturnType<typeof memoryBento> | undefined;
      let loads = 0;
      const factory = (): never => {
        loads++;
        throw new Error('factory called on a hit');
      };
      const setup = async (): Promise<ReturnType<typeof memoryBento>> => {
        if (bento) return bento;
        const created = memoryBento(serialize);
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
          let misses = 0;
          return {
            name: getName,
            opsPerCall: n,
            async: true,
            fn: async () => {
              for (let i = 0; i < n; i++) {
                if ((await b.get({ key: order[i]! })) === undefined) misses++;
              }
            },
            check: () => (misses > 0 ? `${misses} misses while timed` : undefined),
          };
        }),
        await prepare(gosName, 'peer', async () => {
          const b = await setup();
          return {
            name: gosName,
            opsPerCall: n,
            async: true,
            fn: async () => {
              for (let i = 0; i < n; i++) await b.getOrSet({ key: order[i]!, factory });
            },
            check: () => (loads > 0 ? `${loads} factory calls while timed` : undefined),
          };
        }),
      );
    }

    {
      // cache-manager's quick start: createCache({ stores: [new Keyv()] }).
      const cm = createCache({ stores: [new Keyv()] });
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
          let misses = 0;
          return {
            name: CM_GET,
            opsPerCall: n,
            async: true,
            fn: async () => {
              for (let i = 0; i < n; i++) {
                if ((await cm.get(order[i]!)) === undefined) misses++;
              }
            },
            check: () => (misses > 0 ? `${misses} misses while timed` : undefined),
          };
        }),
        await prepare(CM_WRAP, 'peer', async () => {
          await setup();
          return {
            name: CM_WRAP,
            opsPerCall: n,
            async: true,
            fn: async () => {
              for (let i = 0; i < n; i++) {
                const key = order[i]!;
                await cm.wrap(key, () => {
                  loads++;
                  return value(key);
                });
              }
            },
            check: () => (loads > 0 ? `${loads} wrapped function calls while timed` : undefined),
          };
        }),
      );
    }

    const { results, problems } = await measurePrepared(prepared, measure);
    const baseline = fastest(results, BASELINES);
    const peer = fastest(results, PEERS);
    const tc = results.find((m) => m.name === TC);

    const checks: Check[] = [];
    const t1 = 'tiercache ÷ raw lru-cache (faster config)';
    const t2 = 'tiercache ÷ fastest peer';
    if (tc && baseline) checks.push(ratioCheck(SCENARIO, t1, tc, baseline, 0.5));
    else checks.push(notRun(SCENARIO, t1, '≥ 0.5×', tc ? 'baseline missing' : 'tiercache missing'));
    if (tc && peer) checks.push(ratioCheck(SCENARIO, t2, tc, peer, 10));
    else checks.push(notRun(SCENARIO, t2, '≥ 10×', tc ? 'peers missing' : 'tiercache missing'));

    const lines = [
      `Every key is pre-populated through each library's own API (TTL 1 h). One timed call awaits \`get\` for all ${n} keys, one after the other, in a fixed shuffled order; ops/s counts gets. lru-cache, tiercache (\`clone: 'none'\`, its default) and BentoCache with \`serialize: false\` return the stored object; BentoCache's default \`serialize: true\` and Keyv keep JSON strings and parse one on every get.`,
      '',
      ...measurementTable(
        rowsOf(prepared, results, problems),
        baseline ? { label: 'raw lru-cache', opsPerSec: baseline.opsPerSec } : undefined,
      ),
      '',
      baseline
        ? `Raw baseline for the ratio: **${baseline.name}** (the faster lru-cache configuration).`
        : '',
      peer ? `Fastest peer: **${peer.name}**.` : '',
    ];
    return { title: 'L1 hit path (in-process, serial awaits)', lines, checks };
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
