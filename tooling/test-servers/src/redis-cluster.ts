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
  /** Stops every node and deletes their directories. Idempotent. */
  stop(): Promise<void>;
  /** Same as {@link RedisClusterServer.stop}. */
  [Symbol.asyncDispose](): Promise<void>;
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
    ...(options.password === undefined ? [] : ['-a', options.password, '--no-auth-warning']),
  ];
  const cli = await spawnChild(bin, args, {
    env: options.env ?? process.env,
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
  const text = (value: RespValue | undefined): string => {
    if (value instanceof RespError) throw new Error(value.message);
    return typeof value === 'string' ? value : '';
  };
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
): Promise<(string | undefined)[]> {
  let states: NodeState[] = [];
  let lastError: unknown;
  for (;;) {
    try {
      states = await Promise.all(nodes.map((node) => inspectNode(node, nodes.length, password)));
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
  return {
    nodes,
    startupNodes: nodes.map((node) => ({ host: node.host, port: node.port })),
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
