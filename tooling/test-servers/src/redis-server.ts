import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidOptionsError, redactSecrets, ServerStartError } from './errors.js';
import { getFreePort } from './free-port.js';
import { describeOutput } from './output-tail.js';
import { trackDirectory } from './process-registry.js';
import { parseInfo, type RespTarget, sendCommands } from './resp.js';
import { settlesWithin } from './settle-within.js';
import { isRunning, redisInstallHint, type SpawnedChild, spawnChild } from './spawn-child.js';
import { makeTlsFiles, type TlsFiles } from './tls-files.js';

/** An ACL user created when the server starts (see {@link StartRedisOptions.users}). */
export interface RedisAclUser {
  /** The user name (printable ASCII, no spaces); not `default` nor `tc-admin`. */
  name: string;
  /** Its password; only its SHA-256 reaches the server's command line. */
  password: string;
  /**
   * ACL rules after `on #<hash>`, space-separated, e.g. `'~app:* &app:* -@all +get +set'`.
   * @default '~* &* +@all'
   */
  rules?: string;
}

/** How a TLS server treats client certificates (`tls-auth-clients`). */
export type TlsAuthClients = 'no' | 'yes' | 'optional';

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
   * ACL users created at startup, as `user <name> on #<sha256> <rules>` lines.
   * {@link RedisServer.options} with `{ user }` connects as one of them.
   * @default [] (only the `default` user)
   */
  users?: RedisAclUser[];
  /**
   * Turns the `default` user off, so every connection must AUTH as a named user. The server
   * then also gets an internal `tc-admin` user (random password, every permission): the
   * readiness probe uses it, and {@link RedisServer.options} without a user returns it.
   * @default false
   */
  disableDefaultUser?: boolean;
  /**
   * Serve TLS only (`--port 0 --tls-port <port>`), with a throwaway CA, server and client
   * certificate made by `openssl` when the server is first started (kept across restarts).
   * `true` is `{ authClients: 'no' }`; `'yes'` makes clients present the client certificate
   * ({@link RedisServer.tls}).
   * @default false (plain TCP)
   */
  tls?: boolean | { authClients?: TlsAuthClients };
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

/** What a client needs for a TLS server: the CA to trust, and the client certificate. */
export interface RedisClientTls {
  /** PEM of the CA that signed the server (and client) certificate. */
  ca: string;
  /** PEM of a client certificate signed by the same CA (set when `authClients` is `'yes'`). */
  cert?: string;
  /** PEM of the client certificate's private key. */
  key?: string;
}

/** Connection options for ioredis (`new Redis(server.options())`) or any other client. */
export interface RedisConnectionOptions {
  host: string;
  port: number;
  /** The ACL user; unset for the `default` user. */
  username?: string;
  password?: string;
  /** Set for a TLS server: pass as ioredis's `tls` option. */
  tls?: RedisClientTls;
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
  /**
   * `redis://[[user]:password@]127.0.0.1:<port>` (`rediss://` with TLS, which a client must
   * combine with `tls: { ca }`), for the user {@link RedisServer.options} returns.
   */
  readonly url: string;
  /** With `tls`: the PEMs of the CA and of a client certificate and key it signed. */
  readonly tls: { readonly ca: string; readonly cert: string; readonly key: string } | undefined;
  /** The pid of the running process, or `undefined` when it is not running. */
  readonly pid: number | undefined;
  /**
   * `{ host, port, username?, password?, tls? }`, to spread into client options: for the
   * `default` user (or `tc-admin` when it is disabled), or for one of `users`.
   * @throws {InvalidOptionsError} `user` is not one of `users`.
   */
  options(as?: { user: string }): RedisConnectionOptions;
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
const ADMIN_USER = 'tc-admin';
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
  /** The internal admin's password, when the default user is off. */
  readonly #adminPassword: string | undefined;
  #tlsFiles: TlsFiles | undefined;

  constructor(port: number, dir: string, options: LaunchRedisOptions) {
    this.#port = port;
    this.#dir = dir;
    this.#options = options;
    this.#untrackDir = trackDirectory(dir);
    this.#adminPassword =
      options.disableDefaultUser === true ? randomBytes(18).toString('base64url') : undefined;
  }

  get port(): number {
    return this.#port;
  }

  get url(): string {
    const { username, password } = this.options();
    const auth =
      password === undefined
        ? ''
        : `${username === undefined ? '' : encodeURIComponent(username)}:${encodeURIComponent(password)}@`;
    return `${this.#tlsFiles === undefined ? 'redis' : 'rediss'}://${auth}${HOST}:${this.#port}`;
  }

  get tls(): { ca: string; cert: string; key: string } | undefined {
    const files = this.#tlsFiles;
    return files === undefined
      ? undefined
      : { ca: files.ca, cert: files.clientCert, key: files.clientKey };
  }

  get pid(): number | undefined {
    const child = this.#current?.child;
    return child !== undefined && isRunning(child) ? child.pid : undefined;
  }

