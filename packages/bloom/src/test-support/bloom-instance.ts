/**
 * One application instance, run as its own process by the multi-instance test:
 *   tsx bloom-instance.ts '{"port":6379,"filter":"in-process","key":"bloom:users","add":[…]}'
 * It adds `add` to its filter (and, like a cache-aside write, stores `cache:<key>` in Redis),
 * then prints `{ "mightExist": [...] }` for `check`, as its bloom guard sees them.
 */
import { Redis } from 'ioredis';
import { bloomGuard } from '../bloom-guard.js';
import { inProcessBloom } from '../in-process-bloom.js';
import { redisBloom } from '../redis-bloom.js';

interface InstanceConfig {
  port: number;
  filter: 'in-process' | 'redis';
  key: string;
  expectedItems: number;
  add?: string[];
  check?: string[];
}

const config = JSON.parse(process.argv[2] ?? '{}') as InstanceConfig;
const client = new Redis({ host: '127.0.0.1', port: config.port, maxRetriesPerRequest: 1 });
try {
  const filter =
    config.filter === 'redis'
      ? redisBloom({ client, key: config.key, expectedItems: config.expectedItems })
      : inProcessBloom({ expectedItems: config.expectedItems });
  for (const key of config.add ?? []) {
    await client.set(`cache:${key}`, 'value');
    await filter.add(key);
  }
  const guard = bloomGuard({ filter });
  const mightExist = await Promise.all((config.check ?? []).map((key) => guard.mightExist(key)));
  process.stdout.write(JSON.stringify({ mightExist }));
} finally {
  client.disconnect();
}
