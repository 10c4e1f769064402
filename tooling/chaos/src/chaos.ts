// `pnpm chaos`: every fault, several times, under a steady mixed load on two demo processes;
// prints the table and writes tooling/chaos/RESULTS.md.
import { writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { chaosTable, describePhases, failureNotes } from './report.js';
import { FULL, QUICK, runChaos } from './runner.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    quick: { type: 'boolean', default: false },
    out: { type: 'string', default: new URL('../RESULTS.md', import.meta.url).pathname },
  },
});
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs: expected a positive integer');
const scenario = values.quick ? QUICK : FULL;
const started = Date.now();
process.stderr.write(`chaos: ${runs} run(s) of each fault; ${describePhases(scenario)}\n`);
const report = await runChaos({
  runs,
  scenario,
  onResult: (r) =>
    process.stderr.write(
      `  ${r.fault}#${r.run}: fault ${r.faultMs} ms, reads ${r.reads} (failed ${r.failedReads}, PG up ${r.failedReadsPgUp}), ` +
        `writes ${r.writes} (failed ${r.failedWrites}), max read ${r.maxReadMs} ms, L2 ${r.l2Before?.toFixed(2)} → back in ${r.l2RecoveryMs} ms, ` +
        `stale ${r.staleReads}/${r.staleAfter} after, lost ${r.lostWrites}/${r.checkedWrites}${r.topErrors.length > 0 ? `\n      ${r.topErrors.join('\n      ')}` : ''}\n` +
        r.workerExits.map((exit) => `  ${exit}\n`).join(''),
    ),
});
if (report.results.some((r) => r.workerExits.length > 0)) {
  process.stderr.write('chaos: a worker exited; the run stopped after that scenario\n');
  process.exitCode = 1;
}
const minutes = ((Date.now() - started) / 60_000).toFixed(1);
const table = chaosTable(report.results);
const notes = failureNotes(report.results);
const text = [
  '# Chaos run',
  '',
  `\`pnpm chaos --runs ${runs}${values.quick ? ' --quick' : ''}\` on ${new Date(started).toISOString().slice(0, 16)}Z, ` +
    `${report.instances} demo processes, ${cpus().length} CPUs, node ${process.version}, ${minutes} min.`,
  '',
  `Phases: ${describePhases(scenario)}.`,
  '',
  table,
  '',
  notes.length === 0
    ? 'No request failed.'
    : ['Failures:', '', ...notes.map((n) => `- ${n}`)].join('\n'),
  '',
  `Warning/error lines logged by the workers: ${report.workerLog.lines}.`,
  '',
].join('\n');
await writeFile(values.out, text);
process.stdout.write(`${table}\n\nwritten to ${values.out}\n`);
