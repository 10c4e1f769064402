import type { Instance } from './instance.js';

/** What a worker reports about itself when its parent asks (chaos and soak runs). */
export interface ProbeReport {
  readonly type: 'probe';
  readonly id: number;
  /** `process.memoryUsage()`, after a full GC when the process runs with `--expose-gc`. */
  readonly memory: NodeJS.MemoryUsage;
  readonly gcForced: boolean;
  /** `process.getActiveResourcesInfo()` counted by kind (`Timeout`, `TCPSocketWrap`, …). */
  readonly resources: Record<string, number>;
  /** Listeners on the long-lived emitters: a leak shows as a count that grows. */
  readonly listeners: Record<string, number>;
  readonly l1Entries: number;
}

function listenerCounts(emitter: NodeJS.EventEmitter): number {
  let total = 0;
  for (const event of emitter.eventNames()) total += emitter.listenerCount(event);
  return total;
}

/**
 * Answers `{ type: 'probe', id, gc? }` IPC messages from the parent process with a
 * {@link ProbeReport}: heap, active handles and listener counts, so a soak can tell a leak from
 * noise without an HTTP route for it.
 */
export function answerProbes(instance: Instance): void {
  process.on('message', (message: { type?: string; id?: number; gc?: boolean }) => {
    if (message?.type !== 'probe' || typeof message.id !== 'number') return;
    const gc = (globalThis as { gc?: () => void }).gc;
    if (message.gc === true && gc !== undefined) {
      // Twice: the first pass may only finalise objects the second one frees.
      gc();
      gc();
    }
    const resources: Record<string, number> = {};
    for (const kind of process.getActiveResourcesInfo()) {
      resources[kind] = (resources[kind] ?? 0) + 1;
    }
    const report: ProbeReport = {
      type: 'probe',
      id: message.id,
      memory: process.memoryUsage(),
      gcForced: message.gc === true && gc !== undefined,
      resources,
      listeners: {
        process: listenerCounts(process),
        redis: listenerCounts(instance.redis),
        pool: listenerCounts(instance.pool),
      },
      l1Entries: instance.stack.l1.size,
    };
    process.send?.(report);
  });
}
