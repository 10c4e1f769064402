// `pnpm soak [--minutes 10]`: a steady mixed load on two demo processes (run with
// --expose-gc) for N minutes; heap (after a forced GC), active handles, listeners and Redis
// memory are compared before and after. Exits 1 when one of them grew past its tolerance.
import { writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import type { ProbeReport } from '@tiercache/demo/probe';
import { type ChaosCluster, startCluster } from './cluster.js';
import { Ledger, Load } from './load.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '60' },
    'reads-per-second': { type: 'string', default: '100' },
    'writes-per-second': { type: 'string', default: '10' },
    out: { type: 'string', default: new URL('../SOAK.md', import.meta.url).pathname },
  },
});
const minutes = Number(values.minutes);
const warmupSeconds = Number(values.warmup);
if (!(minutes > 0) || !(warmupSeconds >= 0))
  throw new Error('--minutes/--warmup: expected numbers');

/** Heap may grow by this much (L1, pools and JIT settle for a while), handles not at all. */
const HEAP_TOLERANCE = { ratio: 0.2, bytes: 8 * 1024 * 1024 };
const REDIS_TOLERANCE = { ratio: 0.2, bytes: 4 * 1024 * 1024 };
const COUNT_TOLERANCE = 2;

interface Snapshot {
  readonly at: number;
  readonly workers: readonly ProbeReport[];
  readonly redisUsed: number;
  readonly redisKeys: number;
}

async function snapshot(cluster: ChaosCluster): Promise<Snapshot> {
  const workers = await Promise.all(cluster.workers.map((w) => w.probe({ gc: true })));
  const redis = cluster.redisAdmin();
  try {
    const info = await redis.info('memory');
    return {
      at: Date.now(),
      workers,
      redisUsed: Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0),
      redisKeys: await redis.dbsize(),
    };
  } finally {
    redis.disconnect();
  }
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const withinBytes = (before: number, after: number, t: { ratio: number; bytes: number }) =>
  after - before <= Math.max(before * t.ratio, t.bytes);
const count = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);

