import { setTimeout as sleep } from 'node:timers/promises';
import { type ChaosCluster, type ClusterOptions, startCluster } from './cluster.js';
import { FAULTS, type Fault } from './faults.js';
import { Ledger } from './load.js';
import { runScenario, type ScenarioOptions, type ScenarioResult } from './scenario.js';

/** Phases of the bounded run (CI): every fault once, short phases. */
export const QUICK: ScenarioOptions = {
  baselineMs: 4_000,
  minRecoveryMs: 2_000,
  maxRecoveryMs: 12_000,
  readsPerSecond: 100,
  writesPerSecond: 10,
  staleBoundMs: 1_000,
  timings: { redisDownMs: 1_000, redisPauseMs: 2_000, redisOomMs: 3_000, pgSlowMs: 3_000 },
};

/** Phases of `pnpm chaos`: longer faults and recovery. */
export const FULL: ScenarioOptions = {
  baselineMs: 8_000,
  minRecoveryMs: 4_000,
  maxRecoveryMs: 30_000,
  readsPerSecond: 150,
  writesPerSecond: 15,
  staleBoundMs: 1_000,
  timings: { redisDownMs: 3_000, redisPauseMs: 5_000, redisOomMs: 5_000, pgSlowMs: 5_000 },
};

/** Options of {@link runChaos}. */
export interface ChaosOptions {
  /** Injections of each fault. @default 1 */
  readonly runs?: number;
  /** @default QUICK */
  readonly scenario?: ScenarioOptions;
  /** @default FAULTS */
  readonly faults?: readonly Fault[];
  readonly cluster?: ClusterOptions;
  /** Called after each scenario (progress). */
  readonly onResult?: (result: ScenarioResult) => void;
}

/** Everything a chaos run measured, and what it ran on. */
export interface ChaosReport {
  readonly results: readonly ScenarioResult[];
  readonly scenario: ScenarioOptions;
  readonly instances: number;
  /** Warning/error lines the workers logged, and their last lines. */
  readonly workerLog: { readonly lines: number; readonly tail: string };
}

/**
 * Before the next baseline: waits until every worker's `GET /health` reports its L2 circuit
 * closed and PostgreSQL reachable. Gives up after `timeoutMs` (the next baseline then starts
 * on whatever is left, and its L2 hit rate shows it).
 */
export async function untilSettled(cluster: ChaosCluster, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const settled = await Promise.all(
      cluster.workers.map(async (w) => {
        try {
          const res = await fetch(`${w.url}/health`, { signal: AbortSignal.timeout(2_000) });
          const body = (await res.json()) as { status?: string; circuit?: string };
          return body.circuit === 'closed' && body.status !== 'down';
        } catch {
          return false;
        }
      }),
    );
    if (settled.every(Boolean)) return;
    await sleep(100);
  }
}

/**
 * Starts a cluster (PostgreSQL, Redis, two demo processes), then injects every fault `runs`
 * times, one at a time (rounds: each fault once, then again), each under its own steady load.
 */
export async function runChaos(options: ChaosOptions = {}): Promise<ChaosReport> {
  const cluster: ChaosCluster = await startCluster(options.cluster);
  const scenario = options.scenario ?? QUICK;
  const results: ScenarioResult[] = [];
  try {
    const ledger = await Ledger.fromDatabase(cluster.pg);
    rounds: for (let run = 1; run <= (options.runs ?? 1); run++) {
      for (const fault of options.faults ?? FAULTS) {
        const result = await runScenario(cluster, ledger, fault, run, scenario);
        results.push(result);
        options.onResult?.(result);
        // A worker is gone: every later scenario would measure the crash, not its fault.
        if (result.workerExits.length > 0) break rounds;
        await untilSettled(cluster);
      }
    }
    return {
      results,
      scenario,
      instances: cluster.workers.length,
      workerLog: {
        lines: cluster.workers.reduce((n, w) => n + w.errorLines, 0),
        tail: cluster.workers.map((w) => `--- ${w.name}\n${w.outputTail()}`).join('\n'),
      },
    };
  } finally {
    await cluster.stop();
  }
}
