import type { Measurement } from './measure.js';

/** A target checked by the run, listed in the summary of BENCHMARKS.md. */
export interface Check {
  scenario: string;
  label: string;
  /** What was measured, formatted (e.g. `0.71×`, `1 call`), or why it could not be. */
  actual: string;
  /** The target, formatted (e.g. `≥ 0.5×`). */
  target: string;
  pass: boolean;
}

/** One scenario's part of the report. */
export interface Section {
  title: string;
  /** Markdown lines: prose, tables, notes. */
  lines: string[];
  checks: Check[];
}

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

export function formatOps(opsPerSec: number): string {
  return integer.format(opsPerSec);
}

export function formatInt(value: number): string {
  return integer.format(value);
}

export function formatRme(rme: number): string {
  return `±${rme < 10 ? rme.toFixed(2) : rme.toFixed(1)} %`;
}

export function formatRatio(ratio: number): string {
  return `${ratio >= 10 ? ratio.toFixed(1) : ratio.toFixed(2)}×`;
}

export function formatMicros(ms: number): string {
  const us = ms * 1000;
  return us < 10 ? us.toFixed(2) : us < 100 ? us.toFixed(1) : integer.format(us);
}

export function formatBytes(bytes: number): string {
  return integer.format(bytes);
}

export function mark(pass: boolean): string {
  return pass ? '✅' : '❌';
}

/** Spread of the per-round ops/s, as `min – max`, so drift between rounds is visible. */
export function formatRounds(m: Measurement): string {
  if (m.roundOpsPerSec.length < 2) return '–';
  const min = Math.min(...m.roundOpsPerSec);
  const max = Math.max(...m.roundOpsPerSec);
  return `${formatOps(min)} – ${formatOps(max)}`;
}

/** A GitHub-flavoured markdown table; cells must not contain `|`. */
export function table(headers: string[], rows: string[][], align?: ('l' | 'r')[]): string[] {
  const sep = headers.map((_, i) => ((align?.[i] ?? 'l') === 'r' ? '---:' : '---'));
  return [
    `| ${headers.join(' | ')} |`,
    `| ${sep.join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ];
}

/** A target whose measurement could not be taken (a package missing, a server down…). */
export function notRun(scenario: string, label: string, target: string, reason: string): Check {
  return { scenario, label, actual: `not run (${reason})`, target, pass: false };
}

/**
 * `a ÷ b` against a minimum. Each round timed both contenders close together, so the range
 * of the per-round ratios shows how far one noisy stretch could move the pooled figure.
 */
export function ratioCheck(
  scenario: string,
  label: string,
  a: Measurement,
  b: Measurement,
  min: number,
): Check {
  const ratio = a.opsPerSec / b.opsPerSec;
  const perRound = a.roundOpsPerSec.map((x, i) => x / (b.roundOpsPerSec[i] ?? Number.NaN));
  const spread =
    perRound.length > 1
      ? ` (per round ${formatRatio(Math.min(...perRound))} – ${formatRatio(Math.max(...perRound))})`
      : '';
  return {
    scenario,
    label: `${label}`,
    actual: `${formatRatio(ratio)}${spread}`,
    target: `≥ ${min}×`,
    pass: ratio >= min,
  };
}

/** First line of an error's message, safe inside a markdown table cell. */
export function errorText(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return (message.split('\n')[0] ?? '').replaceAll('|', '/').slice(0, 200);
}

/** One row per contender (measured or not), with ops/s relative to `reference`. */
export function measurementTable(
  rows: readonly (
    | { name: string; measurement: Measurement; problem?: string }
    | { name: string; reason: string }
  )[],
  reference: { label: string; opsPerSec: number } | undefined,
): string[] {
  const headers = ['Contender', 'ops/s', '±rme', 'per round (min – max)', 'samples'];
  if (reference) headers.push(`× ${reference.label}`);
  const body = rows.map((row) => {
    if (!('measurement' in row)) {
      const cells = [row.name, 'not run', '', row.reason, ''];
      if (reference) cells.push('');
      return cells;
    }
    const m = row.measurement;
    const name = row.problem ? `${row.name} ⚠ ${row.problem}` : row.name;
    const cells = [
      name,
      formatOps(m.opsPerSec),
      formatRme(m.rme),
      formatRounds(m),
      formatInt(m.samples),
    ];
    if (reference) cells.push(formatRatio(m.opsPerSec / reference.opsPerSec));
    return cells;
  });
  return table(headers, body, ['l', 'r', 'r', 'r', 'r', 'r']);
}