const started = Date.now();
const cluster = await startCluster({ exposeGc: true });
const failures: string[] = [];
let table = '';
try {
  const ledger = await Ledger.fromDatabase(cluster.pg);
  const newLoad = () =>
    new Load({
      urls: cluster.workers.map((w) => w.url),
      ledger,
      scenario: 'soak',
      readsPerSecond: Number(values['reads-per-second']),
      writesPerSecond: Number(values['writes-per-second']),
      keepSamples: false,
    });
  const warmup = newLoad();
  warmup.start();
  process.stderr.write(`soak: warming up for ${warmupSeconds} s\n`);
  await sleep(warmupSeconds * 1000);
  await warmup.stop();
  // Both measurements are taken idle (no request in flight), 5 s after the load stopped.
  await sleep(5_000);
  const before = await snapshot(cluster);
  const load = newLoad();
  load.start();
  const trend: string[] = [];
  const end = Date.now() + minutes * 60_000;
  while (Date.now() < end) {
    await sleep(Math.min(60_000, end - Date.now()));
    const s = await snapshot(cluster);
    const line = `${((s.at - before.at) / 60_000).toFixed(1)} min: heap ${s.workers.map((w) => mb(w.memory.heapUsed)).join(' / ')}, Redis ${mb(s.redisUsed)} ${s.redisKeys} keys, reads ${load.counts.reads} (failed ${load.counts.readFailures}), writes ${load.counts.writes} (failed ${load.counts.writeFailures})`;
    trend.push(line);
    process.stderr.write(`  ${line}\n`);
  }
  await load.stop();
  // Let in-flight work (L2 writes, bus messages) finish before the last measurement.
  await sleep(5_000);
  const after = await snapshot(cluster);
  const { lost, checked } = await ledger.lostWrites(cluster.pg, 'soak');

  const rows: string[] = [];
  for (const [i, w] of cluster.workers.entries()) {
    const b = before.workers[i]!;
    const a = after.workers[i]!;
    const heapOk = withinBytes(b.memory.heapUsed, a.memory.heapUsed, HEAP_TOLERANCE);
    const handlesOk = count(a.resources) <= count(b.resources) + COUNT_TOLERANCE;
    const timersOk = (a.resources.Timeout ?? 0) <= (b.resources.Timeout ?? 0) + COUNT_TOLERANCE;
    const listenersOk = count(a.listeners) <= count(b.listeners) + COUNT_TOLERANCE;
    if (!heapOk)
      failures.push(`${w.name}: heap grew ${mb(b.memory.heapUsed)} → ${mb(a.memory.heapUsed)}`);
    if (!handlesOk || !timersOk) {
      failures.push(
        `${w.name}: handles ${JSON.stringify(b.resources)} → ${JSON.stringify(a.resources)}`,
      );
    }
    if (!listenersOk) {
      failures.push(
        `${w.name}: listeners ${JSON.stringify(b.listeners)} → ${JSON.stringify(a.listeners)}`,
      );
    }
    rows.push(
      `| ${w.name} heap used (after GC) | ${mb(b.memory.heapUsed)} | ${mb(a.memory.heapUsed)} | ${heapOk ? 'flat' : 'GREW'} |`,
      `| ${w.name} RSS | ${mb(b.memory.rss)} | ${mb(a.memory.rss)} | (informative) |`,
      `| ${w.name} active handles (timers) | ${count(b.resources)} (${b.resources.Timeout ?? 0}) | ${count(a.resources)} (${a.resources.Timeout ?? 0}) | ${handlesOk && timersOk ? 'flat' : 'GREW'} |`,
      `| ${w.name} listeners (process/redis/pool) | ${b.listeners.process}/${b.listeners.redis}/${b.listeners.pool} | ${a.listeners.process}/${a.listeners.redis}/${a.listeners.pool} | ${listenersOk ? 'flat' : 'GREW'} |`,
      `| ${w.name} L1 entries | ${b.l1Entries} | ${a.l1Entries} | (max 300) |`,
    );
  }
  const redisOk = withinBytes(before.redisUsed, after.redisUsed, REDIS_TOLERANCE);
  if (!redisOk)
    failures.push(`Redis used_memory grew ${mb(before.redisUsed)} → ${mb(after.redisUsed)}`);
  if (lost > 0) failures.push(`${lost} of ${checked} acknowledged writes are not in PostgreSQL`);
  rows.push(
    `| Redis used_memory | ${mb(before.redisUsed)} | ${mb(after.redisUsed)} | ${redisOk ? 'flat' : 'GREW'} |`,
    `| Redis keys (dbsize) | ${before.redisKeys} | ${after.redisKeys} | (informative) |`,
  );
  table = ['| measure | before | after | |', '| --- | --: | --: | --- |', ...rows].join('\n');
  const text = [
    '# Soak run',
    '',
    `\`pnpm soak --minutes ${minutes}\` on ${new Date(started).toISOString().slice(0, 16)}Z: ${cluster.workers.length} demo processes (--expose-gc), ` +
      `${cpus().length} CPUs, node ${process.version}; ${values['reads-per-second']} reads/s + ${values['writes-per-second']} writes/s, ` +
      `${warmupSeconds} s warm-up before the first measurement.`,
    '',
    `Requests: ${load.counts.reads} reads (${load.counts.readFailures} failed), ${load.counts.writes} writes (${load.counts.writeFailures} failed); ` +
      `${checked} acknowledged writes checked in PostgreSQL, ${lost} missing.`,
    '',
    table,
    '',
    `Tolerances: heap +${HEAP_TOLERANCE.ratio * 100} % or ${mb(HEAP_TOLERANCE.bytes)}, Redis +${REDIS_TOLERANCE.ratio * 100} % or ${mb(REDIS_TOLERANCE.bytes)}, handles and listeners +${COUNT_TOLERANCE}.`,
    '',
    'Per minute:',
    '',
    ...trend.map((t) => `- ${t}`),
    '',
    failures.length === 0
      ? 'Result: flat.'
      : ['Result: FAILED', '', ...failures.map((f) => `- ${f}`)].join('\n'),
    '',
  ].join('\n');
  await writeFile(values.out, text);
  process.stdout.write(`${text}\nwritten to ${values.out}\n`);
} finally {
  await cluster.stop();
}
if (failures.length > 0) process.exitCode = 1;
