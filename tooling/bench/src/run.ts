/**
 * `pnpm bench`: every scenario in one process, one after the other, then BENCHMARKS.md at
 * the repository root is rewritten from what was measured. Nothing in that file is typed
 * by hand.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { RedisServer } from '@tiercache/test-servers';
import {
  installedVersion,
  machineInfo,
  PEERS,
  redisVersion,
  repoRoot,
  workspaceRevision,
} from './machine.js';
import type { MeasureOptions } from './measure.js';
import { type Check, errorText, mark, type Section, table } from './report.js';
import { codecScenario } from './scenarios/codec.js';
import { l1HitScenario } from './scenarios/l1-hit.js';
import { CONCURRENCY, l2HitScenario } from './scenarios/l2-hit.js';
import { singleFlightScenario } from './scenarios/single-flight.js';
import { describeWorkload, makeWorkload } from './workload.js';

// BENCH_QUICK=1 shortens every budget for a smoke run while editing the bench itself.
const quick = process.env.BENCH_QUICK === '1';
const scale = quick ? 0.25 : 1;
// Many short interleaved rounds rather than a few long ones: on a shared machine the load
// drifts over seconds, and short rounds spread that drift evenly over every contender.
const hitBudget: MeasureOptions = {
  rounds: quick ? 3 : 10,
  time: 250 * scale,
  warmupTime: 40 * scale,
  iterations: 4,
  initialWarmup: 400 * scale,
};
const codecBudget: MeasureOptions = {
  rounds: 2,
  time: 150 * scale,
  warmupTime: 50 * scale,
  iterations: 8,
};

function print(section: Section): void {
  process.stdout.write(`\n## ${section.title}\n\n${section.lines.join('\n')}\n`);
}

async function runScenario(
  title: string,
  checksIfFailed: Check[],
  run: () => Promise<Section>,
): Promise<Section> {
  let section: Section;
  try {
    section = await run();
  } catch (error) {
    section = {
      title,
      lines: [`Not run: ${errorText(error)}`],
      checks: checksIfFailed.map((c) => ({ ...c, actual: `not run (${errorText(error)})` })),
    };
    process.stderr.write(`${title} failed: ${error instanceof Error ? error.stack : error}\n`);
  }
  print(section);
  return section;
}

async function main(): Promise<void> {
  const started = new Date();
  const t0 = performance.now();
  const machine = machineInfo();
  const workload = makeWorkload();
  const sizes = describeWorkload(workload);
  process.stdout.write(
    `tiercache bench${quick ? ' (BENCH_QUICK)' : ''}: node ${machine.node}, ${machine.cpu} × ${machine.cores}\n`,
  );

  let redis: RedisServer | undefined;
  let redisNote: string;
  try {
    const { startRedis } = await import('@tiercache/test-servers');
    redis = await startRedis();
    redisNote = `redis-server ${await redisVersion(redis)} on 127.0.0.1:${redis.port}, started for this run by \`startRedis()\` (@tiercache/test-servers: no persistence) and stopped at the end`;
  } catch (error) {
    redisNote = `no redis-server: ${errorText(error)}`;
  }

  const sections: Section[] = [];
  try {
    sections.push(
      await runScenario(
        'L1 hit path',
        [
          {
            scenario: 'L1 hit',
            label: 'tiercache ÷ raw lru-cache',
            actual: '',
            target: '≥ 0.5×',
            pass: false,
          },
          {
            scenario: 'L1 hit',
            label: 'tiercache ÷ fastest peer',
            actual: '',
            target: '≥ 10×',
            pass: false,
          },
        ],
        () => l1HitScenario({ workload, measure: hitBudget }),
      ),
    );
    const l2Checks: Check[] = [
      {
        scenario: 'L2 hit',
        label: 'tiercache ÷ raw ioredis',
        actual: '',
        target: '≥ 1.2×',
        pass: false,
      },
      {
        scenario: 'L2 hit',
        label: 'tiercache ÷ fastest peer',
        actual: '',
        target: '≥ 1×',
        pass: false,
      },
    ];
    sections.push(
      await runScenario('L2 hit path', l2Checks, () => {
        if (!redis) throw new Error(redisNote);
        return l2HitScenario({ workload, measure: hitBudget, redis });
      }),
    );
    sections.push(await runScenario('Codec', [], () => codecScenario({ measure: codecBudget })));
    sections.push(
      await runScenario(
        'Single flight',
        [
          {
            scenario: 'Single flight',
            label: 'loader calls',
            actual: '',
            target: 'exactly 1',
            pass: false,
          },
        ],
        () => singleFlightScenario({ redis }),
      ),
    );
  } finally {
    await redis?.stop();
  }

  const seconds = (performance.now() - t0) / 1000;
  const end = machineInfo();
  const checks = sections.flatMap((s) => s.checks);
  const summary = table(
    ['Scenario', 'Check', 'Measured', 'Target', ''],
    checks.map((c) => [c.scenario, c.label, c.actual, c.target, mark(c.pass)]),
  );
  const versions = PEERS.map((name) => `${name} ${installedVersion(name)}`).join(', ');
  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(' / ');

  const doc = [
    '# Benchmarks',
    '',
    `<!-- Generated by \`pnpm bench\` (tooling/bench/src/run.ts). Do not edit: every figure below is written by the script; re-run it to refresh. -->`,
    '',
    `Command: \`pnpm bench\`${quick ? ' with `BENCH_QUICK=1` (shortened budgets: smoke run, not for quoting)' : ''} · Date: ${started.toISOString()} · Duration: ${seconds.toFixed(0)} s`,
    '',
    '## Machine and method',
    '',
    `- Node ${machine.node} on ${machine.platform}; CPU ${machine.cpu}, ${machine.cores} cores; ${machine.memoryGiB.toFixed(1)} GiB RAM.`,
    `- Load average (1 / 5 / 15 min) at start ${load(machine.loadAverage)}, at end ${load(end.loadAverage)}. Other processes may share this machine; the per-round spread in each table shows how much that moved the figures.`,
    `- ${redisNote}.`,
    `- Peers as installed: ${versions}. tiercache from this workspace (built \`dist/\`), revision ${workspaceRevision()}.`,
    `- Workload: ${workload.keys.length} keys, pre-populated; values are agent records (nested objects) of ${sizes.min}–${sizes.max} bytes of JSON (mean ${sizes.mean.toFixed(0)}). The same value objects go to every contender, each through its own API.`,
    `- Timing: tinybench; after an untimed ${hitBudget.initialWarmup} ms warmup pass, every contender runs ${hitBudget.rounds} rounds of ${hitBudget.time} ms (each after ${hitBudget.warmupTime} ms warmup), rounds interleaved with the task order rotated, all in this one process. ops/s = operations ÷ mean time of all pooled samples; ±rme is the 95 % margin of that mean, pooled across rounds so drift between rounds counts as noise. A sample is one call of the task: 1000 serial awaited gets (L1) or ${CONCURRENCY} concurrent gets (L2).`,
    '- Peers run with their documented defaults; where a documented option changes the picture (BentoCache `serialize: false`, ioredis `enableAutoPipelining`) both settings are measured and the ratio uses the faster one.',
    '',
    '## Targets',
    '',
    ...summary,
    '',
    ...sections.flatMap((s, i) => [`## ${i + 1}. ${s.title}`, '', ...s.lines, '']),
    ...packageMeasurements(sections.length + 1),
  ].join('\n');
  writeFileSync(`${repoRoot}BENCHMARKS.md`, doc);

  process.stdout.write(`\n## Targets\n\n${summary.join('\n')}\n\n`);
  process.stdout.write(`Wrote ${repoRoot}BENCHMARKS.md in ${seconds.toFixed(0)} s.\n`);
}

main().then(
  () => {
    // Every client and server above was closed. Anything still open a moment later is a leak
    // worth knowing about (stdio pipes aside), but it must not keep `pnpm bench` from returning.
    setTimeout(() => {
      const left = process
        .getActiveResourcesInfo()
        .filter((r) => r !== 'TTYWrap' && r !== 'PipeWrap');
      // This very timer is listed while its callback runs.
      const own = left.indexOf('Timeout');
      if (own !== -1) left.splice(own, 1);
      if (left.length > 0) process.stderr.write(`Still open at exit: ${left.join(', ')}\n`);
      process.exit(0);
    }, 250);
  },
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);

/**
 * Figures that need their own set-up (100k-key tag invalidation, multi-process bus latency,
 * 1M-item Bloom filters, MEMORY USAGE layouts) are produced by the packages' own scripts and
 * tests, each of which states its command at the top of its file. They are copied here
 * verbatim, headings demoted, so BENCHMARKS.md is the one place to read every figure; they
 * were measured when those commands last ran, not by this `pnpm bench` run.
 */
function packageMeasurements(first: number): string[] {
  const files = [
    [
      'Invalidation: bus latency, 100k-key tag and pattern invalidation',
      'packages/invalidation/MEASUREMENTS.md',
    ],
    ['Bloom filters: false-positive rates and speed', 'packages/bloom/MEASUREMENTS.md'],
    ["Redis memory by data layout (the guide's claims checked)", 'packages/metrics/MEMORY.md'],
    ['Demo under load: cached vs uncached', 'apps/demo/LOAD.md'],
  ] as const;
  return files.flatMap(([title, path], i) => {
    const file = `${repoRoot}${path}`;
    if (!existsSync(file)) return [];
    const body = readFileSync(file, 'utf8')
      .replace(/^(#+) /gm, (_, hashes: string) => `${hashes}## `)
      .replace(/^### .*\n/, '')
      .trim();
    return [
      `## ${first + i}. ${title}`,
      '',
      `Copied from [\`${path}\`](${path}); the command that produced it is stated there. Not re-measured by \`pnpm bench\`.`,
      '',
      body,
      '',
    ];
  });
}
