import type { Codec } from '@tiercache/compression';
import {
  ADMIT,
  type Admission,
  type CircuitBreaker,
  type CircuitState,
  PROBE,
  REJECT,
} from './circuit-breaker.js';
import { type Deadline, DeadlineQueue } from './deadline-queue.js';
import { CircuitOpenError, L2CommandError, L2TimeoutError, L2UnavailableError } from './errors.js';
import { type NodeBreakers, NodeTicket } from './node-breakers.js';

/** One key's answer in a multi-key read (the `TierReadResult` of `@tiercache/core`). */
export type RedisReadResult =
  | { readonly hit: true; readonly value: unknown }
  | { readonly hit: false; readonly error?: Error };

/**
 * The ioredis commands the tier uses, typed once: on a `Redis | Cluster` union TypeScript
 * cannot call overloaded methods. Both classes satisfy it at runtime.
 */
export interface Commands {
  readonly status: string;
  readonly isCluster: boolean;
  getBuffer(key: string): Promise<Buffer | null>;
  get(key: string): Promise<string | null>;
  mget(keys: string[]): Promise<Array<string | null>>;
  evalsha(sha: string, numkeys: number, ...args: Array<string | Buffer | number>): Promise<unknown>;
  eval(script: string, numkeys: number, ...args: Array<string | Buffer | number>): Promise<unknown>;
  mgetBuffer(keys: string[]): Promise<Array<Buffer | null>>;
  set(key: string, value: Buffer, px: 'PX', ms: number): Promise<unknown>;
  unlink(...keys: Array<string | Buffer>): Promise<number>;
  scanBuffer(
    cursor: string,
    match: 'MATCH',
    pattern: string,
    count: 'COUNT',
    n: number,
  ): Promise<[Buffer, Buffer[]]>;
  config(subcommand: 'GET', parameter: string): Promise<unknown>;
  quit(): Promise<unknown>;
  disconnect(): void;
  nodes?(role: 'master'): Commands[];
  once(event: 'ready' | 'end', listener: () => void): unknown;
  off(event: 'ready' | 'end', listener: () => void): unknown;
  on(event: 'error', listener: (error: unknown) => void): unknown;
}

/** Not judged by the circuit (admin commands). */
export const UNTRACKED = 0;
/**
 * How an operation reports to the circuit: {@link UNTRACKED}, `ADMIT` or `PROBE` (the tier's
 * breaker), or a {@link NodeTicket} (a Cluster master's breaker).
 */
export type Tracking = typeof UNTRACKED | typeof ADMIT | typeof PROBE | typeof FREE | NodeTicket;
/** {@link CommandEngine.gate} answer when the connection is known to be down. */
export const DOWN = 3;
/** {@link CommandEngine.gate} answer: admitted, and judged by no circuit (Cluster, no key). */
export const FREE = 4;
/** What {@link CommandEngine.gate} answers. */
export type Gate = Admission | typeof DOWN | typeof FREE | NodeTicket;

/**
 * A `get` batch is sent as soon as it holds this many keys, the rest of the tick's gets at
 * the end of the tick. Redis then answers the first MGETs while the caller is still issuing
 * gets and the client decodes them while Redis works on the next, instead of one MGET that
 * leaves each side idle while the other works. Measured with tooling/bench's L2 scenario
 * alone (64 concurrent gets of ~1 KB values), this constant changed between runs: 16 keys
 * 1.43–1.45× raw ioredis (3 runs), 8 keys 1.40–1.43× (2), 32 keys 1.37× (1), one MGET per
 * tick 1.20–1.35× (8). `pnpm bench`: 1.37–1.49× (4 runs), against 1.19–1.31× (3) before.
 */
export const BATCH_KEYS = 16;
/**
 * Payloads at least this long are decoded with `decodeAsync`, which inflates large
 * compressed bodies on the threadpool; smaller ones decode inline, saving a promise per hit.
 */
const ASYNC_DECODE_BYTES = 8 * 1024;
const MISS: RedisReadResult = Object.freeze({ hit: false });

type Mapper = (reply: unknown, engine: CommandEngine) => unknown;

/** One Redis command (or a fan-out judged as one) awaited by one caller. */
class Call implements Deadline {
  deadline = 0;
  next: Deadline | undefined = undefined;
  settled = false;
  resolve!: (value: unknown) => void;
  reject!: (error: unknown) => void;
  constructor(
    readonly engine: CommandEngine,
    readonly command: string,
    readonly map: Mapper | undefined,
    readonly tracking: Tracking,
  ) {}
  expire(): void {
    this.engine.record(this.tracking, true);
    this.reject(this.engine.timeoutError(this.command));
  }
}

