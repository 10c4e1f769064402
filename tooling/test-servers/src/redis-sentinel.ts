import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidOptionsError, ServerStartError } from './errors.js';
import { getFreePort } from './free-port.js';
import { describeOutput } from './output-tail.js';
import { trackDirectory } from './process-registry.js';
import { launchRedis, type RedisServer } from './redis-server.js';
import { parseInfo, RespError, type RespValue, sendCommands } from './resp.js';
import { settlesWithin } from './settle-within.js';
import { isRunning, redisInstallHint, type SpawnedChild, spawnChild } from './spawn-child.js';

/** Options of {@link startRedisSentinel}. */
export interface StartRedisSentinelOptions {
  /**
   * Replicas of the master.
   * @default 1
   */
  replicas?: number;
  /**
   * Sentinel processes; the quorum is a majority of them.
   * @default 3
   */
  sentinels?: number;
  /**
   * The name the sentinels monitor the master under (`new Redis({ sentinels, name })`).
   * @default 'tiercache'
   */
  masterName?: string;
  /**
   * `sentinel down-after-milliseconds`: how long the master must be unreachable before a
   * sentinel flags it down.
   * @default 1000
   */
  downAfterMs?: number;
  /**
   * `sentinel failover-timeout`, in ms.
   * @default 5000
   */
  failoverTimeoutMs?: number;
  /**
   * The `redis-server` binary; sentinels run as `redis-server <conf> --sentinel`.
   * @default 'redis-server'
   */
  redisServerBin?: string;
  /**
   * Environment of the processes; its `PATH` is where the binary is looked up.
   * @default process.env
   */
  env?: NodeJS.ProcessEnv;
  /**
   * How long to wait for everything to be ready (replicas in sync, every sentinel aware of
   * the replicas and of the other sentinels), in ms.
   * @default 60_000
   */
  startupTimeout?: number;
}

/** `{ host, port }` of one sentinel, for `new Redis({ sentinels, name })`. */
export interface SentinelAddress {
  host: string;
  port: number;
}

/** What {@link RedisSentinelServer.failover} did. */
export interface SentinelFailover {
  /** The master that was killed (still down; `restart()` brings it back as a replica). */
  readonly killed: RedisServer;
  /** The replica the sentinels promoted. */
  readonly promoted: RedisServer;
  /** Milliseconds from the kill until a sentinel named the new master and it reported `role:master`. */
  readonly ms: number;
}

/** A master, its replicas and a group of sentinels, all child processes on loopback ports. */
export interface RedisSentinelServer extends AsyncDisposable {
  /** The monitored master's name. */
  readonly name: string;
  /** Every sentinel's address. */
  readonly sentinels: SentinelAddress[];
  /** The current master as of the last start or {@link RedisSentinelServer.failover}. */
  readonly master: RedisServer;
  /** The data nodes other than {@link RedisSentinelServer.master}. */
  readonly replicas: RedisServer[];
  /** Master and replicas, in start order (the first one was the first master). */
  readonly nodes: RedisServer[];
  /** Asks the sentinels which node is the master now (`SENTINEL get-master-addr-by-name`). */
  currentMaster(): Promise<RedisServer>;
  /**
   * Crashes the current master (SIGKILL) and resolves once a sentinel names a replica as the
   * new master and that replica reports `role:master`.
   *
   * @throws {ServerStartError} no replica was promoted within `timeout` ms (default 30 000).
   */
  failover(options?: { timeout?: number }): Promise<SentinelFailover>;
  /** Stops every sentinel and data node and deletes their directories. Idempotent. */
  stop(): Promise<void>;
  /** Same as {@link RedisSentinelServer.stop}. */
  [Symbol.asyncDispose](): Promise<void>;
}

const HOST = '127.0.0.1';
const POLL_INTERVAL_MS = 50;
const PORT_ATTEMPTS = 8;

function text(value: RespValue | undefined): string {
  if (value instanceof RespError) throw new Error(value.message);
  return typeof value === 'string' ? value : '';
}

/** A flat `[field, value, ...]` reply (SENTINEL MASTER) as a map. */
function pairs(value: RespValue | undefined): Map<string, string> {
  const map = new Map<string, string>();
  if (!Array.isArray(value)) return map;
  for (let i = 0; i + 1 < value.length; i += 2) map.set(String(value[i]), String(value[i + 1]));
  return map;
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** One `redis-server --sentinel` process with its own writable config file. */
class SentinelProcess {
  #spawned: SpawnedChild | undefined;
  readonly #untrackDir: () => void;
  constructor(
    readonly port: number,
    readonly dir: string,
  ) {
    this.#untrackDir = trackDirectory(dir);
  }

  async launch(bin: string, env: NodeJS.ProcessEnv, config: string): Promise<void> {
    const file = join(this.dir, 'sentinel.conf');
    await writeFile(file, config);
    this.#spawned = await spawnChild(bin, [file, '--sentinel'], {
      env,
      notFound: redisInstallHint,
    });
  }

  /** The process output, for error messages. */
  describe(): string {
    return this.#spawned === undefined ? '' : describeOutput(this.#spawned.output);
  }

  exitedEarly(): boolean {
    const child = this.#spawned?.child;
    return child !== undefined && !isRunning(child);
  }

  async stop(): Promise<void> {
    const spawned = this.#spawned;
    if (spawned !== undefined && isRunning(spawned.child)) {
      spawned.child.kill('SIGTERM');
      if (!(await settlesWithin(spawned.exited, 5_000))) spawned.child.kill('SIGKILL');
    }
    if (spawned !== undefined) await spawned.exited;
    await rm(this.dir, { recursive: true, force: true });
    this.#untrackDir();
  }
}

