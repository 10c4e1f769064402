import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';

/** One request the load sent, with what came back. */
export interface Sample {
  /** When it was sent (ms, `performance.now()` of the controller). */
  readonly at: number;
  readonly ms: number;
  readonly kind: 'read' | 'write';
  readonly op: string;
  /** HTTP status; 0 = no answer (network error or the client's timeout). */
  readonly status: number;
  readonly ok: boolean;
  readonly worker: number;
  readonly error?: string;
}

/** A read of a tracked agent that returned an older name than a write acknowledged earlier. */
export interface StaleRead {
  readonly at: number;
  readonly worker: number;
  readonly agent: string;
  readonly returned: number;
  /** The newest write acknowledged more than the bound before the read was sent. */
  readonly expected: number;
  /** How long before the read the first newer write had been acknowledged, ms. */
  readonly ageMs: number;
}

interface Ack {
  readonly seq: number;
  readonly at: number;
  readonly scenario: string;
}

/** A tracked agent: renamed to `c<seq>` by the load, one rename in flight at a time. */
interface Tracked {
  readonly id: string;
  acks: Ack[];
  busy: boolean;
  /** A rename failed: its outcome is unknown, so the agent takes no more renames. */
  retired: boolean;
}

const NAME = /^chaos-(\d+)$/;

/** What a run wrote and had acknowledged, across scenarios: checked against PostgreSQL. */
export class Ledger {
  readonly tracked: Tracked[];
  /** Agents that only take reads, reputation and votes (hot ones first). */
  readonly others: readonly string[];
  seq = 0;
  readonly votes: { id: string; scenario: string }[] = [];
  readonly tasks: { id: string; scenario: string }[] = [];
  /** Acknowledged +1 reputation changes per agent, and the score before the run. */
  readonly reputation = new Map<string, { base: number; acked: { scenario: string }[] }>();

  constructor(tracked: readonly string[], others: readonly string[]) {
    this.tracked = tracked.map((id) => ({ id, acks: [], busy: false, retired: false }));
    this.others = others;
  }

  /** Splits the seeded agents: `trackedCount` take renames, the rest the other writes. */
  static async fromDatabase(pool: pg.Pool, trackedCount = 40): Promise<Ledger> {
    const { rows } = await pool.query<{ id: string; reputation_score: number }>(
      'SELECT id, reputation_score FROM agents WHERE is_active ORDER BY reputation_score DESC, id',
    );
    const ledger = new Ledger(
      rows.slice(0, trackedCount).map((r) => r.id),
      rows.slice(trackedCount).map((r) => r.id),
    );
    for (const r of rows.slice(trackedCount)) {
      ledger.reputation.set(r.id, { base: r.reputation_score, acked: [] });
    }
    return ledger;
  }

  /**
   * Writes acknowledged during `scenario` that PostgreSQL does not hold: a rename older than the
   * last acknowledged one, a vote or task id that is missing, a reputation below its base plus
   * its acknowledged increments.
   */
  async lostWrites(pool: pg.Pool, scenario: string): Promise<{ lost: number; checked: number }> {
    let lost = 0;
    let checked = 0;
    const names = await pool.query<{ id: string; name: string }>(
      'SELECT id, name FROM agents WHERE id = ANY($1::uuid[])',
      [this.tracked.map((t) => t.id)],
    );
    const nameOf = new Map(names.rows.map((r) => [r.id, r.name]));
    for (const t of this.tracked) {
      const mine = t.acks.filter((a) => a.scenario === scenario);
      if (mine.length === 0) continue;
      checked += mine.length;
      const stored = Number(NAME.exec(nameOf.get(t.id) ?? '')?.[1] ?? 0);
      // Every acknowledged rename of this scenario that a later stored name does not cover.
      lost += mine.filter((a) => a.seq > stored).length;
    }
    const voteIds = this.votes.filter((v) => v.scenario === scenario).map((v) => v.id);
    checked += voteIds.length;
    if (voteIds.length > 0) {
      const found = await pool.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM votes WHERE id = ANY($1::bigint[])',
        [voteIds],
      );
      lost += voteIds.length - (found.rows[0]?.n ?? 0);
    }
    const taskIds = this.tasks.filter((v) => v.scenario === scenario).map((v) => v.id);
    checked += taskIds.length;
    if (taskIds.length > 0) {
      const found = await pool.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM tasks WHERE id = ANY($1::uuid[])',
        [taskIds],
      );
      lost += taskIds.length - (found.rows[0]?.n ?? 0);
    }
    const changed = [...this.reputation].filter(([, r]) => r.acked.length > 0);
    if (changed.length > 0) {
      const scores = await pool.query<{ id: string; reputation_score: number }>(
        'SELECT id, reputation_score FROM agents WHERE id = ANY($1::uuid[])',
        [changed.map(([id]) => id)],
      );
      const scoreOf = new Map(scores.rows.map((r) => [r.id, r.reputation_score]));
      for (const [id, r] of changed) {
        const mine = r.acked.filter((a) => a.scenario === scenario).length;
        checked += mine;
        // Only +1 changes are sent: the score is at least base + every acknowledged one.
        const missing = r.base + r.acked.length - (scoreOf.get(id) ?? 0);
        if (missing > 0) lost += Math.min(missing, mine);
      }
    }
    return { lost, checked };
  }

  /** Reads every tracked agent's name from PostgreSQL, as `seq` numbers. */
  async storedSeqs(pool: pg.Pool): Promise<Map<string, number>> {
    const { rows } = await pool.query<{ id: string; name: string }>(
      'SELECT id, name FROM agents WHERE id = ANY($1::uuid[])',
      [this.tracked.map((t) => t.id)],
    );
    return new Map(rows.map((r) => [r.id, Number(NAME.exec(r.name)?.[1] ?? 0)]));
  }
}