/** Up to {@link BATCH_KEYS} `get` calls of one tick, answered by one MGET. */
class GetBatch implements Deadline {
  deadline = 0;
  next: Deadline | undefined = undefined;
  settled = false;
  tracking: Tracking = ADMIT;
  sent = false;
  readonly keys: string[] = [];
  readonly resolves: Array<(value: unknown) => void> = [];
  readonly rejects: Array<(error: unknown) => void> = [];
  constructor(readonly engine: CommandEngine) {}
  expire(): void {
    this.engine.record(this.tracking, true);
    for (const reject of this.rejects) reject(this.engine.timeoutError('MGET'));
  }
}

function isUsable(status: string): boolean {
  // 'wait' (lazyConnect) and the first 'connecting' queue in ioredis until ready, bounded by
  // our timeout; 'reconnecting', 'close', 'end' and 'disconnecting' mean the link is down,
  // and queueing there would only pile up commands that our timeout rejects anyway.
  return status === 'ready' || status === 'connect' || status === 'connecting' || status === 'wait';
}

// Reply errors that mean "cannot serve right now" rather than "you asked something wrong".
// NOAUTH / WRONGPASS: the connection has no (valid) credentials, so no command can run:
// an outage to the caller, not one rejected command. NOPERM (an ACL forbidding one command
// or key) stays a command error: everything else still works.
// MOVED / ASK: ioredis follows redirections itself; one that reaches us means it gave up
// (a Cluster master died and its slots point at it until a replica is promoted).
// READONLY: the node we write to was demoted to a replica by a failover (Sentinel) and the
// client has not reconnected to the new master yet. Both are failover windows, not bad calls.
const UNAVAILABLE_REPLY =
  /^(LOADING|BUSY|CLUSTERDOWN|MASTERDOWN|TRYAGAIN|NOAUTH|WRONGPASS|MOVED|ASK|READONLY)\b/;

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** True when `error` means Redis could not answer: it counts against the circuit. */
export function isOutage(error: unknown): boolean {
  if (error instanceof L2CommandError) return false;
  if (error instanceof L2UnavailableError || error instanceof L2TimeoutError) return true;
  if (error instanceof Error && error.name === 'ReplyError') {
    return UNAVAILABLE_REPLY.test(error.message);
  }
  return true;
}

/** Maps an ioredis error to `L2UnavailableError`, `L2TimeoutError` or `L2CommandError`. */
export function typedError(error: unknown, command: string, timeoutMs: number): Error {
  if (
    error instanceof L2UnavailableError ||
    error instanceof L2TimeoutError ||
    error instanceof L2CommandError
  ) {
    return error;
  }
  const text = errorMessage(error);
  if (error instanceof Error && error.name === 'ReplyError') {
    return UNAVAILABLE_REPLY.test(text)
      ? new L2UnavailableError(`Redis cannot serve ${command} now: ${text}`, { cause: error })
      : new L2CommandError(`Redis rejected ${command}: ${text}`, { cause: error });
  }
  // A client-side timeout configured on a caller's own ioredis client.
  if (text === 'Command timed out') {
    return new L2TimeoutError(`Redis did not answer ${command} within ${timeoutMs} ms`, {
      cause: error,
    });
  }
  return new L2UnavailableError(`Redis ${command} failed: ${text}`, { cause: error });
}

/** GET reply → value or `undefined`. */
export function decodeReply(reply: unknown, engine: CommandEngine): unknown {
  return reply === null ? undefined : engine.decode(reply as Buffer);
}

/** MGET reply (or per-key GET replies and command errors) → read results in order. */
export function manyReply(reply: unknown, engine: CommandEngine): unknown {
  const replies = reply as Array<Buffer | null | Error>;
  const codec = engine.codec;
  const out = new Array<RedisReadResult>(replies.length);
  let pending: Array<Promise<void>> | undefined;
  for (let i = 0; i < replies.length; i++) {
    const item = replies[i];
    if (item === null || item === undefined) {
      out[i] = MISS;
    } else if (item instanceof Error) {
      out[i] = { hit: false, error: item };
    } else if (item.length < ASYNC_DECODE_BYTES) {
      try {
        out[i] = { hit: true, value: codec.decode(item) };
      } catch (error) {
        out[i] = { hit: false, error: asError(error) };
      }
    } else {
      pending ??= [];
      pending.push(
        codec.decodeAsync(item).then(
          (value) => {
            out[i] = { hit: true, value };
          },
          (error: unknown) => {
            out[i] = { hit: false, error: asError(error) };
          },
        ),
      );
    }
  }
  return pending === undefined ? out : Promise.all(pending).then(() => out);
}

