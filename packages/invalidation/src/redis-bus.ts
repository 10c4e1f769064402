import { randomBytes } from 'node:crypto';
import { type Cluster, Redis, type RedisOptions } from 'ioredis';
import { z } from 'zod';
import { BusPublishError } from './errors.js';
import { decodeMessage, encodeMessage } from './message-codec.js';
import {
  consoleLogger,
  hasFunctions,
  loggerSchema,
  parseOptions,
  positiveMs,
  withTimeout,
} from './options.js';
import type {
  BusMetrics,
  InvalidationBus,
  InvalidationLogger,
  InvalidationMessage,
} from './types.js';

/** Options of {@link redisBus}. */
export interface RedisBusOptions {
  /**
   * The ioredis `Redis` or `Cluster` client to publish with (your usual client). The bus
   * subscribes on a connection of its own: `client.duplicate()` for a `Redis`, a connection
   * to one of the masters for a `Cluster` (pub/sub messages reach every node). It never
   * closes `client`.
   */
  client: Redis | Cluster;
  /**
   * The pub/sub channel. Every instance sharing a cache must use the same one; caches that
   * must not hear each other (two apps on one Redis) must not.
   * @default 'updates:tiercache' (the guide's `updates:` channel family)
   */
  channel?: string;
  /**
   * Identifies this instance in its messages, so it ignores its own.
   * @default 16 random bytes, base64url
   */
  instanceId?: string;
  /**
   * `CLIENT SETNAME` of the subscriber connection, to find it in `CLIENT LIST`.
   * @default `tiercache:bus:<instanceId>`
   */
  connectionName?: string;
  /**
   * How long `publish` waits for Redis before rejecting with `BusPublishError`, in ms.
   * @default 1_000
   */
  publishTimeout?: number;
  /**
   * Counts published and received messages, e.g. a `CacheMetrics` of `@tiercache/metrics`
   * (its `recordBusMessage`).
   * @default undefined
   */
  metrics?: BusMetrics;
  /**
   * Where subscriber connection problems and throwing handlers are reported.
   * @default console
   */
  logger?: InvalidationLogger;
}

/** What {@link RedisBus.on} reports. */
export interface RedisBusEvents {
  /** A message was published (Redis acknowledged the PUBLISH). */
  published: { readonly message: InvalidationMessage };
  /** A message from another instance was delivered to the subscribers. */
  received: { readonly message: InvalidationMessage; readonly from: string };
  /**
   * Subscribers were told to clear L1 (`{ type: 'clear' }`) because messages may have been
   * missed: `'disconnected'` when the subscriber connection dropped, `'reconnected'` once it
   * is subscribed again (the one `CacheMetrics` should count as a reconnect clear), or
   * `'unreadable'` for a message this version cannot read.
   */
  'reconnect-clear': { readonly reason: 'disconnected' | 'reconnected' | 'unreadable' };
  /** The subscriber connection failed, or a subscriber's handler threw. */
  error: { readonly error: Error };
}

/** Counts since the bus was created. */
export interface RedisBusStats {
  readonly published: number;
  readonly received: number;
  /** This instance's own messages, echoed by Redis and ignored. */
  readonly ignored: number;
  /** L1 clears after the subscriber came back (`'reconnect-clear'` with `'reconnected'`). */
  readonly reconnectClears: number;
  readonly disconnects: number;
  readonly unreadable: number;
}

type Listener<E extends keyof RedisBusEvents> = (event: RedisBusEvents[E]) => void;

const schema = z.strictObject({
  client: z.custom<Redis | Cluster>(
    (value) => hasFunctions(value, ['publish', 'duplicate']),
    'expected an ioredis Redis or Cluster client',
  ),
  channel: z.string().min(1).optional(),
  instanceId: z.string().min(1).optional(),
  connectionName: z
    .string()
    .regex(/^[!-~]+$/, 'expected printable ASCII without spaces (CLIENT SETNAME)')
    .optional(),
  publishTimeout: positiveMs.optional(),
  metrics: z
    .custom<BusMetrics>(
      (value) => hasFunctions(value, ['recordBusMessage']),
      'expected an object with recordBusMessage(direction)',
    )
    .optional(),
  logger: loggerSchema.optional(),
});

/** Connection settings of a Cluster node that a standalone subscriber connection reuses. */
function nodeConnection(options: RedisOptions): RedisOptions {
  const { host, port, username, password, tls, family } = options;
  return { host, port, username, password, tls, family };
}

/**
 * The cross-instance invalidation bus over Redis pub/sub (implements `InvalidationBus` of
 * `@tiercache/core`). Every invalidation an instance makes is published on one channel;
 * every other instance drops the same entries from its L1. An instance ignores its own
 * messages (they carry its `instanceId`). Messages carry keys, tags and patterns, never
 * values.
 *
 * What "every instance" means: `publish` resolves once Redis acknowledged the PUBLISH, i.e.
 * the message was handed to every subscriber connected at that moment; each applies it when
 * it reads it from its socket (typically well under a millisecond later; see
 * MEASUREMENTS.md). An instance whose subscriber connection is down at that moment misses
 * it, which is why the bus tells its subscribers to clear L1 when the connection drops and
 * again once it is subscribed again.
 */
