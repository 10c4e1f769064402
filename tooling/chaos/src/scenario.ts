import { setTimeout as sleep } from 'node:timers/promises';
import type { ChaosCluster } from './cluster.js';
import type { Fault, FaultTimings } from './faults.js';
import { type Ledger, Load, type Sample } from './load.js';

/** Phases and load of one scenario. */
export interface ScenarioOptions {
  /** Load before the fault; the L2 hit rate of its last part is the reference. */
  readonly baselineMs: number;
  /** Load after the fault, at least. */
  readonly minRecoveryMs: number;
  /** Load after the fault, at most (stops earlier once the L2 hit rate is back). */
  readonly maxRecoveryMs: number;
  readonly readsPerSecond: number;
  readonly writesPerSecond: number;
  /** A read older than a write acknowledged this long before it is stale. */
  readonly staleBoundMs: number;
  readonly timings: FaultTimings;
}

/** What one injection of one fault did. */
export interface ScenarioResult {
  readonly fault: string;
  readonly run: number;
  readonly pgAvailable: boolean;
  /** How long the fault lasted (inject → the server was back), ms. */
  readonly faultMs: number;
  readonly reads: number;
  readonly failedReads: number;
  /** Failed reads that PostgreSQL could have answered (all of them, unless it was down). */
  readonly failedReadsPgUp: number;
  readonly writes: number;
  readonly failedWrites: number;
  readonly maxReadMs: number;
  readonly p99ReadMs: number;
  readonly maxWriteMs: number;
  /** L2 hits / (L2 hits + misses) over the baseline; null when too few lookups reached L2. */
  readonly l2Before: number | null;
  /** From the end of the fault until a 1 s window reaches 90 % of `l2Before`; null: not in time. */
  readonly l2RecoveryMs: number | null;
  /** L2 hit rate over the last 2 s of the load (after the fault). */
  readonly l2After: number | null;
  /**
   * Reads older than a rename acknowledged more than the documented bound before (the bound,
   * plus the fault's own allowance: a stopped Redis delivers no invalidation).
   */
  readonly staleReads: number;
  /** Stale reads past the usual bound but within the fault's allowance. */
  readonly staleWithinAllowance: number;
  readonly maxStaleAgeMs: number;
  /** Reads older than a rename acknowledged less than the bound before (bus in transit). */
  readonly staleWithinBound: number;
  /** After the load: tracked agents whose name on a worker differs from PostgreSQL's. */
  readonly staleAfter: number;
  readonly lostWrites: number;
  readonly checkedWrites: number;
  /** The most frequent failures, `count × op status message`. */
  readonly topErrors: readonly string[];
  /** The first stale reads, timed from the start of the fault (for diagnosis). */
  readonly staleExamples: readonly string[];
  /** Workers that ended by now without being stopped: how, and their last lines. */
  readonly workerExits: readonly string[];
}

interface CounterSample {
  readonly at: number;
  readonly l2Hits: number;
  readonly misses: number;
}

/** L2 hits / (L2 hits + misses) between two times, from cumulative counters. */
function l2Rate(samples: readonly CounterSample[], from: number, to: number): number | null {
  let first: CounterSample | undefined;
  let last: CounterSample | undefined;
  for (const s of samples) {
    if (s.at <= from) first = s;
    if (s.at <= to) last = s;
  }
  if (first === undefined || last === undefined || last === first) return null;
  const hits = last.l2Hits - first.l2Hits;
  const lookups = hits + last.misses - first.misses;
  // Too few lookups reached L2 to call it a rate.
  return lookups < 10 ? null : hits / lookups;
}

const WINDOW_MS = 1_000;
const STEP_MS = 250;

