import type { ScenarioOptions, ScenarioResult } from './scenario.js';

const s = (ms: number) =>
  ms >= 10_000 ? `${(ms / 1000).toFixed(0)} s` : `${(ms / 1000).toFixed(1)} s`;
const pct = (r: number | null) => (r === null ? 'n/a' : `${(r * 100).toFixed(0)} %`);

/** One row per fault (every run of it summed, or its worst), as a Markdown table. */
export function chaosTable(results: readonly ScenarioResult[]): string {
  const faults = [...new Set(results.map((r) => r.fault))];
  const lines = [
    '| fault | runs | reads | failed reads (PG up) | failed writes | max read latency (p99) | max write latency | L2 hit rate before → end | L2 back to 90 % (worst) | stale reads > bound (max age) | stale after | lost writes / acked |',
    '| --- | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: |',
  ];
  for (const fault of faults) {
    const rs = results.filter((r) => r.fault === fault);
    const sum = (f: (r: ScenarioResult) => number) => rs.reduce((n, r) => n + f(r), 0);
    const max = (f: (r: ScenarioResult) => number) => Math.max(...rs.map(f));
    const before = rs.map((r) => r.l2Before).filter((r): r is number => r !== null);
    const after = rs.map((r) => r.l2After).filter((r): r is number => r !== null);
    const recoveries = rs.map((r) => r.l2RecoveryMs);
    const recovery = recoveries.some((r) => r === null)
      ? `not within ${recoveries.filter((r) => r === null).length}/${rs.length} runs`
      : s(Math.max(...(recoveries as number[])));
    const pgDown = rs[0]?.pgAvailable === false;
    lines.push(
      `| ${fault} | ${rs.length} | ${sum((r) => r.reads)} | ${sum((r) => r.failedReadsPgUp)}${
        pgDown ? ` (+${sum((r) => r.failedReads - r.failedReadsPgUp)} while PG down)` : ''
      } | ${sum((r) => r.failedWrites)} / ${sum((r) => r.writes)} | ${max((r) => r.maxReadMs)} ms (${max(
        (r) => r.p99ReadMs,
      )} ms) | ${max((r) => r.maxWriteMs)} ms | ${
        before.length === 0 ? 'n/a' : pct(before.reduce((a, b) => a + b, 0) / before.length)
      } → ${after.length === 0 ? 'n/a' : pct(Math.min(...after))} | ${recovery} | ${sum((r) => r.staleReads)}${
        sum((r) => r.staleReads) > 0 ? ` (${s(max((r) => r.maxStaleAgeMs))})` : ''
      }${
        sum((r) => r.staleWithinAllowance) > 0
          ? `; ${sum((r) => r.staleWithinAllowance)} within the fault's allowance`
          : ''
      } | ${sum((r) => r.staleAfter)} | ${sum((r) => r.lostWrites)} / ${sum((r) => r.checkedWrites)} |`,
    );
  }
  return lines.join('\n');
}

/** The phases, as a sentence for the report. */
export function describePhases(o: ScenarioOptions): string {
  const t = o.timings;
  return (
    `load ${o.readsPerSecond} reads/s + ${o.writesPerSecond} writes/s (open loop) across the workers; ` +
    `${s(o.baselineMs)} baseline, the fault, then ${s(o.minRecoveryMs)}–${s(o.maxRecoveryMs)} until the L2 hit rate is back; ` +
    `Redis down ${s(t.redisDownMs)}, paused ${s(t.redisPauseMs)}, OOM ${s(t.redisOomMs)}; PostgreSQL locked ${s(t.pgSlowMs)}; ` +
    `stale bound ${o.staleBoundMs} ms`
  );
}

/** Failures and stale reads that any run shows, for the text under the table. */
export function failureNotes(results: readonly ScenarioResult[]): string[] {
  const notes: string[] = [];
  for (const r of results) {
    if (r.topErrors.length > 0) notes.push(`${r.fault}#${r.run}: ${r.topErrors.join('; ')}`);
    if (r.staleExamples.length > 0) {
      notes.push(`${r.fault}#${r.run} stale reads: ${r.staleExamples.join('; ')}`);
    }
    for (const exit of r.workerExits) {
      const [summary, ...lines] = exit.split('\n');
      notes.push(`${r.fault}#${r.run}: ${summary}\n\n  \`\`\`\n  ${lines.join('\n  ')}\n  \`\`\``);
    }
  }
  return notes;
}
