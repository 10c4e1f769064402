import { fuzzOptions } from '@tiercache/test-utils';
import { InvalidOptionsError } from './errors.js';
import { createInvalidator } from './invalidator.js';
import { redisBus } from './redis-bus.js';
import { redisTagVersions } from './redis-tag-versions.js';

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const has = (v: unknown, ...names: string[]): boolean =>
  isObj(v) && names.every((n) => typeof v[n] === 'function');
const timerMs = (v: unknown): boolean =>
  typeof v === 'number' && Number.isSafeInteger(v) && v > 0 && v <= 2_147_483_647;
const nonEmpty = (v: unknown): boolean => typeof v === 'string' && v !== '';
const opt =
  (check: (v: unknown) => boolean) =>
  (v: unknown): boolean =>
    v === undefined || check(v);
const fail = () => Promise.reject(new Error('not connected'));
const logger = { warn: () => {}, error: () => {} };

fuzzOptions('createInvalidator', {
  build: (o) => createInvalidator(o as never),
  base: { cache: { deleteMany: fail, invalidateTags: fail, invalidatePattern: fail } },
  error: InvalidOptionsError,
  fields: {
    cache: (v) => has(v, 'deleteMany', 'invalidateTags', 'invalidatePattern'),
    events: opt((v) => has(v, 'resolve')),
    tenantPattern: opt((v) => typeof v === 'function'),
  },
});

// Only invalid options are ever built, so the fake client is never subscribed or written to.
fuzzOptions('redisBus', {
  build: (o) => redisBus(o as never),
  base: { client: { publish: fail, duplicate: () => ({}) }, logger },
  error: InvalidOptionsError,
  fields: {
    client: (v) => has(v, 'publish', 'duplicate'),
    channel: opt(nonEmpty),
    instanceId: opt(nonEmpty),
    connectionName: opt((v) => typeof v === 'string' && /^[!-~]+$/.test(v)),
    publishTimeout: opt(timerMs),
    metrics: opt((v) => has(v, 'recordBusMessage')),
    logger: opt((v) => has(v, 'warn', 'error')),
  },
});

fuzzOptions('redisTagVersions', {
  build: (o) => redisTagVersions(o as never),
  base: { client: { get: fail, mget: fail, evalsha: fail, eval: fail } },
  error: InvalidOptionsError,
  fields: {
    client: (v) => has(v, 'get', 'mget', 'evalsha', 'eval'),
    prefix: opt((v) => typeof v === 'string'),
    ttl: opt(timerMs),
    timeout: opt(timerMs),
    clock: opt((v) => typeof v === 'function'),
  },
});