/** Options of {@link Load}. */
export interface LoadOptions {
  readonly urls: readonly string[];
  readonly ledger: Ledger;
  /** Label of the writes this load acknowledges (for the lost-write check). */
  readonly scenario: string;
  /** @default 120 */
  readonly readsPerSecond?: number;
  /** @default 12 */
  readonly writesPerSecond?: number;
  /** A request with no answer after this is a failure. @default 20_000 */
  readonly requestTimeout?: number;
  /**
   * A read is stale when it returns an older name than a rename acknowledged more than this
   * long before the read was sent. @default 1000
   */
  readonly staleBoundMs?: number;
  /** Keep every sample (chaos) or only counts (soak). @default true */
  readonly keepSamples?: boolean;
  /** @default Math.random */
  readonly random?: () => number;
}

const JSON_HEADERS = { 'content-type': 'application/json' };
const STATUSES = ['all', 'completed', 'pending', 'failed'];

/**
 * A steady mixed load on the demo's workers, open loop (requests are sent on schedule whether
 * or not earlier ones answered, so a hung server shows as latency and in-flight requests, not
 * as a slower load): reads of agents, stats, task lists, leaderboards and popular agents, and
 * writes (renames of tracked agents, votes, new tasks, reputation) recorded in the
 * {@link Ledger}. Reads of tracked agents are checked for staleness as they arrive.
 */
export class Load {
  readonly samples: Sample[] = [];
  readonly stale: StaleRead[] = [];
  /** Stale reads within the bound (the bus has not delivered yet): expected, counted. */
  staleWithinBound = 0;
  readonly counts = { reads: 0, readFailures: 0, writes: 0, writeFailures: 0 };
  readonly #options: LoadOptions;
  readonly #random: () => number;
  readonly #inFlight = new Set<Promise<void>>();
  #timer: NodeJS.Timeout | undefined;
  #next = 0;

  constructor(options: LoadOptions) {
    this.#options = options;
    this.#random = options.random ?? Math.random;
  }

  get inFlight(): number {
    return this.#inFlight.size;
  }

