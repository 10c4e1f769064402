import { InvalidOptionsError, ServerStartError } from './errors.js';
import { getFreePortWithBus } from './free-port.js';
import { describeOutput } from './output-tail.js';
import { launchRedis, type RedisServer } from './redis-server.js';
import { parseInfo, RespError, type RespValue, sendCommands } from './resp.js';
import { settlesWithin } from './settle-within.js';
import { redisInstallHint, spawnChild } from './spawn-child.js';

/** Options of {@link startRedisCluster}. */
export interface StartRedisClusterOptions {
  /**
   * Number of masters; Redis Cluster needs at least 3.
   * @default 3
   */
  masters?: number;
  /**
   * Replicas attached to each master.
   * @default 0
   */
  replicasPerMaster?: number;
  /**
   * Password of every node (`requirepass` and `masterauth`).
   * @default unset (no AUTH)
   */
  password?: string;
  /**
   * Extra `redis-server` arguments for every node.
   * @default []
   */
  args?: string[];
  /**
   * The `redis-server` binary.
   * @default 'redis-server'
   */
  redisServerBin?: string;
  /**
   * The `redis-cli` binary, used for `--cluster create`.
   * @default 'redis-cli'
   */
  redisCliBin?: string;
  /**
   * Environment of the processes; its `PATH` is where the binaries are looked up.
   * @default process.env
   */
  env?: NodeJS.ProcessEnv;
  /**
   * How long to wait for the whole cluster to be ready (every node `cluster_state:ok`,
   * every slot covered, every replica in sync), in ms.
   * @default 60_000
   */
  startupTimeout?: number;
}

