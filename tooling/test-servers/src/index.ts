export { InvalidOptionsError, ServerNotFoundError, ServerStartError } from './errors.js';
export { getFreePort } from './free-port.js';
export type { PostgresServer, StartPostgresOptions } from './postgres-server.js';
export { startPostgres } from './postgres-server.js';
export type { RedisClusterServer, StartRedisClusterOptions } from './redis-cluster.js';
export { startRedisCluster } from './redis-cluster.js';
export type { RedisConnectionOptions, RedisServer, StartRedisOptions } from './redis-server.js';
export { startRedis } from './redis-server.js';