function validate(options: StartRedisSentinelOptions): void {
  const { replicas = 1, sentinels = 3, masterName = 'tiercache' } = options;
  if (!Number.isInteger(replicas) || replicas < 1) {
    throw new InvalidOptionsError(`replicas: expected an integer of at least 1, got ${replicas}`);
  }
  if (!Number.isInteger(sentinels) || sentinels < 1) {
    throw new InvalidOptionsError(`sentinels: expected an integer of at least 1, got ${sentinels}`);
  }
  if (!/^[A-Za-z0-9_.-]+$/.test(masterName)) {
    throw new InvalidOptionsError(
      `masterName: expected letters, digits, '_', '.' or '-', got ${JSON.stringify(masterName)}`,
    );
  }
  for (const name of ['downAfterMs', 'failoverTimeoutMs', 'startupTimeout'] as const) {
    const value = options[name];
    if (value !== undefined && !(Number.isInteger(value) && value > 0)) {
      throw new InvalidOptionsError(`${name}: expected a positive integer of ms, got ${value}`);
    }
  }
}

async function untilDeadline(
  deadline: number,
  what: string,
  check: () => Promise<string | true>,
): Promise<void> {
  let last = '';
  let lastError: unknown;
  for (;;) {
    try {
      const result = await check();
      if (result === true) return;
      last = result;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      throw new ServerStartError(`${what} did not happen in time${last ? `: ${last}` : ''}`, {
        cause: lastError,
      });
    }
    await pause(POLL_INTERVAL_MS);
  }
}

async function startSentinel(
  bin: string,
  env: NodeJS.ProcessEnv,
  configFor: (port: number, dir: string) => string,
  deadline: number,
): Promise<SentinelProcess> {
  let lastError: unknown;
  for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
    const port = await getFreePort(HOST);
    const dir = await mkdtemp(join(tmpdir(), 'tc-sentinel-'));
    const sentinel = new SentinelProcess(port, dir);
    try {
      await sentinel.launch(bin, env, configFor(port, dir));
      await untilDeadline(deadline, `sentinel on port ${port} answering`, async () => {
        if (sentinel.exitedEarly()) throw new Error(`exited${sentinel.describe()}`);
        const [reply] = await sendCommands({ host: HOST, port }, [['PING']]);
        return reply === 'PONG' || `PING answered ${JSON.stringify(reply)}`;
      });
      return sentinel;
    } catch (error) {
      lastError = error;
      const inUse = /address already in use/i.test(sentinel.describe());
      await sentinel.stop();
      if (!inUse) break;
    }
  }
  throw lastError instanceof ServerStartError
    ? lastError
    : new ServerStartError('a sentinel failed to start', { cause: lastError });
}

/**
 * Starts a master, `replicas` replicas of it and `sentinels` sentinels monitoring it
 * (quorum: a majority), and resolves once every replica is in sync and every sentinel
 * knows the replicas and the other sentinels — so a failover can happen at once.
 *
 * Sentinels run as `redis-server <conf> --sentinel` (no separate `redis-sentinel` binary
 * is needed); each has its own config file, which Sentinel rewrites as it learns.
 *
 * @throws {InvalidOptionsError} an option is out of range; the message names it.
 * @throws {ServerNotFoundError} `redis-server` is not on `PATH`.
 * @throws {ServerStartError} a process failed to start, or the group did not settle in time.
 */
