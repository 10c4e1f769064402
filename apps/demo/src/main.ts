// `pnpm demo`: starts (or connects to) PostgreSQL and Redis, migrates, seeds, warms and
// serves the API, with `--instances N` as N separate processes sharing both.
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type DemoConfig, loadConfig } from './config.js';
import { progressBar } from './db/progress.js';
import { createLogger, type Logger } from './log.js';
import { onShutdown, serveInstance } from './serve.js';
import { prepareDatabase, startBacking } from './setup.js';

const log = createLogger('demo');

function banner(urls: readonly string[], config: DemoConfig): void {
  const first = urls[0]!;
  const lines = [
    '',
    `  tiercache demo ready${config.cacheDisabled ? ' (cache disabled)' : ''}`,
    ...urls.map((u, i) => `    instance ${i + 1}: ${u}`),
    '',
    `  dashboard    ${first}/`,
    `  try          curl ${first}/api/leaderboard?period=daily`,
    `               curl ${first}/api/agents/popular`,
    `  metrics      ${first}/metrics/cache  ${first}/metrics/analysis  ${first}/metrics`,
    `  health       ${first}/health`,
    `  load test    pnpm demo:load --url ${first}`,
    '',
    '  Ctrl-C to stop.',
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** Forks one worker process and resolves with its URL once it listens. */
function forkWorker(
  config: DemoConfig,
  env: NodeJS.ProcessEnv,
  name: string,
  port: number,
): Promise<{ child: ChildProcess; url: string }> {
  const child = fork(fileURLToPath(new URL('./worker.ts', import.meta.url)), [], {
    execArgv: ['--import', 'tsx'],
    // Its own process group: a terminal's Ctrl-C reaches main only, which stops the workers
    // in order (each one gets exactly one SIGTERM).
    detached: true,
    env: {
      ...env,
      INSTANCE_NAME: name,
      PORT: String(port),
      HOST: config.host,
      CACHE_DISABLED: config.cacheDisabled ? '1' : '0',
      L1_MAX: String(config.l1Max),
      INSTANCES: String(config.instances),
      MEMORY_INTERVAL: String(config.memoryInterval),
    },
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${name} exited during startup (${code})`)));
    child.on('message', (message: { type?: string; url?: string }) => {
      if (message.type === 'ready' && typeof message.url === 'string') {
        resolve({ child, url: message.url });
      }
    });
  });
}

function stopChild(child: ChildProcess, childLog: Logger): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      childLog.warn('worker did not stop in 10 s: killing it');
      child.kill('SIGKILL');
    }, 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

async function main(): Promise<void> {
  const config = loadConfig();
  const backing = await startBacking(config, log);
  const children: ChildProcess[] = [];
  let stopServing: () => Promise<void> = async () => {};
  onShutdown(log, async () => {
    await stopServing();
    await Promise.all(children.map((c) => stopChild(c, log)));
    await backing.stop();
  });
  try {
    await prepareDatabase(backing.databaseUrl, {
      sizes: config.seed,
      reseed: config.reseed,
      noSeed: config.noSeed,
      progress: progressBar(),
      log,
    });
    if (config.instances === 1) {
      const { instance, url } = await serveInstance({
        config,
        databaseUrl: backing.databaseUrl,
        redisUrl: backing.redisUrl,
        name: 'api-1',
        port: config.port,
        log,
      });
      stopServing = () => instance.close();
      banner([url], config);
      return;
    }
    const env = { ...process.env, DATABASE_URL: backing.databaseUrl, REDIS_URL: backing.redisUrl };
    const urls: string[] = [];
    for (let i = 1; i <= config.instances; i++) {
      const port = config.port === 0 ? 0 : config.port + i - 1;
      const { child, url } = await forkWorker(config, env, `api-${i}`, port);
      children.push(child);
      urls.push(url);
      child.on('exit', (code, signal) => {
        log.info(`api-${i} exited`, { code, signal });
      });
    }
    banner(urls, config);
  } catch (error) {
    log.error('startup failed', { error: error as Error });
    await Promise.all(children.map((c) => stopChild(c, log)));
    await backing.stop();
    process.exitCode = 1;
  }
}

await main();
