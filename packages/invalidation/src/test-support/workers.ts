import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';

// Workers run the TypeScript sources through tsx (a root devDependency): no build needed.
const TSX_LOADER = pathToFileURL(
  fileURLToPath(new URL('../../../../node_modules/tsx/dist/loader.mjs', import.meta.url)),
).href;
const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));

export type Line = Record<string, unknown>;

/** A cache instance in a child process (see worker.ts), driven by JSON lines. */
export interface Worker {
  readonly name: string;
  readonly child: ChildProcess;
  /** Sends a command; resolves with its answer (rejects with the worker's error). */
  call(cmd: string, args?: Line): Promise<Line>;
  /** Sends a command without waiting for its answer; returns its promise. */
  send(cmd: string, args?: Line): { id: number; answer: Promise<Line> };
  /** Resolves with the next unsolicited event line matching `predicate`. */
  event(predicate: (line: Line) => boolean): Promise<Line>;
  readonly exited: Promise<number | null>;
}

export function startWorker(env: Record<string, string>): Worker {
  const child = spawn(process.execPath, ['--import', TSX_LOADER, WORKER], {
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let nextId = 0;
  const pending = new Map<number, { resolve(line: Line): void; reject(error: Error): void }>();
  const buffered: Line[] = [];
  const waiters: Array<{ predicate: (line: Line) => boolean; resolve(line: Line): void }> = [];
  const lines = createInterface({ input: child.stdout! });
  lines.on('line', (raw) => {
    const line = JSON.parse(raw) as Line;
    if (typeof line.id === 'number' && line.event === undefined) {
      const p = pending.get(line.id);
      pending.delete(line.id);
      if (line.error !== undefined) p?.reject(new Error(`${env.NAME}: ${String(line.error)}`));
      else p?.resolve(line);
      return;
    }
    const i = waiters.findIndex((w) => w.predicate(line));
    if (i === -1) buffered.push(line);
    else waiters.splice(i, 1)[0]!.resolve(line);
  });
  lines.on('close', () => {
    for (const p of pending.values()) p.reject(new Error(`${env.NAME} exited`));
    pending.clear();
  });
  const send = (cmd: string, args: Line = {}) => {
    const id = ++nextId;
    const answer = new Promise<Line>((resolve, reject) => pending.set(id, { resolve, reject }));
    child.stdin!.write(`${JSON.stringify({ ...args, id, cmd })}\n`);
    return { id, answer };
  };
  return {
    name: env.NAME ?? 'worker',
    child,
    send,
    call: (cmd, args) => send(cmd, args).answer,
    event: (predicate) => {
      const i = buffered.findIndex(predicate);
      if (i !== -1) return Promise.resolve(buffered.splice(i, 1)[0]!);
      return new Promise((resolve) => waiters.push({ predicate, resolve }));
    },
    exited: new Promise((resolve) => child.once('exit', resolve)),
  };
}

/** Stops workers that are still running (SIGKILL after a polite exit had its chance). */
export async function stopWorkers(workers: readonly Worker[]): Promise<void> {
  await Promise.all(
    workers.map(async (w) => {
      if (w.child.exitCode !== null || w.child.signalCode !== null) return;
      w.send('exit');
      const timer = setTimeout(() => w.child.kill('SIGKILL'), 3_000);
      await w.exited;
      clearTimeout(timer);
    }),
  );
}

/** The p-th percentile (0-100) of `values`, nearest rank. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(0, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[rank] ?? Number.NaN;
}
