import type { ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidOptionsError, ServerStartError } from './errors.js';
import { getFreePort } from './free-port.js';
import { describeOutput } from './output-tail.js';
import { trackDirectory } from './process-registry.js';
import { parseInfo, sendCommands } from './resp.js';
import { settlesWithin } from './settle-within.js';
import { isRunning, redisInstallHint, type SpawnedChild, spawnChild } from './spawn-child.js';

/** Options of {@link startRedis}. */
export interface StartRedisOptions {
  /**
   * Extra `redis-server` arguments, appended after ours so they can override them,
   * e.g. `['--maxclients', '50']`.
   * @default []
   */
  args?: string[];
  /**
   * `maxmemory`, e.g. `'10mb'`.
   * @default unset (no limit)
   */
  maxmemory?: string;
  /**
   * `maxmemory-policy`, e.g. `'allkeys-lru'`.
   * @default unset (the server's `noeviction`)
   */
  maxmemoryPolicy?: string;
  /**
   * Sets `requirepass` (and `masterauth`, for replicas); {@link RedisServer.options} and
   * {@link RedisServer.url} include it.
   * @default unset (no AUTH)
   */
  password?: string;
  /**
   * The port to listen on.
   * @default a free port chosen by the kernel (retried if another process takes it first)
   */
  port?: number;
  /**
   * The `redis-server` binary: a name looked up on `env.PATH`, or a path.
   * @default 'redis-server'
   */
  redisServerBin?: string;
  /**
   * Environment of the server process; its `PATH` is where the binary is looked up.
   * @default process.env
   */
  env?: NodeJS.ProcessEnv;
  /**
   * How long to wait for the server to answer PING, in ms.
   * @default 20_000
   */
  startupTimeout?: number;
  /**
   * How long `stop()` waits after SIGTERM before it sends SIGKILL, in ms.
   * @default 10_000
   */
  stopTimeout?: number;
}

/** Connection options for ioredis (`new Redis(server.options())`) or any other client. */
export interface RedisConnectionOptions {
  host: string;
  port: number;
  password?: string;
}

/**
 * A `redis-server` child process on a loopback port, with no persistence. Tests use it to
 * break Redis on purpose: stop, kill, pause (SIGSTOP) and restart it on the same port.
 */
export interface RedisServer extends AsyncDisposable {
  /** Always `'127.0.0.1'`. */
  readonly host: string;
  /** The port; it stays the same across {@link RedisServer.restart}. */
  readonly port: number;
  /** `redis://[:password@]127.0.0.1:<port>`. */
  readonly url: string;
  /** The pid of the running process, or `undefined` when it is not running. */
  readonly pid: number | undefined;
  /** `{ host, port, password? }`, to spread into client options. */
  options(): RedisConnectionOptions;
  /** SIGTERM, then waits for exit (SIGKILL after `stopTimeout`); deletes its directory. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL, then waits for exit: a crash. `restart()` brings it back. */
  kill(): Promise<void>;
  /**
   * SIGSTOP: the port still accepts connections but nothing is answered, like a hung
   * server. With `ms`, SIGCONT follows after `ms` milliseconds.
   */
  pause(ms?: number): void;
  /** SIGCONT after {@link RedisServer.pause}. */
  resume(): void;
  /** Starts the server again on the same port (stopping it first if it runs); waits until ready. */
  restart(): Promise<void>;
  /** Same as {@link RedisServer.stop}, for `await using server = await startRedis()`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** What {@link launchRedis} needs beyond the public options. */
export interface LaunchRedisOptions extends StartRedisOptions {
  /** Arguments that depend on the port (e.g. a cluster config file named after it). */
  portArgs?: (port: number) => string[];
  /** Picks a free port when `port` is not given. */
  pickPort?: () => Promise<number>;
}

const HOST = '127.0.0.1';
const PORT_ATTEMPTS = 8;
const POLL_INTERVAL_MS = 20;

class PortInUseError extends Error {}

class ManagedRedisServer implements RedisServer {
  readonly host = HOST;
  #port: number;
  readonly #dir: string;
  readonly #options: LaunchRedisOptions;
  #current: SpawnedChild | undefined;
  #pauseTimer: NodeJS.Timeout | undefined;
  #untrackDir: (() => void) | undefined;

