import type { RedisServer } from '@tiercache/test-servers';
import { BentoCache, bentostore } from 'bentocache';
import { memoryDriver } from 'bentocache/drivers/memory';
import { createCache } from 'cache-manager';
import { Keyv } from 'keyv';
import { importTiercache } from '../contenders.js';
import { type Check, errorText, formatInt, type Section, table } from '../report.js';
import { makeAgent, seededRandom } from '../workload.js';

/** Concurrent callers asking for the same missing key. */
export const CALLERS = 1000;
/** How long the loader takes: long enough that every caller arrives while it runs. */
const LOADER_MS = 25;

interface Outcome {
  label: string;
  loaderCalls?: number;
  /** Callers whose answer was not the loaded value. */
  wrong?: number;
  error?: string;
  /** Part of the target (tiercache) or shown for comparison (peers). */
  checked: boolean;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Fires {@link CALLERS} gets of one missing key at once and counts how often the loader ran.
 * `get` resolves to the loaded value for every caller, so the count is all that differs.
 */
async function stampede(
  label: string,
  checked: boolean,
  run: (key: string, loader: () => Promise<unknown>) => Promise<unknown>,
): Promise<Outcome> {
  const expected = makeAgent(1, seededRandom(1));
  let loaderCalls = 0;
  const loader = async () => {
    loaderCalls++;
    await sleep(LOADER_MS);
    return expected;
  };
  try {
    const key = `single-flight:${label.length}:${Date.now()}`;
    const answers = await Promise.all(Array.from({ length: CALLERS }, () => run(key, loader)));
    const wrong = answers.filter((a) => JSON.stringify(a) !== JSON.stringify(expected)).length;
    return { label, loaderCalls, wrong, checked };
  } catch (error) {
    return { label, error: errorText(error), checked };
  }
}

export interface SingleFlightOptions {
  redis: RedisServer | undefined;
}

/**
 * Scenario 4, a correctness figure: {@link CALLERS} concurrent `get`s of one missing key
 * through `CacheManager` must run the loader exactly once. Peers are shown for reference.
 */
export async function singleFlightScenario({ redis }: SingleFlightOptions): Promise<Section> {
  const outcomes: Outcome[] = [];
  const cleanups: (() => unknown)[] = [];
  try {
    let tiercache:
      | {
          CacheManager: typeof import('@tiercache/core').CacheManager;
          memoryTier: typeof import('@tiercache/l1').memoryTier;
          redisTier: typeof import('@tiercache/redis').redisTier;
        }
      | undefined;
    let importError = '';
    try {
      const [core, l1, l2] = await Promise.all([
        importTiercache('@tiercache/core', () => import('@tiercache/core')),
        importTiercache('@tiercache/l1', () => import('@tiercache/l1')),
        importTiercache('@tiercache/redis', () => import('@tiercache/redis')),
      ]);
      tiercache = {
        CacheManager: core.CacheManager,
        memoryTier: l1.memoryTier,
        redisTier: l2.redisTier,
      };
    } catch (error) {
      importError = errorText(error);
    }

    const l1Label = 'tiercache CacheManager({ l1 })';
    const l2Label = 'tiercache CacheManager({ l1, l2: redis })';
    if (tiercache) {
      const { CacheManager, memoryTier, redisTier } = tiercache;
      const l1Only = new CacheManager({ l1: memoryTier() });
      cleanups.push(() => l1Only.close());
      outcomes.push(await stampede(l1Label, true, (key, loader) => l1Only.get(key, loader)));
      if (redis) {
        const tier = redisTier({ connection: redis.options(), prefix: 'sf:' });
        const both = new CacheManager({ l1: memoryTier(), l2: tier });
        cleanups.push(async () => {
          await both.close();
          await tier.close();
        });
        outcomes.push(await stampede(l2Label, true, (key, loader) => both.get(key, loader)));
      } else {
        outcomes.push({ label: l2Label, error: 'no redis-server', checked: true });
      }
    } else {
      outcomes.push({ label: l1Label, error: importError, checked: true });
      outcomes.push({ label: l2Label, error: importError, checked: true });
    }

    const bento = new BentoCache({
      default: 'memory',
      stores: { memory: bentostore().useL1Layer(memoryDriver({})) },
    });
    cleanups.push(() => bento.disconnectAll());
    outcomes.push(
      await stampede('BentoCache memory: getOrSet', false, (key, factory) =>
        bento.getOrSet({ key, factory }),
      ),
    );
    const cm = createCache({ stores: [new Keyv()] });
    cleanups.push(() => cm.disconnect());
    outcomes.push(
      await stampede('cache-manager + Keyv: wrap', false, (key, fnc) => cm.wrap(key, fnc)),
    );
  } finally {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch {
        // Best effort.
      }
    }
  }

  const checks: Check[] = outcomes
    .filter((o) => o.checked)
    .map((o) => ({
      scenario: 'Single flight',
      label: `${o.label}: loader calls for ${formatInt(CALLERS)} concurrent gets`,
      actual:
        o.error !== undefined
          ? `not run (${o.error})`
          : `${o.loaderCalls}${o.wrong ? `, ${o.wrong} wrong answers` : ''}`,
      target: 'exactly 1',
      pass: o.error === undefined && o.loaderCalls === 1 && o.wrong === 0,
    }));
  const rows = outcomes.map((o) => [
    o.label,
    o.error !== undefined ? 'not run' : String(o.loaderCalls),
    o.error !== undefined ? o.error : String(o.wrong),
    o.checked
      ? o.error === undefined && o.loaderCalls === 1 && o.wrong === 0
        ? '✅'
        : '❌'
      : '(reference)',
  ]);
  return {
    title: `Single flight (${formatInt(CALLERS)} concurrent gets of one missing key)`,
    lines: [
      `${formatInt(CALLERS)} \`get\`s of the same missing key start in the same tick; the loader takes ${LOADER_MS} ms. Every caller must get the loaded value, and the loader must run once.`,
      '',
      ...table(['Cache', 'loader calls', 'wrong answers', 'exactly 1?'], rows, [
        'l',
        'r',
        'r',
        'l',
      ]),
    ],
    checks,
  };
}