export async function startRedisSentinel(
  options: StartRedisSentinelOptions = {},
): Promise<RedisSentinelServer> {
  validate(options);
  const replicaCount = options.replicas ?? 1;
  const sentinelCount = options.sentinels ?? 3;
  const name = options.masterName ?? 'tiercache';
  const downAfter = options.downAfterMs ?? 1000;
  const failoverTimeout = options.failoverTimeoutMs ?? 5000;
  const bin = options.redisServerBin ?? 'redis-server';
  const env = options.env ?? process.env;
  const deadline = Date.now() + (options.startupTimeout ?? 60_000);
  const common = {
    ...(options.redisServerBin === undefined ? {} : { redisServerBin: options.redisServerBin }),
    ...(options.env === undefined ? {} : { env: options.env }),
  };

  const nodes: RedisServer[] = [];
  const sentinels: SentinelProcess[] = [];
  const stopAll = async (): Promise<void> => {
    const results = await Promise.allSettled([
      ...sentinels.map((s) => s.stop()),
      ...nodes.map((n) => n.stop()),
    ]);
    const failure = results.find((result) => result.status === 'rejected');
    if (failure !== undefined) throw failure.reason;
  };

  try {
    const first = await launchRedis({ ...common, startupTimeout: deadline - Date.now() });
    nodes.push(first);
    const launched = await Promise.allSettled(
      Array.from({ length: replicaCount }, () =>
        launchRedis({
          ...common,
          startupTimeout: Math.max(1, deadline - Date.now()),
          args: ['--replicaof', first.host, String(first.port)],
        }),
      ),
    );
    for (const result of launched) if (result.status === 'fulfilled') nodes.push(result.value);
    const failed = launched.find((result) => result.status === 'rejected');
    if (failed !== undefined) throw failed.reason;

    // Sentinels learn the replicas from the master's INFO when they connect: let the
    // replicas attach first, so every sentinel knows them from its first look.
    await untilDeadline(deadline, 'replicas in sync', async () => {
      const [reply] = await sendCommands(first.options(), [['INFO', 'replication']]);
      const info = parseInfo(text(reply));
      const online = [...info.entries()].filter(
        ([key, value]) => /^slave\d+$/.test(key) && value.includes('state=online'),
      ).length;
      return online === replicaCount || `${online}/${replicaCount} replicas online`;
    });

    const quorum = Math.floor(sentinelCount / 2) + 1;
    const configFor = (port: number, dir: string): string =>
      [
        `port ${port}`,
        `bind ${HOST}`,
        `dir ${dir}`,
        `sentinel monitor ${name} ${first.host} ${first.port} ${quorum}`,
        `sentinel down-after-milliseconds ${name} ${downAfter}`,
        `sentinel failover-timeout ${name} ${failoverTimeout}`,
        `sentinel parallel-syncs ${name} 1`,
        '',
      ].join('\n');
    const started = await Promise.allSettled(
      Array.from({ length: sentinelCount }, () => startSentinel(bin, env, configFor, deadline)),
    );
    for (const result of started) if (result.status === 'fulfilled') sentinels.push(result.value);
    const sentinelFailed = started.find((result) => result.status === 'rejected');
    if (sentinelFailed !== undefined) throw sentinelFailed.reason;

    // Sentinels find each other through hello messages on the master (every 2 s).
    await untilDeadline(deadline, 'sentinels discovering each other', async () => {
      const views = await Promise.all(
        sentinels.map(async (s) => {
          const [reply] = await sendCommands({ host: HOST, port: s.port }, [
            ['SENTINEL', 'MASTER', name],
          ]);
          return pairs(reply);
        }),
      );
      const ok = views.every(
        (view) =>
          view.get('num-other-sentinels') === String(sentinelCount - 1) &&
          view.get('num-slaves') === String(replicaCount) &&
          view.get('flags') === 'master',
      );
      return (
        ok ||
        views
          .map((v) => `others=${v.get('num-other-sentinels')} slaves=${v.get('num-slaves')}`)
          .join('; ')
      );
    });
  } catch (error) {
    await stopAll();
    throw error;
  }

  const addresses = sentinels.map((s) => ({ host: HOST, port: s.port }));
  let master = nodes[0] as RedisServer;

  const askMaster = async (): Promise<number | undefined> => {
    for (const address of addresses) {
      try {
        const [reply] = await sendCommands(address, [
          ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name],
        ]);
        if (Array.isArray(reply)) return Number(reply[1]);
      } catch {
        // That sentinel is not answering: ask the next.
      }
    }
    return undefined;
  };

  const stop = stopAll;
  return {
    name,
    sentinels: addresses,
    nodes,
    get master() {
      return master;
    },
    get replicas() {
      return nodes.filter((node) => node !== master);
    },
    async currentMaster() {
      const port = await askMaster();
      const found = nodes.find((node) => node.port === port);
      if (found === undefined) throw new ServerStartError(`no sentinel names a known master`);
      return found;
    },
    async failover(failoverOptions) {
      const timeout = failoverOptions?.timeout ?? 30_000;
      const killed = master;
      const started = Date.now();
      await killed.kill();
      let promoted: RedisServer | undefined;
      await untilDeadline(started + timeout, `failover away from ${killed.port}`, async () => {
        const port = await askMaster();
        if (port === undefined || port === killed.port) return `sentinels name ${port}`;
        const candidate = nodes.find((node) => node.port === port);
        if (candidate === undefined) return `sentinels name unknown port ${port}`;
        const [reply] = await sendCommands(candidate.options(), [['INFO', 'replication']]);
        if (parseInfo(text(reply)).get('role') !== 'master') return `${port} not master yet`;
        promoted = candidate;
        return true;
      });
      master = promoted as RedisServer;
      return { killed, promoted: master, ms: Date.now() - started };
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