  constructor(port: number, dir: string, options: LaunchRedisOptions) {
    this.#port = port;
    this.#dir = dir;
    this.#options = options;
    this.#untrackDir = trackDirectory(dir);
  }

  get port(): number {
    return this.#port;
  }

  get url(): string {
    const password = this.#options.password;
    const auth = password === undefined ? '' : `:${encodeURIComponent(password)}@`;
    return `redis://${auth}${HOST}:${this.#port}`;
  }

  get pid(): number | undefined {
    const child = this.#current?.child;
    return child !== undefined && isRunning(child) ? child.pid : undefined;
  }

  options(): RedisConnectionOptions {
    const password = this.#options.password;
    return password === undefined
      ? { host: HOST, port: this.#port }
      : { host: HOST, port: this.#port, password };
  }

  /** Starts the process on `port` and waits until it answers. */
  async launch(port: number): Promise<void> {
    const options = this.#options;
    const args = [
      '--port',
      String(port),
      '--bind',
      HOST,
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      this.#dir,
      // A new replica would otherwise wait 5 s for others to share one diskless transfer.
      '--repl-diskless-sync-delay',
      '0',
      ...(options.maxmemory === undefined ? [] : ['--maxmemory', options.maxmemory]),
      ...(options.maxmemoryPolicy === undefined
        ? []
        : ['--maxmemory-policy', options.maxmemoryPolicy]),
      ...(options.password === undefined
        ? []
        : ['--requirepass', options.password, '--masterauth', options.password]),
      ...(options.portArgs?.(port) ?? []),
      ...(options.args ?? []),
    ];
    const bin = options.redisServerBin ?? 'redis-server';
    const spawned = await spawnChild(bin, args, {
      env: options.env ?? process.env,
      notFound: redisInstallHint,
    });
    this.#current = spawned;
    this.#port = port;
    try {
      await waitUntilReady(spawned, {
        host: HOST,
        port,
        password: options.password,
        timeoutMs: options.startupTimeout ?? 20_000,
        bin,
      });
    } catch (error) {
      await this.#terminate(spawned, 'SIGKILL');
      throw error;
    }
  }

  async stop(): Promise<void> {
    this.#clearPauseTimer();
    if (this.#current !== undefined) await this.#terminate(this.#current, 'SIGTERM');
    await rm(this.#dir, { recursive: true, force: true });
    this.#untrackDir?.();
    this.#untrackDir = undefined;
  }

  async kill(): Promise<void> {
    this.#clearPauseTimer();
    if (this.#current !== undefined) await this.#terminate(this.#current, 'SIGKILL');
  }

  pause(ms?: number): void {
    const child = this.#runningChild('pause');
    this.#clearPauseTimer();
    child.kill('SIGSTOP');
    if (ms !== undefined) {
      // Unref'd: a forgotten auto-resume must not keep the test process alive.
      this.#pauseTimer = setTimeout(() => this.resume(), ms);
      this.#pauseTimer.unref();
    }
  }

  resume(): void {
    this.#clearPauseTimer();
    const child = this.#current?.child;
    if (child !== undefined && isRunning(child)) child.kill('SIGCONT');
  }

  async restart(): Promise<void> {
    this.#clearPauseTimer();
    if (this.#current !== undefined) await this.#terminate(this.#current, 'SIGTERM');
    await mkdir(this.#dir, { recursive: true });
    this.#untrackDir ??= trackDirectory(this.#dir);
    try {
      await this.launch(this.#port);
    } catch (error) {
      if (error instanceof PortInUseError) {
        throw new ServerStartError(
          `redis-server could not restart: port ${this.#port} is now taken by another process.`,
          { cause: error },
        );
      }
      throw error;
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  #runningChild(action: string): ChildProcess {
    const child = this.#current?.child;
    if (child === undefined || !isRunning(child)) {
      throw new Error(`Cannot ${action} redis-server on port ${this.#port}: it is not running.`);
    }
    return child;
  }

  #clearPauseTimer(): void {
    if (this.#pauseTimer !== undefined) clearTimeout(this.#pauseTimer);
    this.#pauseTimer = undefined;
  }

  async #terminate(spawned: SpawnedChild, signal: NodeJS.Signals): Promise<void> {
    const { child, exited } = spawned;
    if (isRunning(child)) {
      child.kill(signal);
      // A paused process keeps SIGTERM pending until it runs again.
      if (signal !== 'SIGKILL') child.kill('SIGCONT');
      if (signal !== 'SIGKILL') {
        const timeoutMs = this.#options.stopTimeout ?? 10_000;
        if (!(await settlesWithin(exited, timeoutMs))) child.kill('SIGKILL');
      }
    }
    await exited;
    if (this.#current === spawned) this.#current = undefined;
  }
}

async function waitUntilReady(
  spawned: SpawnedChild,
  target: {
    host: string;
    port: number;
    password?: string | undefined;
    timeoutMs: number;
    bin: string;
  },
): Promise<void> {
  const deadline = Date.now() + target.timeoutMs;
  let exited = false;
  void spawned.exited.then(() => {
    exited = true;
  });
  let lastError: unknown;
  for (;;) {
    if (exited) {
      // The tail is complete only once the pipes are drained.
      await settlesWithin(spawned.closed, 500);
      const output = spawned.output.text();
      const { exitCode, signalCode } = spawned.child;
      const message =
        `${target.bin} exited during startup on port ${target.port} ` +
        `(code ${exitCode}, signal ${signalCode})${describeOutput(spawned.output)}`;
      if (/address already in use/i.test(output)) throw new PortInUseError(message);
      throw new ServerStartError(message);
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      throw new ServerStartError(
        `${target.bin} did not answer on port ${target.port} within ` +
          `${target.timeoutMs} ms${describeOutput(spawned.output)}`,
        { cause: lastError },
      );
    }
    try {
      const [reply] = await sendCommands(target, [['INFO', 'server']], Math.min(1000, remaining));
      // Another process may hold the port (ours then fails with EADDRINUSE): only an
      // answer from our own pid means ready.
      const pid = typeof reply === 'string' ? parseInfo(reply).get('process_id') : undefined;
      if (pid === String(spawned.child.pid)) return;
      lastError = new Error(`INFO server answered ${JSON.stringify(reply)}`);
    } catch (error) {
      lastError = error;
    }
    await settlesWithin(spawned.exited, POLL_INTERVAL_MS);
  }
}

function validate(options: StartRedisOptions): void {
  const { port, startupTimeout, stopTimeout, args } = options;
  if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65_535)) {
    throw new InvalidOptionsError(`port: expected an integer from 1 to 65535, got ${port}`);
  }
  for (const [name, value] of [
    ['startupTimeout', startupTimeout],
    ['stopTimeout', stopTimeout],
  ] as const) {
    if (value !== undefined && !(Number.isFinite(value) && value > 0)) {
      throw new InvalidOptionsError(`${name}: expected a positive number of ms, got ${value}`);
    }
  }
  if (args !== undefined && !args.every((arg) => typeof arg === 'string')) {
    throw new InvalidOptionsError('args: expected an array of strings');
  }
}

/**
 * Starts a server (retrying on another free port if the chosen one was taken meanwhile).
 * Shared by {@link startRedis} and the cluster, which adds port-dependent arguments.
 */
export async function launchRedis(options: LaunchRedisOptions = {}): Promise<RedisServer> {
  validate(options);
  const dir = await mkdtemp(join(tmpdir(), 'tc-redis-'));
  const pickPort = options.pickPort ?? (() => getFreePort(HOST));
  const server = new ManagedRedisServer(options.port ?? 0, dir, options);
  let lastError: unknown;
  try {
    for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
      const port = options.port ?? (await pickPort());
      try {
        await server.launch(port);
        return server;
      } catch (error) {
        lastError = error;
        if (!(error instanceof PortInUseError) || options.port !== undefined) break;
      }
    }
  } catch (error) {
    lastError = error;
  }
  await server.stop();
  if (lastError instanceof PortInUseError) {
    throw new ServerStartError(lastError.message, { cause: lastError });
  }
  throw lastError;
}

/**
 * Starts `redis-server` on a free loopback port with no persistence and resolves once it
 * answers PING. Stop it with `stop()` or `await using`; a test process that exits without
 * stopping it kills it anyway.
 *
 * @throws {ServerNotFoundError} `redis-server` is not on `PATH`; the message says how to install it.
 * @throws {ServerStartError} it exited or did not answer in time; the message has its last output.
 */
export function startRedis(options: StartRedisOptions = {}): Promise<RedisServer> {
  return launchRedis(options);
}
