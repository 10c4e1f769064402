// One API process of `pnpm demo --instances N`, forked by main.ts with DATABASE_URL,
// REDIS_URL, PORT and INSTANCE_NAME set (the database is already migrated and seeded).
import { loadConfig } from './config.js';
import { createLogger } from './log.js';
import { answerProbes } from './probe.js';
import { onShutdown, serveInstance } from './serve.js';

const name = process.env.INSTANCE_NAME ?? `api-${process.pid}`;
const log = createLogger(name, { quiet: process.env.DEMO_QUIET === '1' });
const config = loadConfig([], process.env);
if (config.databaseUrl === undefined || config.redisUrl === undefined) {
  throw new Error('worker.ts needs DATABASE_URL and REDIS_URL (run it through main.ts)');
}

const { instance, url } = await serveInstance({
  config,
  databaseUrl: config.databaseUrl,
  redisUrl: config.redisUrl,
  name,
  port: config.port,
  log,
});
const shutdown = onShutdown(log, () => instance.close());
// main.ts went away without stopping us (killed): do not outlive it. A warning, so that the
// reason shows even with DEMO_QUIET (the chaos runs keep warnings and errors only).
process.once('disconnect', () => {
  log.warn('the IPC channel to the parent closed');
  shutdown('parent gone');
});
// Heap, handles and listeners on request of the parent (the chaos and soak runs).
answerProbes(instance);
log.info(`listening on ${url}`);
process.send?.({ type: 'ready', url });