/** UNLINK reply → whether the key existed. */
export function existedReply(reply: unknown): unknown {
  return (reply as number) > 0;
}

/** MGET of version keys → versions, `''` for none. */
export function versionsReply(reply: unknown): unknown {
  return (reply as Array<string | null>).map((v) => v ?? '');
}

/** Compare-and-set script reply → whether it wrote. */
export function storedReply(reply: unknown): unknown {
  return reply === 1;
}

/** SET reply → nothing. */
export function voidReply(): unknown {
  return undefined;
}

function flushBatch(engine: CommandEngine, batch: GetBatch): void {
  engine.flush(batch);
}

/**
 * Sends commands for the tier: the circuit and connection gate, one deadline per command
 * (a shared {@link DeadlineQueue}, no timer per call), per-tick `get` batching into MGET,
 * and the mapping of ioredis errors to typed ones. Internal to the package.
 */
export class CommandEngine {
  readonly raw: Commands;
  readonly codec: Codec;
  readonly timeout: number;
  readonly breaker: CircuitBreaker | undefined;
  readonly nodes: NodeBreakers | undefined;
  readonly #deadlines: DeadlineQueue;
  readonly #batching: boolean;
  #batch: GetBatch | undefined;

  constructor(settings: {
    raw: Commands;
    codec: Codec;
    timeout: number;
    breaker: CircuitBreaker | undefined;
    /** Per-master breakers (Cluster): used instead of `breaker` for calls on one key. */
    nodes?: NodeBreakers | undefined;
    batching: boolean;
  }) {
    this.raw = settings.raw;
    this.codec = settings.codec;
    this.timeout = settings.timeout;
    this.breaker = settings.breaker;
    this.nodes = settings.nodes;
    this.#batching = settings.batching;
    this.#deadlines = new DeadlineQueue(settings.timeout);
  }

  /**
   * Circuit and connection check in front of every command; a `DOWN` counts as a failure.
   * With per-node breakers (Cluster), a call on one key is judged by the circuit of the
   * master that owns `fullKey`; a call without a key (multi-key, admin) by none.
   */
  gate(fullKey?: string): Gate {
    const nodes = this.nodes;
    if (nodes !== undefined) {
      if (fullKey === undefined) return isUsable(this.raw.status) ? FREE : DOWN;
      const entry = nodes.forKey(fullKey);
      const admission = entry.breaker.admit();
      if (admission === REJECT) return REJECT;
      const ticket = admission === PROBE ? entry.probing : entry.admitted;
      if (!isUsable(this.raw.status)) {
        this.record(ticket, true);
        return DOWN;
      }
      return ticket;
    }
    const admission = this.breaker === undefined ? ADMIT : this.breaker.admit();
    if (admission === REJECT) return REJECT;
    if (!isUsable(this.raw.status)) {
      this.record(admission, true);
      return DOWN;
    }
    return admission;
  }

  /** The rejection for a `REJECT` or `DOWN` gate. */
  refuse(gate: Gate): Promise<never> {
    if (gate === REJECT) {
      return Promise.reject(
        new CircuitOpenError('Redis circuit is open: the call was not sent to Redis'),
      );
    }
    return Promise.reject(
      new L2UnavailableError(`Redis connection is ${this.raw.status}: the call was not sent`),
    );
  }

  /** The tier's circuit state: its breaker's, or the worst of its masters'. */
  get circuitState(): CircuitState {
    return this.nodes?.state ?? this.breaker?.state ?? 'closed';
  }

  /** A probe that never reached Redis (its value failed to encode): free the probe slot. */
  abandon(tracking: Tracking): void {
    if (tracking === PROBE) this.breaker?.abandon();
    else if (tracking instanceof NodeTicket && tracking.probe) tracking.breaker.abandon();
  }

  /** Reports an operation's outcome to the circuit. */
  record(tracking: Tracking, failed: boolean): void {
    if (tracking instanceof NodeTicket) {
      if (failed) tracking.breaker.failure(tracking.probe);
      else tracking.breaker.success(tracking.probe);
      return;
    }
    const breaker = this.breaker;
    if (tracking === UNTRACKED || tracking === FREE || breaker === undefined) return;
    if (failed) breaker.failure(tracking === PROBE);
    else breaker.success(tracking === PROBE);
  }

