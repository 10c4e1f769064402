import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { constants } from 'node:os';

/**
 * Every server process this module started, with the signal that ends it at once.
 * A test that crashes, times out or forgets `stop()` must not leave servers behind: on
 * CI they would hold ports and memory for every later run on the same machine.
 */
const processes = new Map<ChildProcess, NodeJS.Signals>();
const directories = new Set<string>();
let hooksInstalled = false;

function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

function killAllNow(): void {
  for (const [child, signal] of processes) {
    if (child.pid === undefined || !isRunning(child)) continue;
    try {
      process.kill(child.pid, signal);
      // A stopped (paused) process only acts on SIGKILL; let it see the signal.
      if (signal !== 'SIGKILL') process.kill(child.pid, 'SIGCONT');
    } catch {
      // Already gone.
    }
  }
  processes.clear();
  for (const dir of directories) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // Best effort: the process may still be writing into it.
    }
  }
  directories.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  killAllNow();
  // Listening for a signal disables Node's default "exit"; restore it unless someone else
  // (the application, or another library) handles the signal and decides when to exit.
  if (process.listenerCount(signal) === 1) process.exit(128 + constants.signals[signal]);
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  // 'exit' listeners must be synchronous: signals are sent, nothing is awaited.
  process.on('exit', killAllNow);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
}

/**
 * Registers a child so it is killed with `signal` if this process exits while it runs.
 * Returns the function that forgets it again (call it once the child has exited).
 */
export function trackProcess(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): () => void {
  installHooks();
  processes.set(child, signal);
  return () => {
    processes.delete(child);
  };
}

/** Registers a temporary directory to delete if this process exits before its owner does. */
export function trackDirectory(dir: string): () => void {
  installHooks();
  directories.add(dir);
  return () => {
    directories.delete(dir);
  };
}
