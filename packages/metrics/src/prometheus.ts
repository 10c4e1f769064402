import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { z } from 'zod';
import type { CacheAnalyzer } from './cache-analyzer.js';
import type { CacheMetrics } from './cache-metrics.js';
import { InvalidOptionsError } from './errors.js';
import type { MetricRecord } from './records.js';
import { parseOptions, withMethods } from './validate.js';

/** Options of {@link prometheusExporter}. */
export interface PrometheusExporterOptions {
  /** The metrics to export; every record they count from now on is exported. */
  readonly metrics: CacheMetrics;
  /**
   * Where the series are registered. Pass prom-client's global `register` to use the default
   * registry; it is never used unless passed.
   * @default new Registry()
   */
  readonly registry?: Registry;
  /**
   * Also export per-operation hits and misses from this analyzer
   * (`tiercache_operation_requests_total{operation,result}`); its `maxOperations` bounds the
   * label values.
   * @default undefined
   */
  readonly analyzer?: CacheAnalyzer;
  /**
   * Prepended to every series name.
   * @default 'tiercache_'
   */
  readonly prefix?: string;
  /**
   * Histogram bucket upper bounds in seconds (fixed, log-spaced).
   * @default DEFAULT_DURATION_BUCKETS (100 µs to 10 s, 1-2.5-5 per decade)
   */
  readonly buckets?: readonly number[];
}

/**
 * Default histogram buckets in seconds: 1-2.5-5 steps per decade from 100 µs (an L1 hit) to
 * 10 s (a slow loader).
 */
export const DEFAULT_DURATION_BUCKETS: readonly number[] = Object.freeze([
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]);

/** A monotonic count for one label set of a counter read at scrape time. */
interface Tally {
  readonly labels: Record<string, string>;
  n: number;
}

function tally(tallies: Map<string, Tally>, id: string, labels: Record<string, string>): void {
  const t = tallies.get(id);
  if (t !== undefined) t.n++;
  else tallies.set(id, { labels, n: 1 });
}

const CIRCUIT_VALUE: Readonly<Record<string, number>> = { closed: 0, 'half-open': 1, open: 2 };

const schema = z.strictObject({
  metrics: withMethods<CacheMetrics>('onRecord', 'snapshot'),
  registry: withMethods<Registry>('registerMetric', 'removeSingleMetric').optional(),
  analyzer: withMethods<CacheAnalyzer>('analyze').optional(),
  prefix: z
    .string()
    .regex(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/, 'expected a Prometheus metric name prefix')
    .optional(),
  buckets: z.array(z.number().positive()).min(1).optional(),
});

/**
 * Exports {@link CacheMetrics} to Prometheus through prom-client. Every record is counted as
 * it arrives, in the exporter's own monotonic counts (so `metrics.reset()` never makes a
 * counter go backwards); the hot counters (hits, misses, loads, evictions) are copied into
 * prom-client at scrape time, as are circuit state and per-operation counts. Every label value
 * comes from a bounded set: tier names, operations, reasons, error codes, never keys.
 */
export class PrometheusExporter {
  /** The registry holding the series: serve `await registry.metrics()` on `/metrics`. */
  readonly registry: Registry;
  readonly #names: string[] = [];
  readonly #unsubscribe: () => void;

