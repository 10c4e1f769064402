import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';

describe('loadConfig', () => {
  it('defaults to the issue’s dataset on port 3000, one instance, cache on', () => {
    const c = loadConfig([], {});
    expect(c).toMatchObject({
      port: 3000,
      host: '127.0.0.1',
      databaseUrl: undefined,
      redisUrl: undefined,
      seed: { agents: 10_000, tasks: 200_000, votes: 100_000, sessions: 20_000 },
      instances: 1,
      cacheDisabled: false,
      l1Max: 10_000,
      warm: true,
      refresh: true,
    });
    expect(c.dataDir).toMatch(/apps\/demo\/\.data\/postgres$/);
  });

  it('reads the environment, and flags win over it', () => {
    const env = { PORT: '4000', SEED_AGENTS: '50', CACHE_DISABLED: '1', REDIS_URL: 'redis://h:1' };
    const c = loadConfig(['--port', '5000', '--instances', '2'], env);
    expect(c).toMatchObject({
      port: 5000,
      instances: 2,
      cacheDisabled: true,
      redisUrl: 'redis://h:1',
      seed: { agents: 50 },
    });
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig([], { DATABASE_URL: '', PORT: '' })).toMatchObject({
      databaseUrl: undefined,
      port: 3000,
    });
  });

  it('names the offending option', () => {
    expect(() => loadConfig(['--instances', '0'], {})).toThrow(/^Invalid demo option instances:/);
    expect(() => loadConfig([], { SEED_TASKS: 'lots' })).toThrow(/tasks:/);
    expect(() => loadConfig(['--colour'], {})).toThrow(/colour/);
  });
});