  start(): void {
    const reads = this.#options.readsPerSecond ?? 120;
    const writes = this.#options.writesPerSecond ?? 12;
    const tickMs = 10;
    let readDebt = 0;
    let writeDebt = 0;
    let last = performance.now();
    this.#timer = setInterval(() => {
      const now = performance.now();
      const elapsed = (now - last) / 1000;
      last = now;
      readDebt += reads * elapsed;
      writeDebt += writes * elapsed;
      for (; readDebt >= 1; readDebt--) this.#track(this.#read());
      for (; writeDebt >= 1; writeDebt--) this.#track(this.#write());
    }, tickMs);
  }

  /** Stops sending and waits for every request in flight to settle. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    while (this.#inFlight.size > 0) await Promise.all([...this.#inFlight]);
  }

  #track(p: Promise<void>): void {
    this.#inFlight.add(p);
    void p.finally(() => this.#inFlight.delete(p));
  }

  #worker(): number {
    this.#next = (this.#next + 1) % this.#options.urls.length;
    return this.#next;
  }

  #agent(): string {
    const others = this.#options.ledger.others;
    // Skewed: a hot head takes most reads, as real traffic does.
    return others[Math.floor(others.length * this.#random() ** 2)]!;
  }

  async #send(
    kind: 'read' | 'write',
    op: string,
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; json: unknown; at: number; end: number; worker: number }> {
    const worker = this.#worker();
    const at = performance.now();
    let status = 0;
    let json: unknown;
    let error: string | undefined;
    try {
      const res = await fetch(`${this.#options.urls[worker]}${path}`, {
        method,
        headers: body === undefined ? {} : JSON_HEADERS,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.#options.requestTimeout ?? 20_000),
      });
      status = res.status;
      json = await res.json();
    } catch (e) {
      error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    }
    const end = performance.now();
    const ok = status >= 200 && status < 300;
    if (kind === 'read') {
      this.counts.reads++;
      if (!ok) this.counts.readFailures++;
    } else {
      this.counts.writes++;
      if (!ok) this.counts.writeFailures++;
    }
    if (this.#options.keepSamples ?? true) {
      const sample: Sample = { at, ms: end - at, kind, op, status, ok, worker };
      const detail =
        error ?? (ok ? undefined : (json as { message?: string } | undefined)?.message);
      this.samples.push(detail === undefined ? sample : { ...sample, error: detail });
    }
    return { status: ok ? status : 0, json, at, end, worker };
  }

  async #read(): Promise<void> {
    const r = this.#random() * 100;
    const { ledger } = this.#options;
    if (r < 30) {
      const t = ledger.tracked[Math.floor(this.#random() * ledger.tracked.length)]!;
      const res = await this.#send('read', 'GET agent (tracked)', 'GET', `/api/agents/${t.id}`);
      if (res.status === 200) this.#checkFresh(t, res);
    } else if (r < 55) {
      await this.#send('read', 'GET agent', 'GET', `/api/agents/${this.#agent()}`);
    } else if (r < 70) {
      await this.#send('read', 'GET stats', 'GET', `/api/agents/${this.#agent()}/stats`);
    } else if (r < 80) {
      const status = STATUSES[Math.floor(this.#random() * STATUSES.length)]!;
      await this.#send(
        'read',
        'GET tasks',
        'GET',
        `/api/tasks?agent_id=${this.#agent()}&status=${status}`,
      );
    } else if (r < 92) {
      const period = this.#random() < 0.7 ? 'daily' : 'weekly';
      await this.#send('read', 'GET leaderboard', 'GET', `/api/leaderboard?period=${period}`);
    } else {
      await this.#send('read', 'GET popular', 'GET', '/api/agents/popular');
    }
  }

  #checkFresh(t: Tracked, res: { json: unknown; at: number; worker: number }): void {
    const name = (res.json as { name?: string }).name ?? '';
    const returned = Number(NAME.exec(name)?.[1] ?? 0);
    const bound = this.#options.staleBoundMs ?? 1000;
    let expected = 0;
    let firstNewer: Ack | undefined;
    for (const ack of t.acks) {
      if (ack.seq > returned && firstNewer === undefined) firstNewer = ack;
      if (ack.at <= res.at - bound) expected = Math.max(expected, ack.seq);
    }
    if (returned < expected && firstNewer !== undefined) {
      this.stale.push({
        at: res.at,
        worker: res.worker,
        agent: t.id,
        returned,
        expected,
        ageMs: res.at - firstNewer.at,
      });
    } else if (firstNewer !== undefined && firstNewer.at <= res.at) {
      this.staleWithinBound++;
    }
  }

  async #write(): Promise<void> {
    const r = this.#random() * 100;
    const { ledger, scenario } = this.#options;
    if (r < 50) {
      const free = ledger.tracked.filter((t) => !t.busy && !t.retired);
      const t = free[Math.floor(this.#random() * free.length)];
      if (t === undefined) return;
      t.busy = true;
      const seq = ++ledger.seq;
      const res = await this.#send('write', 'PATCH agent name', 'PATCH', `/api/agents/${t.id}`, {
        name: `chaos-${seq}`,
      });
      if (res.status === 200) t.acks.push({ seq, at: res.end, scenario });
      else t.retired = true;
      t.busy = false;
    } else if (r < 70) {
      const res = await this.#send(
        'write',
        'POST vote',
        'POST',
        `/api/agents/${this.#agent()}/votes`,
        {
          voter: `chaos-${Math.floor(this.#random() * 1e9)}`,
          value: this.#random() < 0.7 ? 1 : -1,
        },
      );
      const id = (res.json as { id?: string | number } | undefined)?.id;
      if (res.status === 201 && id !== undefined) ledger.votes.push({ id: String(id), scenario });
    } else if (r < 85) {
      const res = await this.#send('write', 'POST task', 'POST', '/api/tasks', {
        agent_id: this.#agent(),
        title: 'chaos task',
      });
      const id = (res.json as { id?: string } | undefined)?.id;
      if (res.status === 201 && id !== undefined) ledger.tasks.push({ id, scenario });
    } else {
      const agent = this.#agent();
      const res = await this.#send(
        'write',
        'POST reputation',
        'POST',
        `/api/agents/${agent}/reputation`,
        {
          delta: 1,
        },
      );
      if (res.status === 200) ledger.reputation.get(agent)?.acked.push({ scenario });
    }
  }
}

/** Polls a condition until it holds or `ms` pass; resolves whether it held. */
export async function pollUntil(
  condition: () => Promise<boolean> | boolean,
  ms: number,
  everyMs = 100,
): Promise<boolean> {
  const deadline = performance.now() + ms;
  for (;;) {
    if (await condition()) return true;
    if (performance.now() >= deadline) return false;
    await sleep(everyMs);
  }
}
