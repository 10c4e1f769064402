import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import type { RedisServer } from '@tiercache/test-servers';
import { Redis } from 'ioredis';

/** The bench package's directory, where the peers are installed. */
const benchDir = fileURLToPath(new URL('..', import.meta.url));
/** The repository root, where BENCHMARKS.md is written. */
export const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));

/** Peer and tool packages whose installed versions the report names. */
export const PEERS = [
  'bentocache',
  'cache-manager',
  'keyv',
  '@keyv/redis',
  'lru-cache',
  'ioredis',
  'tinybench',
] as const;

export function installedVersion(name: string): string {
  try {
    const manifest = JSON.parse(
      readFileSync(`${benchDir}node_modules/${name}/package.json`, 'utf8'),
    ) as { version?: string };
    return manifest.version ?? '?';
  } catch {
    return 'not installed';
  }
}

/** Commit of the workspace, and whether the tiercache sources differ from it. */
export function workspaceRevision(): string {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: repoRoot,
      encoding: 'utf8',
    }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'packages'], {
      cwd: repoRoot,
      encoding: 'utf8',
    }).trim();
    return dirty ? `${sha} + uncommitted changes in packages/` : sha;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

export interface MachineInfo {
  node: string;
  platform: string;
  cpu: string;
  cores: number;
  memoryGiB: number;
  loadAverage: number[];
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    node: process.version,
    platform: `${os.type()} ${os.release()} (${os.arch()})`,
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: os.totalmem() / 1024 ** 3,
    loadAverage: os.loadavg(),
  };
}

/** `redis_version` from `INFO server` of the dedicated server. */
export async function redisVersion(server: RedisServer): Promise<string> {
  const client = new Redis(server.options());
  try {
    const info = await client.info('server');
    return /^redis_version:(.+)$/m.exec(info)?.[1]?.trim() ?? 'unknown';
  } finally {
    await client.quit();
  }
}
