export { aclDenials, commandsUsed, resetCommandStats, setAclUser } from './command-stats.js';
export {
  InvalidOptionsError,
  redactSecrets,
  ServerNotFoundError,
  ServerStartError,
} from './errors.js';
export { getFreePort } from './free-port.js';
export type { PostgresServer, StartPostgresOptions } from './postgres-server.js';
export { startPostgres } from './postgres-server.js';
export type {
  ClusterFailover,
  RedisClusterServer,
  StartRedisClusterOptions,
} from './redis-cluster.js';
export { startRedisCluster } from './redis-cluster.js';
export type {
  RedisSentinelServer,
  SentinelAddress,
  SentinelFailover,
  StartRedisSentinelOptions,
} from './redis-sentinel.js';
export { startRedisSentinel } from './redis-sentinel.js';
export type {
  RedisAclUser,
  RedisClientTls,
  RedisConnectionOptions,
  RedisServer,
  StartRedisOptions,
  TlsAuthClients,
} from './redis-server.js';
export { startRedis } from './redis-server.js';