  options(as?: { user: string }): RedisConnectionOptions {
    const base: RedisConnectionOptions = { host: HOST, port: this.#port };
    const files = this.#tlsFiles;
    if (files !== undefined) {
      base.tls =
        tlsAuthClients(this.#options) === 'yes'
          ? { ca: files.ca, cert: files.clientCert, key: files.clientKey }
          : { ca: files.ca };
    }
    if (as !== undefined) {
      const user = this.#options.users?.find((u) => u.name === as.user);
      if (user === undefined) {
        throw new InvalidOptionsError(`user: no ACL user named ${JSON.stringify(as.user)}`);
      }
      return { ...base, username: user.name, password: user.password };
    }
    if (this.#adminPassword !== undefined) {
      return { ...base, username: ADMIN_USER, password: this.#adminPassword };
    }
    const password = this.#options.password;
    return password === undefined ? base : { ...base, password };
  }

  /** Every secret this server knows, to keep out of error messages. */
  #secrets(): string[] {
    const o = this.#options;
    return [
      ...(o.password === undefined ? [] : [o.password]),
      ...(o.users ?? []).map((u) => u.password),
      ...(this.#adminPassword === undefined ? [] : [this.#adminPassword]),
    ];
  }

  /** `--user` lines (passwords as SHA-256 only), `--tls-*` and the port arguments. */
  async #securityArgs(port: number): Promise<string[]> {
    const o = this.#options;
    const args: string[] = [];
    if (o.tls !== undefined && o.tls !== false) {
      this.#tlsFiles ??= await makeTlsFiles(this.#dir);
      const files = this.#tlsFiles;
      // Written again at each launch: stop() deleted the directory, restart() recreated it.
      await mkdir(join(this.#dir, 'tls'), { recursive: true });
      const path = (name: string) => join(this.#dir, 'tls', name);
      await Promise.all([
        writeFile(path('ca.crt'), files.ca),
        writeFile(path('server.crt'), files.serverCert),
        writeFile(path('server.key'), files.serverKey, { mode: 0o600 }),
      ]);
      args.push(
        '--port',
        '0',
        '--tls-port',
        String(port),
        '--tls-cert-file',
        path('server.crt'),
        '--tls-key-file',
        path('server.key'),
        '--tls-ca-cert-file',
        path('ca.crt'),
        '--tls-auth-clients',
        tlsAuthClients(o),
        // Replicas of this server (Sentinel setups) reach it over TLS too.
        '--tls-replication',
        'yes',
      );
    } else {
      args.push('--port', String(port));
    }
    for (const user of o.users ?? []) {
      args.push('--user', user.name, 'on', `#${sha256(user.password)}`);
      args.push(...(user.rules ?? '~* &* +@all').split(/\s+/).filter((r) => r !== ''));
    }
    if (this.#adminPassword !== undefined) {
      args.push('--user', ADMIN_USER, 'on', `#${sha256(this.#adminPassword)}`, '~*', '&*', '+@all');
      args.push('--user', 'default', 'off');
      args.push('--masteruser', ADMIN_USER, '--masterauth', this.#adminPassword);
    }
    return args;
  }

  /** Starts the process on `port` and waits until it answers. */
  async launch(port: number): Promise<void> {
    const options = this.#options;
    const args = [
      ...(await this.#securityArgs(port)),
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
    const probe = this.options();
    const files = this.#tlsFiles;
    try {
      await waitUntilReady(spawned, {
        host: HOST,
        port,
        username: probe.username,
        password: probe.password,
        // The probe always presents the client certificate, so it passes `authClients: 'yes'`.
        tls:
          files === undefined
            ? undefined
            : { ca: files.ca, cert: files.clientCert, key: files.clientKey },
        timeoutMs: options.startupTimeout ?? 20_000,
        bin,
        secrets: this.#secrets(),
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
  target: RespTarget & {
    timeoutMs: number;
    bin: string;
    /** Passwords to mask in the server output an error quotes. */
    secrets: readonly string[];
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
      // Redis quotes a config line it rejects, which may hold a password.
      const message = redactSecrets(
        `${target.bin} exited during startup on port ${target.port} ` +
          `(code ${exitCode}, signal ${signalCode})${describeOutput(spawned.output)}`,
        target.secrets,
      );
      if (/address already in use/i.test(output)) throw new PortInUseError(message);
      throw new ServerStartError(message);
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      throw new ServerStartError(
        redactSecrets(
          `${target.bin} did not answer on port ${target.port} within ` +
            `${target.timeoutMs} ms${describeOutput(spawned.output)}`,
          target.secrets,
        ),
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

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function tlsAuthClients(options: StartRedisOptions): TlsAuthClients {
  return typeof options.tls === 'object' ? (options.tls.authClients ?? 'no') : 'no';
}

function validateSecurity(options: StartRedisOptions): void {
  const names = new Set<string>();
  for (const [i, user] of (options.users ?? []).entries()) {
    if (typeof user?.name !== 'string' || !/^[!-~]+$/.test(user.name)) {
      throw new InvalidOptionsError(`users.${i}.name: expected printable ASCII without spaces`);
    }
    if (user.name === 'default' || user.name === ADMIN_USER || names.has(user.name)) {
      throw new InvalidOptionsError(
        `users.${i}.name: ${JSON.stringify(user.name)} is reserved or already used`,
      );
    }
    names.add(user.name);
    if (typeof user.password !== 'string' || user.password === '') {
      throw new InvalidOptionsError(`users.${i}.password: expected a non-empty string`);
    }
    if (user.rules !== undefined && typeof user.rules !== 'string') {
      throw new InvalidOptionsError(`users.${i}.rules: expected a string of ACL rules`);
    }
  }
  if (options.disableDefaultUser === true && options.password !== undefined) {
    throw new InvalidOptionsError(
      'disableDefaultUser: cannot be combined with password (the default user would be off)',
    );
  }
  const tls = options.tls;
  if (
    typeof tls === 'object' &&
    tls.authClients !== undefined &&
    !['no', 'yes', 'optional'].includes(tls.authClients)
  ) {
    throw new InvalidOptionsError("tls.authClients: expected 'no', 'yes' or 'optional'");
  }
}

function validate(options: StartRedisOptions): void {
  validateSecurity(options);
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