export class RedisBus implements InvalidationBus {
  /** This instance's id, carried by its messages. */
  readonly instanceId: string;
  /** The pub/sub channel. */
  readonly channel: string;
  /** The `CLIENT SETNAME` of the subscriber connection. */
  readonly connectionName: string;

  readonly #client: Redis | Cluster;
  readonly #publishTimeout: number;
  readonly #metrics: BusMetrics | undefined;
  readonly #logger: InvalidationLogger;
  readonly #handlers = new Set<(message: InvalidationMessage) => void>();
  readonly #listeners: { [E in keyof RedisBusEvents]: Set<Listener<E>> } = {
    published: new Set(),
    received: new Set(),
    'reconnect-clear': new Set(),
    error: new Set(),
  };
  #subscriber: Redis | undefined;
  #subscribedOnce = false;
  #subscribed = false;
  #closed = false;
  #nextNode = 0;
  #stats = {
    published: 0,
    received: 0,
    ignored: 0,
    reconnectClears: 0,
    disconnects: 0,
    unreadable: 0,
  };
  readonly #ready: Promise<void>;
  #resolveReady!: () => void;

  /** Prefer {@link redisBus}. Throws `InvalidOptionsError` for bad options. */
  constructor(options: RedisBusOptions) {
    const o = parseOptions('redisBus', schema, options);
    this.#client = o.client;
    this.channel = o.channel ?? 'updates:tiercache';
    this.instanceId = o.instanceId ?? randomBytes(16).toString('base64url');
    this.connectionName = o.connectionName ?? `tiercache:bus:${this.instanceId}`;
    this.#publishTimeout = o.publishTimeout ?? 1_000;
    this.#metrics = o.metrics;
    this.#logger = (o.logger as InvalidationLogger | undefined) ?? consoleLogger;
    this.#ready = new Promise((resolve) => {
      this.#resolveReady = resolve;
    });
    if ((this.#client as { isCluster?: boolean }).isCluster === true) this.#clusterSubscriber();
    else this.#attach((this.#client as Redis).duplicate(this.#subscriberOptions()));
  }

  /** Resolves once the subscriber is subscribed for the first time. */
  ready(): Promise<void> {
    return this.#ready;
  }

  /** Counts since creation. */
  get stats(): RedisBusStats {
    return { ...this.#stats };
  }

  /** Whether the subscriber connection is subscribed right now. */
  get subscribed(): boolean {
    return this.#subscribed;
  }

  /**
   * Publishes `message` to the other instances; resolves once Redis acknowledged it.
   * Rejects with `BusPublishError` when Redis fails or does not answer within
   * `publishTimeout`, or after `close()`.
   */
  async publish(message: InvalidationMessage): Promise<void> {
    if (this.#closed) throw new BusPublishError('The bus is closed');
    const payload = encodeMessage(this.instanceId, message);
    try {
      await withTimeout(
        this.#client.publish(this.channel, payload),
        this.#publishTimeout,
        () =>
          new BusPublishError(
            `Redis did not acknowledge PUBLISH within ${this.#publishTimeout} ms`,
          ),
      );
    } catch (error) {
      if (error instanceof BusPublishError) throw error;
      throw new BusPublishError(`PUBLISH on "${this.channel}" failed`, { cause: error });
    }
    this.#stats.published++;
    this.#metrics?.recordBusMessage('published');
    this.#emit('published', { message });
  }

  /**
   * Calls `handler` with every message another instance publishes, and with
   * `{ type: 'clear' }` when messages may have been missed. Returns the unsubscribe function.
   */
  subscribe(handler: (message: InvalidationMessage) => void): () => void {
    this.#handlers.add(handler);
    return () => {
      this.#handlers.delete(handler);
    };
  }

  /** Subscribes to a bus event; returns the unsubscribe function. */
  on<E extends keyof RedisBusEvents>(event: E, listener: Listener<E>): () => void {
    const set = this.#listeners[event] as Set<Listener<E>> | undefined;
    if (set === undefined) throw new TypeError(`Unknown redisBus event "${String(event)}"`);
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  }

  /** Closes the subscriber connection (never `client`); later `publish` calls reject. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#handlers.clear();
    const sub = this.#subscriber;
    this.#subscriber = undefined;
    if (sub === undefined) return;
    if (sub.status === 'ready') {
      try {
        await withTimeout(sub.quit(), this.#publishTimeout, () => new Error('QUIT timed out'));
      } catch {
        sub.disconnect();
      }
    } else {
      sub.disconnect();
    }
  }

  /** Same as {@link close}, for `await using bus = redisBus(...)`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #subscriberOptions(): Partial<RedisOptions> {
    return {
      connectionName: this.connectionName,
      // Resubscription is ours: it must be followed by an L1 clear, in that order.
      autoResubscribe: false,
      enableAutoPipelining: false,
      lazyConnect: false,
      maxRetriesPerRequest: null,
    };
  }

  #attach(sub: Redis): void {
    this.#subscriber = sub;
    sub.on('ready', () => this.#subscribeNow(sub));
    sub.on('close', () => this.#disconnected(sub));
    sub.on('error', (error: Error) => {
      this.#logger.debug?.('redisBus: subscriber connection error', { error });
      this.#emit('error', { error });
    });
    sub.on('message', (channel: string, raw: string) => {
      if (channel === this.channel) this.#onMessage(raw);
    });
    // A Redis that was already connected when duplicate() returned still emits 'ready'.
  }

  #subscribeNow(sub: Redis): void {
    if (this.#closed || sub !== this.#subscriber) return;
    sub.subscribe(this.channel).then(
      () => {
        if (this.#closed || sub !== this.#subscriber) return;
        this.#subscribed = true;
        if (this.#subscribedOnce) {
          // Anything published while we were away is lost: clear, now that new messages
          // reach us again (clearing before resubscribing would leave a gap).
          this.#stats.reconnectClears++;
          this.#reset('reconnected');
        }
        this.#subscribedOnce = true;
        this.#resolveReady();
      },
      (error: unknown) => {
        const e = error instanceof Error ? error : new Error(String(error));
        this.#logger.warn('redisBus: SUBSCRIBE failed; retrying on the next connection', {
          error: e,
        });
        this.#emit('error', { error: e });
        // Force a reconnect, which retries the SUBSCRIBE.
        sub.disconnect(true);
      },
    );
  }

  #disconnected(sub: Redis): void {
    if (this.#closed || sub !== this.#subscriber || !this.#subscribed) return;
    this.#subscribed = false;
    this.#stats.disconnects++;
    this.#reset('disconnected');
  }

  /** Cluster: subscribe through one master; move to the next when that one is gone. */
  #clusterSubscriber(): void {
    const cluster = this.#client as Cluster;
    if (this.#closed) return;
    if (cluster.status !== 'ready') {
      cluster.once('ready', () => this.#clusterSubscriber());
      return;
    }
    const masters = cluster.nodes('master');
    const node = masters[this.#nextNode++ % Math.max(1, masters.length)];
    if (node === undefined) {
      setTimeout(() => this.#clusterSubscriber(), 1_000).unref();
      return;
    }
    const sub = new Redis({
      ...nodeConnection(node.options),
      ...this.#subscriberOptions(),
      // A few quick attempts on this node, then 'end': another master takes over.
      retryStrategy: (times) => (times > 5 ? null : Math.min(times * 100, 1_000)),
    });
    this.#attach(sub);
    sub.once('end', () => {
      if (this.#closed || sub !== this.#subscriber) return;
      this.#disconnected(sub);
      this.#clusterSubscriber();
    });
  }

  #onMessage(raw: string): void {
    const { from, message } = decodeMessage(raw);
    if (from === this.instanceId) {
      this.#stats.ignored++;
      return;
    }
    if (message === undefined || from === undefined) {
      // A message we cannot read may have been an invalidation: the safe reading is "clear".
      this.#stats.unreadable++;
      this.#logger.warn('redisBus: unreadable message; clearing L1', { channel: this.channel });
      this.#reset('unreadable');
      return;
    }
    this.#stats.received++;
    this.#metrics?.recordBusMessage('received');
    this.#deliver(message);
    this.#emit('received', { message, from });
  }

  #reset(reason: RedisBusEvents['reconnect-clear']['reason']): void {
    this.#deliver({ type: 'clear' });
    this.#emit('reconnect-clear', { reason });
  }

  #deliver(message: InvalidationMessage): void {
    for (const handler of this.#handlers) {
      try {
        handler(message);
      } catch (error) {
        const e = error instanceof Error ? error : new Error(String(error));
        this.#logger.error('redisBus: a subscriber threw', { error: e });
        this.#emit('error', { error: e });
      }
    }
  }

  #emit<E extends keyof RedisBusEvents>(event: E, payload: RedisBusEvents[E]): void {
    for (const listener of this.#listeners[event] as Set<Listener<E>>) {
      try {
        listener(payload);
      } catch (error) {
        this.#logger.error(`redisBus: a "${event}" listener threw`, { error });
      }
    }
  }
}

/**
 * Creates the Redis pub/sub invalidation bus. Pass it to every `CacheManager` sharing the L2
 * (`bus` option); close it after the manager.
 *
 * @example
 * const bus = redisBus({ client: redis, channel: 'updates:app' });
 * const cache = new CacheManager({ l1: memoryTier(), l2: redisTier({ client: redis }), bus });
 */
export function redisBus(options: RedisBusOptions): RedisBus {
  return new RedisBus(options);
}
