// `pnpm demo:load`: drives the mixed workload against a demo, cached and uncached (same
// server, reads sent with `x-cache-bypass: 1`), and prints the comparison (also written to
// apps/demo/LOAD.md). Without --url it starts its own PostgreSQL, Redis and demo process.
import { type ChildProcess, fork } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { availableParallelism, cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon, { type Result } from 'autocannon';
import pg from 'pg';
import { loadConfig } from '../config.js';
import { progressBar } from '../db/progress.js';
import { createLogger } from '../log.js';
import { prepareDatabase, startBacking } from '../setup.js';
import { type OpenLoopResult, openLoop } from './open-loop.js';
import { createWorkload, type WorkloadIds } from './workload.js';

const log = createLogger('load');

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    duration: { type: 'string', default: '15' },
    warmup: { type: 'string', default: '10' },
    connections: { type: 'string', default: '32' },
    'write-rate': { type: 'string', default: '50' },
    out: { type: 'string' },
    agents: { type: 'string' },
    tasks: { type: 'string' },
    votes: { type: 'string' },
    sessions: { type: 'string' },
  },
});
const duration = Number(values.duration);
const warmup = Number(values.warmup);
const connections = Number(values.connections);
const writeRate = Number(values['write-rate']);
// Writes go on 2 connections of their own at a fixed rate, the same in both runs, so that
// read and write latencies are measured apart (a write waits for PostgreSQL's commit
// whatever the cache does).
const WRITE_CONNECTIONS = 2;
const readConnections = Math.max(1, connections - WRITE_CONNECTIONS);
const outFile = values.out ?? fileURLToPath(new URL('../../LOAD.md', import.meta.url));

interface CacheCounters {
  hits: number;
  misses: number;
  l1Hits: number;
  l2Hits: number;
}

async function counters(url: string): Promise<CacheCounters> {
  const m = (await (await fetch(`${url}/metrics/cache`)).json()) as CacheCounters;
  return { hits: m.hits, misses: m.misses, l1Hits: m.l1Hits, l2Hits: m.l2Hits };
}

/** Misses so far per operation (endpoint), from `/metrics/analysis`. */
async function missesByOperation(url: string): Promise<Map<string, number>> {
  const a = (await (await fetch(`${url}/metrics/analysis`)).json()) as Record<
    string,
    { misses: number }
  >;
  return new Map(Object.entries(a).map(([op, v]) => [op, v.misses]));
}

/** Where the misses of a phase went: `op n`, most first. */
function missSplit(before: Map<string, number>, after: Map<string, number>): string {
  const diff = [...after]
    .map(([op, n]) => [op, n - (before.get(op) ?? 0)] as const)
    .filter(([, n]) => n > 0)
    .sort((x, y) => y[1] - x[1]);
  return diff.length === 0 ? 'none' : diff.map(([op, n]) => `${op} ${fmt(n)}`).join(', ');
}

/** Ids for the workload: from PostgreSQL when we can reach it, else from the API. */
async function workloadIds(url: string, databaseUrl: string | undefined): Promise<WorkloadIds> {
  if (databaseUrl !== undefined) {
    const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
    try {
      const q = async (sql: string) =>
        (await pool.query<{ id: string }>(sql)).rows.map((r) => r.id);
      return {
        // Most popular first: the workload's hot head are the agents with the most tasks.
        agents: await q(`SELECT agent_id AS id FROM tasks GROUP BY agent_id
                         ORDER BY count(*) DESC, agent_id LIMIT 2000`),
        pendingTasks: await q(`SELECT id FROM tasks WHERE status = 'pending' LIMIT 20000`),
        sessions: await q('SELECT id FROM sessions WHERE expires_at > now() LIMIT 2000'),
      };
    } finally {
      await pool.end();
    }
  }
  const agents: string[] = [];
  let after: string | null = null;
  while (agents.length < 2000) {
    const qs: string = after === null ? '' : `&after=${after}`;
    const page = (await (await fetch(`${url}/api/agents?limit=1000${qs}`)).json()) as {
      agents: { id: string }[];
      next: string | null;
    };
    agents.push(...page.agents.map((a) => a.id));
    if (page.next === null) break;
    after = page.next;
  }
  const pendingTasks: string[] = [];
  for (const id of agents.slice(0, 200)) {
    const list = (await (await fetch(`${url}/api/tasks?agent_id=${id}&status=pending`)).json()) as {
      tasks: { id: string }[];
    };
    pendingTasks.push(...list.tasks.map((t) => t.id));
  }
  return { agents, pendingTasks, sessions: [] };
}

