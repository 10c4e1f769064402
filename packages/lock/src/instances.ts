import type { Cluster, Redis } from 'ioredis';
import { type LuaScript, runScript } from './scripts.js';

/** Redis did not answer one command in time. Only ever seen as the `cause` of a lock error. */
class CommandTimeoutError extends Error {
  override readonly name = 'CommandTimeoutError';
}

/** What each instance answered: the script's integer reply, or the error it failed with. */
export type Replies = (number | Error)[];

/** How many instances did what was asked, refused (not our lock), or failed (error, timeout). */
export interface Tally {
  done: number;
  refused: number;
  failed: number;
  /** The last failure, kept as the `cause` of the error the caller may throw. */
  error: Error | undefined;
}

function withTimeout(promise: Promise<unknown>, ms: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new CommandTimeoutError(`Redis did not answer within ${ms} ms`)),
      ms,
    );
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

const toError = (error: unknown): Error =>
  error instanceof Error ? error : new Error(String(error), { cause: error });

const toReply = (value: unknown): number | Error =>
  typeof value === 'number' ? value : new Error(`Unexpected script reply ${String(value)}`);

/**
 * The Redis instances a lock lives on: one (a standalone server or a Cluster), or N
 * independent servers for Redlock. Every command is bounded by `timeout`, so a hung server
 * costs at most that long, and a quorum is counted from whatever answered.
 */
export class Instances {
  readonly size: number;
  /** A strict majority: two quorums always share at least one instance. */
  readonly quorum: number;

  constructor(
    private readonly clients: readonly (Redis | Cluster)[],
    private readonly timeout: number,
  ) {
    this.size = clients.length;
    this.quorum = Math.floor(clients.length / 2) + 1;
  }

  /** Runs `lua` on every instance in parallel; never rejects. */
  async run(
    lua: LuaScript,
    keys: readonly string[],
    args: readonly (string | number)[],
    timeout: number = this.timeout,
  ): Promise<Replies> {
    const { clients } = this;
    if (clients.length === 1) {
      // The common case: no Promise.all, no intermediate arrays.
      try {
        return [toReply(await withTimeout(runScript(clients[0]!, lua, keys, args), timeout))];
      } catch (error) {
        return [toError(error)];
      }
    }
    return Promise.all(
      clients.map((client) =>
        withTimeout(runScript(client, lua, keys, args), timeout).then(toReply, toError),
      ),
    );
  }

  /** Runs `lua` only on the instances at `indexes`; never rejects. */
  runOn(
    indexes: readonly number[],
    lua: LuaScript,
    keys: readonly string[],
    args: readonly (string | number)[],
  ): Promise<unknown> {
    return Promise.all(
      indexes.map((index) =>
        withTimeout(runScript(this.clients[index]!, lua, keys, args), this.timeout).catch(
          () => undefined,
        ),
      ),
    );
  }

  /** Counts replies of a compare-and-act script: 1 done, 0 refused, an error failed. */
  static tally(replies: Replies): Tally {
    const tally: Tally = { done: 0, refused: 0, failed: 0, error: undefined };
    for (const reply of replies) {
      if (typeof reply !== 'number') {
        tally.failed++;
        tally.error = reply;
      } else if (reply > 0) tally.done++;
      else tally.refused++;
    }
    return tally;
  }
}
