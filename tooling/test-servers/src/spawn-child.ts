import { type ChildProcess, spawn } from 'node:child_process';
import { ServerNotFoundError } from './errors.js';
import { OutputTail } from './output-tail.js';
import { trackProcess } from './process-registry.js';

/** What {@link spawnChild} hands back once the process is running. */
export interface SpawnedChild {
  readonly child: ChildProcess;
  readonly output: OutputTail;
  /** Settles when the process has exited and been reaped (its pid is free again). */
  readonly exited: Promise<void>;
  /** Settles after `exited`, once its stdout and stderr are drained. */
  readonly closed: Promise<void>;
}

/** How to say that a binary is missing, e.g. for `redis-server`. */
export type NotFoundMessage = (bin: string) => string;

export const redisInstallHint: NotFoundMessage = (bin) =>
  `${bin} not found on PATH. Install it: \`apt-get update && apt-get install -y redis-server\` ` +
  '(Debian/Ubuntu) or `brew install redis` (macOS)';

/**
 * Spawns `bin` with piped output (kept in a short tail) and resolves once the OS has
 * started it. A missing binary becomes a {@link ServerNotFoundError}. The child is
 * registered so it is killed with `exitSignal` if this process exits first.
 */
export async function spawnChild(
  bin: string,
  args: readonly string[],
  options: {
    env: NodeJS.ProcessEnv;
    notFound: NotFoundMessage;
    exitSignal?: NodeJS.Signals;
  },
): Promise<SpawnedChild> {
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env: options.env });
  const output = new OutputTail();
  child.stdout?.on('data', (chunk: Buffer) => output.push(chunk));
  child.stderr?.on('data', (chunk: Buffer) => output.push(chunk));
  const untrack = trackProcess(child, options.exitSignal);
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      untrack();
      resolve();
    });
  });
  const closed = new Promise<void>((resolve) => {
    child.once('close', () => resolve());
  });

  try {
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
  } catch (error) {
    untrack();
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ServerNotFoundError(options.notFound(bin), { cause: error });
    throw error;
  }
  // Later errors (a failed kill) must not crash the test process as an unhandled 'error'.
  child.on('error', (error) => output.note(`[spawn error] ${error.message}`));
  return { child, output, exited, closed };
}

/** Whether the process has neither exited nor been killed yet. */
export function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}