interface Run {
  readonly label: string;
  readonly reads: Result;
  readonly writes: Result;
  readonly cache: CacheCounters;
  readonly misses: string;
}

async function run(url: string, ids: WorkloadIds, bypass: boolean, label: string): Promise<Run> {
  const headers: Record<string, string> = bypass ? { 'x-cache-bypass': '1' } : {};
  const reads = createWorkload(ids, { headers, only: 'reads' });
  const writes = createWorkload(ids, { headers, only: 'writes' });
  const both = (seconds: number) =>
    Promise.all([
      autocannon({
        url,
        connections: readConnections,
        duration: seconds,
        requests: [{ setupRequest: () => reads.next() }],
      }),
      writeLoad(url, writes, seconds),
    ]);
  log.info(`${label}: warming up for ${warmup} s`);
  await both(warmup);
  log.info(
    `${label}: measuring for ${duration} s: reads on ${readConnections} connections, ${writeRate} writes/s`,
  );
  const { result, cache, misses } = await counted(url, () => both(duration));
  return { label, reads: result[0], writes: result[1], cache, misses };
}

/** The fixed-rate writes beside every read phase, on connections of their own. */
function writeLoad(
  url: string,
  writes: ReturnType<typeof createWorkload>,
  seconds: number,
): Promise<Result> {
  return autocannon({
    url,
    connections: WRITE_CONNECTIONS,
    overallRate: writeRate,
    duration: seconds,
    requests: [{ setupRequest: () => writes.next() }],
  });
}

/** Runs `phase`, with what the cache counted meanwhile: its counters and misses by endpoint. */
async function counted<T>(
  url: string,
  phase: () => Promise<T>,
): Promise<{ result: T; cache: CacheCounters; misses: string }> {
  const before = await counters(url);
  const missesBefore = await missesByOperation(url);
  const result = await phase();
  const after = await counters(url);
  return {
    result,
    cache: {
      hits: after.hits - before.hits,
      misses: after.misses - before.misses,
      l1Hits: after.l1Hits - before.l1Hits,
      l2Hits: after.l2Hits - before.l2Hits,
    },
    misses: missSplit(missesBefore, await missesByOperation(url)),
  };
}

/** The endpoint of a workload request, for the per-endpoint latency table. */
function endpointOf(request: { path?: string }, status: number): string {
  const path = (request.path ?? '').split('?')[0] ?? '';
  if (status === 404) return 'unknown id (404)';
  if (path === '/api/agents/popular') return 'popular agents';
  if (path.endsWith('/stats')) return 'agent stats';
  if (path.startsWith('/api/agents/')) return 'agent';
  if (path.startsWith('/api/tasks')) return 'task list';
  if (path.startsWith('/api/leaderboard')) return 'leaderboard';
  if (path.startsWith('/api/sessions/')) return 'session';
  return path;
}

interface RateRun {
  readonly reads: OpenLoopResult;
  readonly writes: Result;
  readonly cache: CacheCounters;
  readonly misses: string;
}

/** Seconds of open-loop reads before the measured ones (the cache is warm by then). */
const RATE_SETTLE = 3;

/**
 * Reads at a fixed rate in an open loop (evenly spaced, sent whether or not earlier ones
 * were answered), with the same fixed-rate writes as {@link run}.
 */
async function runAtRate(
  url: string,
  ids: WorkloadIds,
  bypass: boolean,
  label: string,
  rate: number,
  /** Instead of the workload's reads, this request every time (the floor measurement). */
  only?: { method: 'GET'; path: string },
): Promise<RateRun> {
  const headers: Record<string, string> = bypass ? { 'x-cache-bypass': '1' } : {};
  const reads = createWorkload(ids, { headers, only: 'reads' });
  const writes = createWorkload(ids, { headers, only: 'writes' });
  const next = only === undefined ? () => reads.next() : () => only;
  const both = (seconds: number) =>
    Promise.all([
      openLoop({ url, rate, seconds, next, classify: endpointOf }),
      writeLoad(url, writes, seconds),
    ]);
  log.info(`${label}: settling for ${RATE_SETTLE} s`);
  await both(RATE_SETTLE);
  log.info(`${label}: measuring for ${duration} s: reads at ${rate}/s, ${writeRate} writes/s`);
  const { result, cache, misses } = await counted(url, () => both(duration));
  return { reads: result[0], writes: result[1], cache, misses };
}