/** A Redis Cluster of `redis-server` child processes on loopback ports. */
export interface RedisClusterServer extends AsyncDisposable {
  /**
   * Every node, masters first (as they were when the cluster formed), then replicas.
   * Each can be killed, paused and restarted like a standalone server; a restarted node
   * rejoins with the same node ID.
   */
  readonly nodes: RedisServer[];
  /** `{ host, port }` of every node, for `new Redis.Cluster(startupNodes)`. */
  readonly startupNodes: { host: string; port: number }[];
  /** The running nodes that currently report `role:master` (this changes after a failover). */
  masters(): Promise<RedisServer[]>;
  /**
   * Crashes a master (SIGKILL) and resolves once one of its replicas has been promoted:
   * the replica reports `role:master`, and every running node reports `cluster_state:ok`
   * and sees the promoted node as a master and the killed one as failed. The killed node
   * stays down; `restart()` brings it back as a replica of the promoted one (then
   * {@link RedisClusterServer.untilHealthy}).
   *
   * @throws {ServerStartError} `master` is not a running master with a replica, or no
   *   replica was promoted within `timeout` ms (default 30 000).
   */
  failover(master: RedisServer, options?: { timeout?: number }): Promise<ClusterFailover>;
  /**
   * Resolves once every running node reports the cluster healthy (as after startup:
   * every slot covered, every replica's link up) and knows every node.
   */
  untilHealthy(options?: { timeout?: number }): Promise<void>;
  /** Stops every node and deletes their directories. Idempotent. */
  stop(): Promise<void>;
  /** Same as {@link RedisClusterServer.stop}. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** What {@link RedisClusterServer.failover} did. */
export interface ClusterFailover {
  /** The master that was killed (still down). */
  readonly killed: RedisServer;
  /** Its replica, now a master serving the killed node's slots. */
  readonly promoted: RedisServer;
  /** Milliseconds from the kill until the cluster reported itself healthy again. */
  readonly ms: number;
}

const TOTAL_SLOTS = '16384';
const POLL_INTERVAL_MS = 50;

function validate(masters: number, replicas: number, startupTimeout: number): void {
  if (!Number.isInteger(masters) || masters < 3) {
    throw new InvalidOptionsError(
      `masters: Redis Cluster needs an integer of at least 3, got ${masters}`,
    );
  }
  if (!Number.isInteger(replicas) || replicas < 0) {
    throw new InvalidOptionsError(
      `replicasPerMaster: expected a non-negative integer, got ${replicas}`,
    );
  }
  if (!(Number.isFinite(startupTimeout) && startupTimeout > 0)) {
    throw new InvalidOptionsError(
      `startupTimeout: expected a positive number of ms, got ${startupTimeout}`,
    );
  }
}

async function stopAll(nodes: readonly RedisServer[]): Promise<void> {
  const results = await Promise.allSettled(nodes.map((node) => node.stop()));
  const failure = results.find((result) => result.status === 'rejected');
  if (failure !== undefined) throw failure.reason;
}

async function createCluster(
  nodes: readonly RedisServer[],
  replicas: number,
  options: StartRedisClusterOptions,
  deadline: number,
): Promise<void> {
  const bin = options.redisCliBin ?? 'redis-cli';
  const args = [
    '--cluster',
    'create',
    ...nodes.map((node) => `${node.host}:${node.port}`),
    '--cluster-replicas',
    String(replicas),
    '--cluster-yes',
  ];
  const env = options.env ?? process.env;
  const cli = await spawnChild(bin, args, {
    // The password through the environment, not `-a`: arguments are visible to every user
    // (`ps`), the environment only to the process's own user.
    env: options.password === undefined ? env : { ...env, REDISCLI_AUTH: options.password },
    // The redis-server package brings redis-cli along, so the same hint applies.
    notFound: redisInstallHint,
  });
  if (!(await settlesWithin(cli.exited, Math.max(0, deadline - Date.now())))) {
    cli.child.kill('SIGKILL');
    await cli.exited;
    throw new ServerStartError(
      `${bin} --cluster create did not finish in time${describeOutput(cli.output)}`,
    );
  }
  await settlesWithin(cli.closed, 500);
  if (cli.child.exitCode !== 0) {
    throw new ServerStartError(
      `${bin} --cluster create failed (code ${cli.child.exitCode})${describeOutput(cli.output)}`,
    );
  }
}

interface NodeState {
  ready: boolean;
  role: string | undefined;
  summary: string;
}

async function inspectNode(
  node: RedisServer,
  total: number,
  password: string | undefined,
): Promise<NodeState> {
  const [clusterInfo, replication] = await sendCommands(
    { host: node.host, port: node.port, password },
    [
      ['CLUSTER', 'INFO'],
      ['INFO', 'replication'],
    ],
  );
  const cluster = parseInfo(text(clusterInfo));
  const info = parseInfo(text(replication));
  const role = info.get('role');
  const summary =
    `${node.port}: state=${cluster.get('cluster_state')} ` +
    `slots_ok=${cluster.get('cluster_slots_ok')} known=${cluster.get('cluster_known_nodes')} ` +
    `role=${role} link=${info.get('master_link_status') ?? '-'}`;
  const ready =
    cluster.get('cluster_state') === 'ok' &&
    cluster.get('cluster_slots_assigned') === TOTAL_SLOTS &&
    cluster.get('cluster_slots_ok') === TOTAL_SLOTS &&
    cluster.get('cluster_known_nodes') === String(total) &&
    (role === 'master' || info.get('master_link_status') === 'up');
  return { ready, role, summary };
}

/**
 * Waits until every node reports the cluster healthy, knows every other node, and every
 * replica's link to its master is up — so a client sees the final topology at once.
 * Returns the role of each node.
 */
async function waitUntilHealthy(
  nodes: readonly RedisServer[],
  password: string | undefined,
  deadline: number,
  total = nodes.length,
): Promise<(string | undefined)[]> {
  let states: NodeState[] = [];
  let lastError: unknown;
  for (;;) {
    try {
      states = await Promise.all(nodes.map((node) => inspectNode(node, total, password)));
      if (states.every((state) => state.ready)) return states.map((state) => state.role);
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      throw new ServerStartError(
        `Redis Cluster did not become healthy in time:\n${states.map((s) => s.summary).join('\n')}`,
        { cause: lastError },
      );
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
}

function text(value: RespValue | undefined): string {
  if (value instanceof RespError) throw new Error(value.message);
  return typeof value === 'string' ? value : '';
}

async function roleOf(node: RedisServer, password: string | undefined): Promise<string> {
  const [reply] = await sendCommands({ host: node.host, port: node.port, password }, [
    ['INFO', 'replication'],
  ]);
  return parseInfo(text(reply)).get('role') ?? '';
}

async function isRunningMaster(node: RedisServer, password: string | undefined): Promise<boolean> {
  if (node.pid === undefined) return false;
  try {
    return (await roleOf(node, password)) === 'master';
  } catch {
    return false;
  }
}

/**
 * Whether every running node reports `cluster_state:ok` and sees `promotedId` as a master
 * and `killedId` as failed (a `fail` flag, not just `fail?`).
 */
async function failoverDone(
  nodes: readonly RedisServer[],
  promotedId: string,
  killedId: string,
  password: string | undefined,
): Promise<boolean> {
  const running = nodes.filter((node) => node.pid !== undefined);
  const views = await Promise.all(
    running.map((node) =>
      sendCommands({ host: node.host, port: node.port, password }, [
        ['CLUSTER', 'INFO'],
        ['CLUSTER', 'NODES'],
      ]),
    ),
  );
  return views.every(([info, table]) => {
    if (parseInfo(text(info)).get('cluster_state') !== 'ok') return false;
    const flags = new Map(
      text(table)
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => {
          const [id = '', , nodeFlags = ''] = line.split(' ');
          return [id, nodeFlags.split(',')] as const;
        }),
    );
    return (
      (flags.get(promotedId)?.includes('master') ?? false) &&
      (flags.get(killedId)?.includes('fail') ?? false)
    );
  });
}

async function failover(
  nodes: readonly RedisServer[],
  master: RedisServer,
  password: string | undefined,
  timeout: number,
): Promise<ClusterFailover> {
  const target = (node: RedisServer) => ({ host: node.host, port: node.port, password });
  if (!(await isRunningMaster(master, password))) {
    throw new ServerStartError(`failover: node ${master.port} is not a running master`);
  }
  const [killedId] = await sendCommands(target(master), [['CLUSTER', 'MYID']]);
  const replicas: RedisServer[] = [];
  for (const node of nodes) {
    if (node === master || node.pid === undefined) continue;
    const [reply] = await sendCommands(target(node), [['INFO', 'replication']]);
    const info = parseInfo(text(reply));
    if (info.get('role') === 'slave' && info.get('master_port') === String(master.port)) {
      replicas.push(node);
    }
  }
  if (replicas.length === 0) {
    throw new ServerStartError(`failover: master ${master.port} has no replica to promote`);
  }
  const started = Date.now();
  const deadline = started + timeout;
  await master.kill();
  let promoted: RedisServer | undefined;
  let lastError: unknown;
  for (;;) {
    try {
      if (promoted === undefined) {
        for (const replica of replicas) {
          if ((await roleOf(replica, password)) === 'master') promoted = replica;
        }
      }
      if (promoted !== undefined) {
        const [promotedId] = await sendCommands(target(promoted), [['CLUSTER', 'MYID']]);
        if (await failoverDone(nodes, text(promotedId), text(killedId), password)) {
          return { killed: master, promoted, ms: Date.now() - started };
        }
      }
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      throw new ServerStartError(
        `failover: no replica of ${master.port} was promoted within ${timeout} ms`,
        { cause: lastError },
      );
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
}

/**
 * Starts a Redis Cluster: `masters * (1 + replicasPerMaster)` `redis-server` processes
 * with cluster mode on, joined with `redis-cli --cluster create`, and resolves once every
 * node reports `cluster_state:ok` with all 16384 slots covered.
 *
 * @throws {InvalidOptionsError} fewer than 3 masters, or a negative replica count.
 * @throws {ServerNotFoundError} `redis-server` or `redis-cli` is not on `PATH`.
 * @throws {ServerStartError} a node failed to start, or the cluster did not form in time.
 */
export async function startRedisCluster(
  options: StartRedisClusterOptions = {},
): Promise<RedisClusterServer> {
  const masters = options.masters ?? 3;
  const replicas = options.replicasPerMaster ?? 0;
  const startupTimeout = options.startupTimeout ?? 60_000;
  validate(masters, replicas, startupTimeout);
  const deadline = Date.now() + startupTimeout;
  const count = masters * (1 + replicas);

  const launched = await Promise.allSettled(
    Array.from({ length: count }, () =>
      launchRedis({
        ...(options.args === undefined ? {} : { args: options.args }),
        ...(options.password === undefined ? {} : { password: options.password }),
        ...(options.redisServerBin === undefined ? {} : { redisServerBin: options.redisServerBin }),
        ...(options.env === undefined ? {} : { env: options.env }),
        startupTimeout: Math.max(1, deadline - Date.now()),
        pickPort: () => getFreePortWithBus(),
        portArgs: (port) => [
          '--cluster-enabled',
          'yes',
          // Relative to the node's own --dir, which survives kill() so restart() rejoins.
          '--cluster-config-file',
          `nodes-${port}.conf`,
          '--cluster-node-timeout',
          '2000',
        ],
      }),
    ),
  );
  const started = launched.flatMap((result) =>
    result.status === 'fulfilled' ? [result.value] : [],
  );
  const failed = launched.find((result) => result.status === 'rejected');
  if (failed !== undefined) {
    await stopAll(started);
    throw failed.reason;
  }

  let nodes = started;
  try {
    await createCluster(nodes, replicas, options, deadline);
    const roles = await waitUntilHealthy(nodes, options.password, deadline);
    nodes = [
      ...nodes.filter((_, index) => roles[index] === 'master'),
      ...nodes.filter((_, index) => roles[index] !== 'master'),
    ];
  } catch (error) {
    await stopAll(nodes);
    throw error;
  }

  const stop = (): Promise<void> => stopAll(nodes);
  const password = options.password;
  return {
    nodes,
    startupNodes: nodes.map((node) => ({ host: node.host, port: node.port })),
    async masters() {
      const flags = await Promise.all(nodes.map((node) => isRunningMaster(node, password)));
      return nodes.filter((_, index) => flags[index]);
    },
    failover: (master, failoverOptions) =>
      failover(nodes, master, password, failoverOptions?.timeout ?? 30_000),
    async untilHealthy(healthOptions) {
      const running = nodes.filter((node) => node.pid !== undefined);
      const deadline = Date.now() + (healthOptions?.timeout ?? 30_000);
      // A killed node is still known to the others (flagged failed): count it.
      await waitUntilHealthy(running, password, deadline, nodes.length);
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
