import type { DemoConfig } from './config.js';
import { createInstance, type Instance } from './instance.js';
import type { Logger } from './log.js';

/** Creates, starts and listens one API instance; closes it again if any step fails. */
export async function serveInstance(options: {
  config: DemoConfig;
  databaseUrl: string;
  redisUrl: string;
  name: string;
  port: number;
  log: Logger;
}): Promise<{ instance: Instance; url: string }> {
  const { config, log } = options;
  const instance = createInstance({
    databaseUrl: options.databaseUrl,
    redisUrl: options.redisUrl,
    name: options.name,
    log,
    cacheDisabled: config.cacheDisabled,
    l1Max: config.l1Max,
    // With several processes, one load per missed key across all of them.
    stampedeLock: config.instances > 1,
    memoryInterval: config.memoryInterval,
  });
  try {
    await instance.start({ warm: config.warm, refresh: config.refresh });
    const url = await instance.listen(options.port, config.host);
    return { instance, url };
  } catch (error) {
    await instance.close().catch(() => {});
    throw error;
  }
}

/**
 * Runs `close` once on SIGINT or SIGTERM, then exits. A second signal more than a second
 * later exits at once (a shutdown that hangs can still be interrupted); one within the second
 * is the same Ctrl-C delivered twice (the terminal signals the whole process group, and tsx
 * relays it too). Returns the same shutdown as a function, for other triggers (idempotent).
 */
export function onShutdown(log: Logger, close: () => Promise<void>): (reason: string) => void {
  let stoppingSince: number | undefined;
  const shutdown = (reason: string) => {
    if (stoppingSince !== undefined) return;
    stoppingSince = Date.now();
    log.info(`${reason}: shutting down`);
    close().then(
      () => {
        log.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        log.error('shutdown failed', { error: error as Error });
        process.exit(1);
      },
    );
  };
  const handler = (signal: NodeJS.Signals) => {
    if (stoppingSince === undefined) return shutdown(signal);
    if (Date.now() - stoppingSince < 1000) return;
    log.warn(`${signal} again: exiting now`);
    process.exit(130);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return shutdown;
}