const pct = (part: number, total: number) =>
  total === 0 ? '–' : `${((part / total) * 100).toFixed(1)} %`;
const fmt = (n: number) => Math.round(n).toLocaleString('en');

function table(cached: Run, uncached: Run): string {
  const c = cached.reads;
  const u = uncached.reads;
  const lookups = (r: Run) => r.cache.hits + r.cache.misses;
  const split = (r: Run) =>
    `${pct(r.cache.l1Hits, lookups(r))} / ${pct(r.cache.l2Hits, lookups(r))} / ${pct(r.cache.misses, lookups(r))}`;
  const rows: [string, string, string, string][] = [
    [
      '**reads/s** (mean)',
      fmt(c.requests.average),
      fmt(u.requests.average),
      `**${(c.requests.average / u.requests.average).toFixed(1)}×**`,
    ],
    ['read latency p50', `${c.latency.p50} ms`, `${u.latency.p50} ms`, ''],
    ['read latency p90', `${c.latency.p90} ms`, `${u.latency.p90} ms`, ''],
    ['read latency p99', `${c.latency.p99} ms`, `${u.latency.p99} ms`, ''],
    ['reads answered 404 (unknown ids, by design)', fmt(c.non2xx), fmt(u.non2xx), ''],
    [
      'writes/s (fixed rate)',
      fmt(cached.writes.requests.average),
      fmt(uncached.writes.requests.average),
      '',
    ],
    [
      'write latency p50 / p99',
      `${cached.writes.latency.p50} / ${cached.writes.latency.p99} ms`,
      `${uncached.writes.latency.p50} / ${uncached.writes.latency.p99} ms`,
      '',
    ],
    [
      'errors / timeouts',
      `${c.errors + cached.writes.errors} / ${c.timeouts + cached.writes.timeouts}`,
      `${u.errors + uncached.writes.errors} / ${u.timeouts + uncached.writes.timeouts}`,
      '',
    ],
    ['cache hit rate', pct(cached.cache.hits, lookups(cached)), 'bypassed', ''],
    ['L1 / L2 / miss', split(cached), '–', ''],
    ['misses by endpoint', cached.misses, '–', ''],
  ];
  const lines = [
    '| | cached (L1 → L2 → PostgreSQL) | uncached (PostgreSQL) | |',
    '|---|---:|---:|---:|',
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ];
  return lines.join('\n');
}