  timeoutError(command: string): L2TimeoutError {
    return new L2TimeoutError(`Redis did not answer ${command} within ${this.timeout} ms`);
  }

  decode(bytes: Buffer): unknown {
    return bytes.length < ASYNC_DECODE_BYTES
      ? this.codec.decode(bytes)
      : this.codec.decodeAsync(bytes);
  }

  /** GET `fullKey`, batched into the tick's MGET when batching is on. */
  get(fullKey: string, tracking: Tracking): Promise<unknown> {
    if (!this.#batching)
      return this.send(this.raw.getBuffer(fullKey), 'GET', decodeReply, tracking);
    let batch = this.#batch;
    if (batch === undefined) {
      batch = new GetBatch(this);
      this.#batch = batch;
      this.#deadlines.add(batch);
      process.nextTick(flushBatch, this, batch);
    }
    if (tracking === PROBE) batch.tracking = PROBE;
    const { keys, resolves, rejects } = batch;
    keys.push(fullKey);
    const value = new Promise((resolve, reject) => {
      resolves.push(resolve);
      rejects.push(reject);
    });
    // Full: sent now (the reply cannot arrive before this call returns); its nextTick
    // flush then finds it sent.
    if (keys.length >= BATCH_KEYS) this.flush(batch);
    return value;
  }

  /** Sends the open batch now (close() calls this so queued gets precede QUIT). */
  flushPending(): void {
    const batch = this.#batch;
    if (batch !== undefined) this.flush(batch);
  }

  /** Sends a batch's MGET. */
  flush(batch: GetBatch): void {
    if (this.#batch === batch) this.#batch = undefined;
    // A batch flushed early by close() is flushed again by its nextTick: send it once.
    if (batch.sent || batch.settled) return;
    batch.sent = true;
    this.raw.mgetBuffer(batch.keys).then(
      (replies) => this.#batchReplied(batch, replies),
      (error: unknown) => this.#batchFailed(batch, error),
    );
  }

  /**
   * Races `reply` against the command timeout, maps the reply and reports to the circuit.
   * Rejects with a typed error (or whatever `map` throws, e.g. `CorruptPayloadError`).
   */
  send(
    reply: Promise<unknown>,
    command: string,
    map: Mapper | undefined,
    tracking: Tracking,
  ): Promise<unknown> {
    const call = new Call(this, command, map, tracking);
    const result = new Promise<unknown>((resolve, reject) => {
      call.resolve = resolve;
      call.reject = reject;
    });
    this.#deadlines.add(call);
    reply.then(
      (value) => this.#callReplied(call, value),
      (error: unknown) => this.#callFailed(call, error),
    );
    return result;
  }

  /** A command bounded by the timeout but not judged by the circuit. */
  timed<T>(reply: Promise<T>, command: string): Promise<T> {
    return this.send(reply, command, undefined, UNTRACKED) as Promise<T>;
  }

  #callReplied(call: Call, value: unknown): void {
    if (call.settled) return;
    call.settled = true;
    this.#deadlines.prune();
    this.record(call.tracking, false);
    if (call.map === undefined) {
      call.resolve(value);
      return;
    }
    try {
      call.resolve(call.map(value, this));
    } catch (error) {
      call.reject(error);
    }
  }

  #callFailed(call: Call, error: unknown): void {
    if (call.settled) return;
    call.settled = true;
    this.#deadlines.prune();
    const typed = typedError(error, call.command, this.timeout);
    this.record(call.tracking, isOutage(typed));
    call.reject(typed);
  }

  #batchReplied(batch: GetBatch, replies: Array<Buffer | null>): void {
    if (batch.settled) return;
    batch.settled = true;
    this.#deadlines.prune();
    this.record(batch.tracking, false);
    const { resolves, rejects } = batch;
    for (let i = 0; i < resolves.length; i++) {
      const bytes = replies[i];
      if (bytes === null || bytes === undefined) {
        resolves[i]!(undefined);
        continue;
      }
      try {
        resolves[i]!(this.decode(bytes));
      } catch (error) {
        rejects[i]!(error);
      }
    }
  }

  #batchFailed(batch: GetBatch, error: unknown): void {
    if (batch.settled) return;
    batch.settled = true;
    this.#deadlines.prune();
    const typed = typedError(error, 'MGET', this.timeout);
    this.record(batch.tracking, isOutage(typed));
    // One error object per caller: callers may annotate what they catch.
    const { rejects } = batch;
    rejects[0]?.(typed);
    for (let i = 1; i < rejects.length; i++) {
      rejects[i]!(typedError(error, 'MGET', this.timeout));
    }
  }
}
