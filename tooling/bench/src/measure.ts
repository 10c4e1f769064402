import { Bench } from 'tinybench';

/** One thing being timed. */
export interface Contender {
  name: string;
  /**
   * How many operations one call of `fn` performs. Sub-microsecond operations are batched
   * (a serial loop of 1000 awaited gets, 64 concurrent gets…) so that the timer's own cost
   * and resolution do not dominate the sample.
   */
  opsPerCall: number;
  fn: () => unknown;
  async: boolean;
}

/** A contender's pooled result over every round. */
export interface Measurement {
  name: string;
  /** Operations per second: `opsPerCall / mean latency` over all pooled samples. */
  opsPerSec: number;
  /** Relative margin of error (95 %) of the mean latency, in percent. */
  rme: number;
  /** Number of timed calls of `fn` (each worth `opsPerCall` operations). */
  samples: number;
  /** ops/s of each round on its own, to show drift between rounds. */
  roundOpsPerSec: number[];
}

export interface MeasureOptions {
  /** Rounds; the task order rotates each round so no contender always runs first or last. */
  rounds: number;
  /** Time budget per task per round, ms. */
  time: number;
  /** Warmup budget per task per round, ms. */
  warmupTime: number;
  /** Minimum timed calls per task per round (tinybench's `iterations`). */
  iterations?: number;
  /**
   * An untimed pass over every contender before the first round, ms per contender, so the
   * JIT has settled before anything is recorded and later rounds need only a short warmup.
   * @default 0
   */
  initialWarmup?: number;
}

// Two-sided 95 % Student t critical values for df = 1..30; 1.96 beyond.
const T95 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145,
  2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048,
  2.045, 2.042,
];

function critical(df: number): number {
  return df >= 1 && df <= 30 ? (T95[df - 1] as number) : 1.96;
}

/**
 * Runs every contender `rounds` times, interleaved (one tinybench `Bench` per round, the
 * order rotated each round), and pools the latency samples of all rounds. Pooling keeps the
 * between-round drift (GC, a noisy neighbour, CPU frequency) inside the reported ±rme
 * instead of hiding it behind one lucky round.
 */
export async function measure(
  contenders: readonly Contender[],
  options: MeasureOptions,
): Promise<Measurement[]> {
  const pooled = new Map<string, number[]>();
  const rounds = new Map<string, number[]>();
  for (const c of contenders) {
    pooled.set(c.name, []);
    rounds.set(c.name, []);
  }
  if (options.initialWarmup) {
    const bench = new Bench({
      time: options.initialWarmup,
      warmup: false,
      iterations: 1,
      throws: true,
    });
    for (const c of contenders) bench.add(c.name, c.fn, { async: c.async });
    await bench.run();
  }
  for (let round = 0; round < options.rounds; round++) {
    const bench = new Bench({
      time: options.time,
      warmupTime: options.warmupTime,
      iterations: options.iterations ?? 64,
      warmupIterations: Math.min(16, options.iterations ?? 16),
      retainSamples: true,
      throws: true,
    });
    const shift = round % contenders.length;
    const order = [...contenders.slice(shift), ...contenders.slice(0, shift)];
    for (const c of order) bench.add(c.name, c.fn, { async: c.async });
    await bench.run();
    for (const task of bench.tasks) {
      const result = task.result;
      if (result.state !== 'completed') {
        const error = result.state === 'errored' ? result.error : undefined;
        throw new Error(`task ${task.name} did not complete (${result.state})`, { cause: error });
      }
      const contender = contenders.find((c) => c.name === task.name) as Contender;
      const samples = result.latency.samples ?? [];
      pooled.get(task.name)?.push(...samples);
      rounds.get(task.name)?.push((contender.opsPerCall * 1000) / result.latency.mean);
    }
  }
  return contenders.map((c) => {
    const samples = pooled.get(c.name) as number[];
    const n = samples.length;
    const mean = samples.reduce((a, b) => a + b, 0) / n;
    const variance = n > 1 ? samples.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1) : 0;
    const sem = Math.sqrt(variance / n);
    return {
      name: c.name,
      opsPerSec: (c.opsPerCall * 1000) / mean,
      rme: (100 * critical(n - 1) * sem) / mean,
      samples: n,
      roundOpsPerSec: rounds.get(c.name) as number[],
    };
  });
}

/**
 * Wraps a fast synchronous operation in a loop long enough (about `targetMs`) to be timed
 * reliably; the loop count is found by timing the operation first.
 */
export function batchSync(
  name: string,
  op: () => unknown,
  targetMs = 0.05,
): Contender & { perOpMs: number } {
  let calls = 0;
  const start = performance.now();
  while (performance.now() - start < 5 || calls < 3) {
    op();
    calls++;
  }
  const perOpMs = (performance.now() - start) / calls;
  const n = Math.max(1, Math.min(10_000, Math.ceil(targetMs / perOpMs)));
  if (n === 1) return { name, opsPerCall: 1, fn: op, async: false, perOpMs };
  return {
    name,
    opsPerCall: n,
    fn: () => {
      for (let i = 0; i < n; i++) op();
    },
    async: false,
    perOpMs,
  };
}