/** Latency at the same offered read rate: what a user of either server would see. */
function rateTable(rate: number, cached: RateRun, uncached: RateRun): string {
  const c = cached.reads;
  const u = uncached.reads;
  const rows: [string, string, string][] = [
    [
      'reads/s (offered / answered)',
      `${fmt(rate)} / ${fmt(c.rate)}`,
      `${fmt(rate)} / ${fmt(u.rate)}`,
    ],
    ['read latency p50', `${c.latency.p50} ms`, `${u.latency.p50} ms`],
    ['read latency p90', `${c.latency.p90} ms`, `${u.latency.p90} ms`],
    ['read latency p99', `${c.latency.p99} ms`, `${u.latency.p99} ms`],
    ['read latency max', `${c.latency.max} ms`, `${u.latency.max} ms`],
    [
      'errors (no response) / write errors',
      `${c.errors} / ${cached.writes.errors + cached.writes.timeouts}`,
      `${u.errors} / ${uncached.writes.errors + uncached.writes.timeouts}`,
    ],
    [
      'cache misses (of lookups)',
      `${fmt(cached.cache.misses)} (${pct(cached.cache.misses, cached.cache.hits + cached.cache.misses)})`,
      'bypassed',
    ],
    ['misses by endpoint', cached.misses, '–'],
  ];
  return [
    '| same offered load | cached | uncached |',
    '|---|---:|---:|',
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

function endpointTable(cached: OpenLoopResult, uncached: OpenLoopResult): string {
  const other = new Map(uncached.byClass.map((c) => [c.name, c]));
  const rows = cached.byClass.map((c) => {
    const u = other.get(c.name);
    return `| ${c.name} | ${fmt(c.answered)} | ${c.p50} / ${c.p99} ms | ${fmt(c.inSlowest1)} | ${u === undefined ? '–' : `${u.p50} / ${u.p99} ms`} |`;
  });
  return [
    '| endpoint | requests (cached) | cached p50 / p99 | in the slowest 1 % | uncached p50 / p99 |',
    '|---|---:|---:|---:|---:|',
    ...rows,
  ].join('\n');
}

/** Shares of the uncached server's saturated read rate at which latency is compared. */
const LOAD_SHARES = [0.25, 0.5, 0.75, 0.9] as const;

interface SweepPoint {
  readonly share: number;
  readonly rate: number;
  readonly cached: RateRun;
  readonly uncached: RateRun;
}

function sweepTable(points: readonly SweepPoint[]): string {
  const l = (r: OpenLoopResult) => `${r.latency.p50} / ${r.latency.p90} / ${r.latency.p99} ms`;
  return [
    '| load | reads/s | cached p50 / p90 / p99 | uncached p50 / p90 / p99 | cached p99 < uncached p50 |',
    '|---|---:|---:|---:|---|',
    ...points.map(
      (p) =>
        `| ${p.share * 100} % | ${fmt(p.rate)} | ${l(p.cached.reads)} | ${l(p.uncached.reads)} | ${p.cached.reads.latency.p99 < p.uncached.reads.latency.p50 ? 'yes' : 'no'} |`,
    ),
  ].join('\n');
}

function verdict(saturated: [Result, Result], atRate: [OpenLoopResult, OpenLoopResult]): string[] {
  const [cached, uncached] = saturated;
  const [cachedAtRate, uncachedAtRate] = atRate;
  const ratio = cached.requests.average / uncached.requests.average;
  const p99 = cachedAtRate.latency.p99;
  const p50 = uncachedAtRate.latency.p50;
  return [
    `- read throughput ${ratio.toFixed(1)}× (goal ≥ 5×): ${ratio >= 5 ? 'met' : 'not met'}`,
    `- at the same offered load, cached read p99 ${p99} ms vs uncached read p50 ${p50} ms (goal: below): ${p99 < p50 ? 'met' : 'not met'}`,
    `- saturated (each server as fast as it answers, so latency is mostly queueing): cached p99 ${cached.latency.p99} ms vs uncached p50 ${uncached.latency.p50} ms: ${cached.latency.p99 < uncached.latency.p50 ? 'below' : 'not below'}`,
  ];
}

async function main(): Promise<void> {
  let url = values.url;
  let databaseUrl = process.env.DATABASE_URL || undefined;
  let child: ChildProcess | undefined;
  let stopBacking: (() => Promise<void>) | undefined;
  const seedArgs = ['agents', 'tasks', 'votes', 'sessions'].flatMap((k) => {
    const v = values[k as 'agents'];
    return v === undefined ? [] : [`--${k}`, v];
  });
  const config = loadConfig(seedArgs, process.env);
  try {
    if (url === undefined) {
      const backing = await startBacking(config, log);
      stopBacking = () => backing.stop();
      databaseUrl = backing.databaseUrl;
      await prepareDatabase(backing.databaseUrl, {
        sizes: config.seed,
        reseed: config.reseed,
        noSeed: false,
        progress: progressBar(),
        log,
      });
      const started = await new Promise<{ child: ChildProcess; url: string }>((resolve, reject) => {
        const c = fork(fileURLToPath(new URL('../worker.ts', import.meta.url)), [], {
          execArgv: ['--import', 'tsx'],
          env: {
            ...process.env,
            DATABASE_URL: backing.databaseUrl,
            REDIS_URL: backing.redisUrl,
            PORT: '0',
            INSTANCE_NAME: 'api-load',
            CACHE_DISABLED: '0',
          },
        });
        c.once('exit', (code) => reject(new Error(`the demo exited during startup (${code})`)));
        c.on('message', (m: { type?: string; url?: string }) => {
          if (m.type === 'ready' && typeof m.url === 'string') resolve({ child: c, url: m.url });
        });
      });
      child = started.child;
      url = started.url;
    }
    const ids = await workloadIds(url, databaseUrl);
    log.info('workload ids', {
      agents: ids.agents.length,
      pendingTasks: ids.pendingTasks.length,
      sessions: ids.sessions.length,
    });
    const cached = await run(url, ids, false, 'cached');
    const uncached = await run(url, ids, true, 'uncached');
    // Latency compared at equal offered load, at several shares of what the uncached server
    // sustained (the same write load throughout). Half is the detailed one.
    const capacity = uncached.reads.requests.average;
    const sweep: SweepPoint[] = [];
    for (const share of LOAD_SHARES) {
      const at = Math.max(1, Math.round(capacity * share));
      const c = await runAtRate(url, ids, false, `cached, ${share * 100} % load`, at);
      const u = await runAtRate(url, ids, true, `uncached, ${share * 100} % load`, at);
      sweep.push({ share, rate: at, cached: c, uncached: u });
    }
    const half = sweep.find((p) => p.share === 0.5) as SweepPoint;
    // The floor: what the HTTP path alone costs at that rate (the dashboard page, a constant).
    const floor = await runAtRate(url, ids, false, 'floor (GET /)', half.rate, {
      method: 'GET',
      path: '/',
    });
    const rate = half.rate;
    const cachedAtRate = half.cached;
    const uncachedAtRate = half.uncached;
    const command = `pnpm demo:load ${process.argv.slice(2).join(' ')}`.trim();
    const report = [
      '# Load test: the demo, cached and uncached',
      '',
      `Command: \`${command}\` (${new Date().toISOString().slice(0, 10)})`,
      '',
      `Machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} cores, Node ${process.version}; ` +
        'load generator, API process, PostgreSQL and Redis on the same machine.',
      `Dataset: ${url === values.url ? 'the running demo' : `${fmt(config.seed.agents)} agents, ${fmt(config.seed.tasks)} tasks, ${fmt(config.seed.votes)} votes, ${fmt(config.seed.sessions)} sessions`}. ` +
        `${warmup} s warm-up then ${duration} s per run; reads on ${readConnections} connections as fast ` +
        `as they are answered, writes on ${WRITE_CONNECTIONS} more at ${writeRate}/s. The same server ` +
        'for both runs, the uncached one sending `x-cache-bypass: 1` (every read from PostgreSQL).',
      '',
      'Reads: agent 40 %, stats 16 %, task lists 13 %, leaderboard 10.5 %, sessions 10.5 %, ' +
        'popular agents 5 %, unknown agent ids 5 % (404, stopped by the Bloom filter); agent ids ' +
        'skewed towards a hot head. Writes (each invalidates what the guide says): votes 40 %, ' +
        'new tasks 30 %, finished tasks 20 %, reputation changes 10 %.',
      '',
      '## Saturated: each server answers reads as fast as it can',
      '',
      table(cached, uncached),
      '',
      '## Same offered load: latency a user sees',
      '',
      `Reads at ${fmt(rate)}/s for both (half of what the uncached server sustained above), in an ` +
        'open loop: evenly spaced and sent whether or not earlier ones were answered, each timed ' +
        "from its scheduled start (no coordinated omission, no bursts from many connections' timers). " +
        `Writes unchanged; ${RATE_SETTLE} s settle, ${duration} s measured.`,
      '',
      rateTable(rate, cachedAtRate, uncachedAtRate),
      '',
      'Per endpoint at that load (cached / uncached): requests, p50 and p99, and how many of the ' +
        'slowest 1 % of all reads were of that endpoint.',
      '',
      endpointTable(cachedAtRate.reads, uncachedAtRate.reads),
      '',
      '## From light to heavy load',
      '',
      "The same open loop at shares of the uncached server's saturated read rate above.",
      '',
      sweepTable(sweep),
      '',
      `The floor: \`GET /\` (the dashboard, a constant page: no cache, no database) in the same open ` +
        `loop at ${fmt(half.rate)}/s with the same writes answered in p50 / p90 / p99 ` +
        `${floor.reads.latency.p50} / ${floor.reads.latency.p90} / ${floor.reads.latency.p99} ms ` +
        '(load generator, API, PostgreSQL and Redis on the same cores): no read can be faster.',
      '',
      '## Goals',
      '',
      ...verdict([cached.reads, uncached.reads], [cachedAtRate.reads, uncachedAtRate.reads]),
      ...sweep.map(
        (p) =>
          `- at ${p.share * 100} % of the uncached capacity (${fmt(p.rate)} reads/s): cached p99 ${p.cached.reads.latency.p99} ms vs uncached p50 ${p.uncached.reads.latency.p50} ms: ${p.cached.reads.latency.p99 < p.uncached.reads.latency.p50 ? 'below' : 'not below'}`,
      ),
      '',
    ].join('\n');
    process.stdout.write(`\n${report}\n`);
    await writeFile(outFile, report);
    log.info(`written to ${outFile}`);
  } finally {
    const demo = child;
    if (demo !== undefined && demo.exitCode === null) {
      await new Promise<void>((resolve) => {
        demo.once('exit', () => resolve());
        demo.kill('SIGTERM');
      });
    }
    await stopBacking?.();
  }
}

await main();
