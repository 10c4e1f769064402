import { isDeepStrictEqual } from 'node:util';
import { type Contender, type Measurement, type MeasureOptions, measure } from './measure.js';
import { errorText } from './report.js';
import type { Workload } from './workload.js';

/** A contender plus what must hold after it was timed (no loader call, no miss…). */
export interface Checked extends Contender {
  /** Returns a problem to report (e.g. `3 loader calls while timing`), or `undefined`. */
  check?: () => string | undefined;
}

/** A contender that was set up, or the reason it could not be. */
export type Prepared =
  | { ok: true; contender: Checked; group: string }
  | { ok: false; name: string; group: string; reason: string };

/**
 * Builds a contender, turning any failure (a package that does not build yet, a server that
 * refuses) into a row that says why, so one broken contender never hides the others.
 */
export async function prepare(
  name: string,
  group: string,
  build: () => Promise<Checked>,
): Promise<Prepared> {
  try {
    return { ok: true, contender: await build(), group };
  } catch (error) {
    return { ok: false, name, group, reason: errorText(error) };
  }
}

/** Imports a tiercache package, saying plainly when it is not built. */
export async function importTiercache<T>(name: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    throw new Error(
      `${name} could not be imported (not built? run pnpm build): ${errorText(error)}`,
      {
        cause: error,
      },
    );
  }
}

/**
 * Reads every key once through `get` and checks the answer equals the value that was
 * written, so a contender that misses (or returns something else) fails loudly before it
 * is timed instead of looking fast.
 */
export async function verifyAll(
  name: string,
  workload: Workload,
  get: (key: string) => unknown,
): Promise<void> {
  for (const key of workload.keys) {
    const value = await get(key);
    if (!isDeepStrictEqual(value, workload.valueByKey.get(key))) {
      throw new Error(`${name}: wrong value for ${key} before timing (${JSON.stringify(value)})`);
    }
  }
}

/** The measurement of the fastest contender whose name is in `names`. */
export function fastest(
  results: readonly Measurement[],
  names: readonly string[],
): Measurement | undefined {
  let best: Measurement | undefined;
  for (const m of results) {
    if (names.includes(m.name) && (!best || m.opsPerSec > best.opsPerSec)) best = m;
  }
  return best;
}

/** Times the contenders that could be set up; collects what their checks report. */
export async function measurePrepared(
  prepared: readonly Prepared[],
  options: MeasureOptions,
): Promise<{ results: Measurement[]; problems: Map<string, string> }> {
  const ready = prepared.flatMap((p) => (p.ok ? [p.contender] : []));
  const results = ready.length > 0 ? await measure(ready, options) : [];
  const problems = new Map<string, string>();
  for (const c of ready) {
    const problem = c.check?.();
    if (problem) problems.set(c.name, problem);
  }
  return { results, problems };
}

/** Table rows in the order the contenders were declared, measured or not. */
export function rowsOf(
  prepared: readonly Prepared[],
  results: readonly Measurement[],
  problems: ReadonlyMap<string, string>,
): (
  | { name: string; measurement: Measurement; problem?: string }
  | { name: string; reason: string }
)[] {
  return prepared.map((p) => {
    if (!p.ok) return { name: p.name, reason: p.reason };
    const measurement = results.find((m) => m.name === p.contender.name) as Measurement;
    const problem = problems.get(p.contender.name);
    return problem
      ? { name: p.contender.name, measurement, problem }
      : { name: p.contender.name, measurement };
  });
}