  /**
   * Prefer {@link prometheusExporter}. Throws {@link InvalidOptionsError} for a bad option, or
   * when the registry already holds a series of the same name (use another `prefix`).
   */
  constructor(options: PrometheusExporterOptions) {
    const o = parseOptions(schema, options);
    const registry = o.registry ?? new Registry();
    this.registry = registry;
    const p = o.prefix ?? 'tiercache_';
    const buckets = [...(o.buckets ?? DEFAULT_DURATION_BUCKETS)];
    const metrics = o.metrics;
    const analyzer = o.analyzer;
    const registers = [registry];

    const make = <T>(create: () => T, name: string): T => {
      try {
        const metric = create();
        this.#names.push(name);
        return metric;
      } catch (error) {
        this.#remove();
        throw new InvalidOptionsError(
          `registry: cannot register ${name} (${error instanceof Error ? error.message : String(error)}); pass another registry or prefix`,
          { cause: error },
        );
      }
    };
    const counter = <L extends string>(name: string, help: string, labelNames: L[] = []) =>
      make(() => new Counter<L>({ name: p + name, help, labelNames, registers }), p + name);
    const histogram = <L extends string>(name: string, help: string, labelNames: L[]) =>
      make(
        () => new Histogram<L>({ name: p + name, help, labelNames, buckets, registers }),
        p + name,
      );

    // The hot counters are tallied here and copied into prom-client at scrape time: its
    // inc() hashes the label set on every call, which would cost more than the cache hit.
    const tallied = <L extends string>(name: string, help: string, labelNames: L[] = []) => {
      const tallies = new Map<string, Tally>();
      make(
        () =>
          new Counter<L>({
            name: p + name,
            help,
            labelNames,
            registers,
            collect() {
              this.reset();
              for (const t of tallies.values())
                this.inc(t.labels as Partial<Record<L, string>>, t.n);
            },
          }),
        p + name,
      );
      return tallies;
    };
    const hits = tallied('hits_total', 'Cache hits, by the tier that answered.', ['tier']);
    const staleHits = tallied('stale_hits_total', 'Hits that returned a stale value.', ['tier']);
    const misses = tallied('misses_total', 'Reads no tier could answer.');
    const loads = tallied('loads_total', 'Loader calls that resolved.');
    const loadErrors = counter('load_errors_total', 'Loader calls that failed.', ['timeout']);
    const staleServed = counter('stale_served_total', 'Stale values served, by reason.', [
      'reason',
    ]);
    const refreshes = counter('refreshes_total', 'Background refreshes started.', ['kind']);
    const tierErrors = counter('tier_errors_total', 'Tier failures (reads went on without it).', [
      'tier',
      'operation',
      'code',
    ]);
    const corrupt = counter('corrupt_payloads_total', 'Undecodable tier payloads.', ['tier']);
    const evictions = tallied('evictions_total', 'Entries evicted for room.', ['tier', 'reason']);
    const bus = counter('bus_messages_total', 'Invalidation bus messages.', ['direction']);
    const loadDuration = histogram('load_duration_seconds', 'Loader call duration.', ['result']);
    const tierDuration = histogram('tier_duration_seconds', 'Tier operation duration.', [
      'tier',
      'operation',
    ]);
    make(
      () =>
        new Gauge<'tier'>({
          name: `${p}circuit_state`,
          help: 'Circuit breaker state by tier: 0 closed, 1 half-open, 2 open.',
          labelNames: ['tier'],
          registers,
          collect() {
            const states = metrics.circuitStates;
            for (const tier of Object.keys(states)) {
              this.set({ tier }, CIRCUIT_VALUE[states[tier] as string] ?? 2);
            }
          },
        }),
      `${p}circuit_state`,
    );
    if (analyzer !== undefined) {
      make(
        () =>
          new Counter<'operation' | 'result'>({
            name: `${p}operation_requests_total`,
            help: 'Reads by operation (from the key classifier) and result (hit or miss).',
            labelNames: ['operation', 'result'],
            registers,
            collect() {
              // The analyzer holds the counts: copy them at scrape time.
              this.reset();
              for (const a of analyzer.analyze()) {
                this.inc({ operation: a.operation, result: 'hit' }, a.hits);
                this.inc({ operation: a.operation, result: 'miss' }, a.misses);
              }
            },
          }),
        `${p}operation_requests_total`,
      );
    }

    const missTally: Tally = { labels: {}, n: 0 };
    const loadTally: Tally = { labels: {}, n: 0 };
    misses.set('', missTally);
    loads.set('', loadTally);
    const loadOk = loadDuration.labels('ok');
    const loadFailed = loadDuration.labels('error');

    this.#unsubscribe = metrics.onRecord((r: MetricRecord) => {
      switch (r.type) {
        case 'hit': {
          const t = hits.get(r.tier);
          if (t !== undefined) t.n++;
          else hits.set(r.tier, { labels: { tier: r.tier }, n: 1 });
          if (r.stale) tally(staleHits, r.tier, { tier: r.tier });
          return;
        }
        case 'miss':
          missTally.n++;
          return;
        case 'load':
          loadTally.n++;
          loadOk.observe(r.durationMs / 1000);
          return;
        case 'load-error':
          loadErrors.labels(String(r.timeout)).inc();
          loadFailed.observe(r.durationMs / 1000);
          return;
        case 'stale-served':
          staleServed.labels(r.reason).inc();
          return;
        case 'refresh':
          refreshes.labels(r.early ? 'early' : 'stale').inc();
          return;
        case 'tier-error':
          tierErrors.labels(r.tier, r.operation, r.code).inc();
          if (r.corrupt) corrupt.labels(r.tier).inc();
          return;
        case 'eviction':
          tally(evictions, `${r.tier}\u0000${r.reason}`, { tier: r.tier, reason: r.reason });
          return;
        case 'bus':
          bus.labels(r.direction).inc();
          return;
        case 'latency':
          tierDuration.labels(r.tier, r.operation).observe(r.durationMs / 1000);
          return;
        default:
          // 'circuit' is read at scrape time.
          return;
      }
    });
  }

  /** Stops exporting and removes this exporter's series from the registry. Idempotent. */
  close(): void {
    this.#unsubscribe();
    this.#remove();
  }

  #remove(): void {
    for (const name of this.#names.splice(0)) this.registry.removeSingleMetric(name);
  }
}

/**
 * Exports `metrics` (and optionally an analyzer) to a prom-client registry: a new one unless
 * you pass yours. Import from `@tiercache/metrics/prometheus` (prom-client is an optional peer
 * dependency, needed only by this entry point).
 *
 * ```ts
 * import { prometheusExporter } from '@tiercache/metrics/prometheus';
 * const { registry } = prometheusExporter({ metrics });
 * app.get('/metrics', async (_req, res) => res.type(registry.contentType).send(await registry.metrics()));
 * ```
 */
export function prometheusExporter(options: PrometheusExporterOptions): PrometheusExporter {
  return new PrometheusExporter(options);
}