/** Start of the first 1 s window after `end` whose L2 hit rate is ≥ 90 % of `before`. */
function recovery(
  samples: readonly CounterSample[],
  end: number,
  before: number | null,
): number | null {
  if (before === null) return null;
  const latest = samples.at(-1)?.at ?? end;
  for (let start = end; start + WINDOW_MS <= latest; start += STEP_MS) {
    const rate = l2Rate(samples, start, start + WINDOW_MS);
    if (rate !== null && rate >= 0.9 * before) return start - end;
  }
  return null;
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function topErrors(samples: readonly Sample[]): string[] {
  const counts = new Map<string, number>();
  for (const s of samples) {
    if (s.ok) continue;
    const key = `${s.op} ${s.status || 'no answer'} ${s.error ?? ''}`.trim();
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3)
    .map(([k, n]) => `${n} × ${k}`);
}

/**
 * Runs one scenario: a steady mixed load on every worker, `baselineMs` of it, the fault, then
 * load until the L2 hit rate is back (between `minRecoveryMs` and `maxRecoveryMs`); then the
 * load stops, every tracked agent is read from every worker and compared with PostgreSQL, and
 * every acknowledged write is looked up in PostgreSQL.
 */
export async function runScenario(
  cluster: ChaosCluster,
  ledger: Ledger,
  fault: Fault,
  run: number,
  options: ScenarioOptions,
): Promise<ScenarioResult> {
  const scenario = `${fault.name}#${run}`;
  const load = new Load({
    urls: cluster.workers.map((w) => w.url),
    ledger,
    scenario,
    readsPerSecond: options.readsPerSecond,
    writesPerSecond: options.writesPerSecond,
    staleBoundMs: options.staleBoundMs,
  });
  const counters: CounterSample[] = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const at = performance.now();
      try {
        const all = await Promise.all(cluster.workers.map((w) => w.counters()));
        counters.push({
          at,
          l2Hits: all.reduce((n, c) => n + c.l2Hits, 0),
          misses: all.reduce((n, c) => n + c.misses, 0),
        });
      } catch {
        // A worker that does not answer its metrics in time: no sample this round.
      }
      await sleep(Math.max(0, STEP_MS - (performance.now() - at)));
    }
  })();

  load.start();
  await sleep(options.baselineMs);
  const faultStart = performance.now();
  const l2Before = l2Rate(counters, faultStart - options.baselineMs + 2_000, faultStart);
  await fault.inject(cluster, options.timings);
  const faultEnd = performance.now();
  for (;;) {
    await sleep(STEP_MS);
    const elapsed = performance.now() - faultEnd;
    if (elapsed >= options.maxRecoveryMs) break;
    if (elapsed >= options.minRecoveryMs && recovery(counters, faultEnd, l2Before) !== null) break;
  }
  const loadEnd = performance.now();
  await load.stop();
  sampling = false;
  await sampler;

  // Quiet now: after the bound, every worker must answer what PostgreSQL holds.
  await sleep(options.staleBoundMs);
  const stored = await ledger.storedSeqs(cluster.pg);
  let staleAfter = 0;
  await Promise.all(
    cluster.workers.flatMap((w) =>
      ledger.tracked.map(async (t) => {
        try {
          const res = await fetch(`${w.url}/api/agents/${t.id}`, {
            signal: AbortSignal.timeout(10_000),
          });
          const name = ((await res.json()) as { name?: string }).name ?? '';
          const seq = Number(/^chaos-(\d+)$/.exec(name)?.[1] ?? 0);
          if (seq !== stored.get(t.id)) staleAfter++;
        } catch {
          // No answer counts against the worker too: it could not show the current value.
          staleAfter++;
        }
      }),
    ),
  );
  const { lost, checked } = await ledger.lostWrites(cluster.pg, scenario);

  const allowance = options.staleBoundMs + (fault.staleAllowanceMs?.(options.timings) ?? 0);
  const beyond = load.stale.filter((s) => s.ageMs > allowance);
  const reads = load.samples.filter((s) => s.kind === 'read');
  const writes = load.samples.filter((s) => s.kind === 'write');
  const failedReads = reads.filter((s) => !s.ok);
  // PostgreSQL was down from the start of the fault to its end (plus a moment for the pools
  // to notice): reads sent then may fail when no cache tier holds their answer.
  const excused = (s: Sample) => !fault.pgAvailable && s.at >= faultStart && s.at <= faultEnd + 500;
  return {
    fault: fault.name,
    run,
    pgAvailable: fault.pgAvailable,
    faultMs: Math.round(faultEnd - faultStart),
    reads: reads.length,
    failedReads: failedReads.length,
    failedReadsPgUp: failedReads.filter((s) => !excused(s)).length,
    writes: writes.length,
    failedWrites: writes.filter((s) => !s.ok).length,
    maxReadMs: Math.round(Math.max(0, ...reads.map((s) => s.ms))),
    p99ReadMs: Math.round(
      percentile(
        reads.map((s) => s.ms),
        99,
      ),
    ),
    maxWriteMs: Math.round(Math.max(0, ...writes.map((s) => s.ms))),
    l2Before,
    l2RecoveryMs: recovery(counters, faultEnd, l2Before),
    l2After: l2Rate(counters, loadEnd - 2_000, loadEnd),
    staleReads: beyond.length,
    staleWithinAllowance: load.stale.length - beyond.length,
    maxStaleAgeMs: Math.round(Math.max(0, ...load.stale.map((s) => s.ageMs))),
    staleWithinBound: load.staleWithinBound,
    staleAfter,
    lostWrites: lost,
    checkedWrites: checked,
    topErrors: topErrors(load.samples),
    staleExamples: beyond
      .slice(0, 5)
      .map(
        (r) =>
          `${r.agent.slice(0, 8)} on worker ${r.worker} at ${Math.round(r.at - faultStart)} ms: ` +
          `seq ${r.returned} < ${r.expected}, newer acked ${Math.round(r.ageMs)} ms before`,
      ),
    workerExits: cluster.workers.flatMap((w) => (w.exited === undefined ? [] : [w.exited])),
  };
}
