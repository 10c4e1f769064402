import http from 'node:http';
import type { Request } from 'autocannon';

/** What {@link openLoop} measured. */
export interface OpenLoopResult {
  /** Requests sent (on schedule). */
  readonly sent: number;
  /** Responses received, any status. */
  readonly answered: number;
  /** Responses with a status of 400 or more. */
  readonly non2xx: number;
  /** Requests that failed without a response (socket errors), or were still open at the end. */
  readonly errors: number;
  /** Answered requests per second over the run. */
  readonly rate: number;
  /** Latency percentiles in ms, from each request's scheduled start to its last byte. */
  readonly latency: { p50: number; p90: number; p99: number; max: number };
  /** With `classify`: answered requests and their latency per class, most requests first. */
  readonly byClass: ReadonlyArray<{
    readonly name: string;
    readonly answered: number;
    readonly p50: number;
    readonly p99: number;
    /** Requests of this class among the slowest 1 % of all. */
    readonly inSlowest1: number;
  }>;
}

/** The `q` quantile (0–1) of ascending `sorted`, nearest rank; 0 when empty. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] as number;
}

/**
 * Sends requests at a fixed rate, evenly spaced, whether or not earlier ones were answered
 * (an open loop, as users arrive): latency is then what a request meets at that load, not
 * an artefact of the generator waiting for replies (coordinated omission) or of many
 * connections firing in the same instant. Each latency counts from the request's scheduled
 * time, so a late send (a pause of this process) is counted against the result, not hidden.
 */
export async function openLoop(options: {
  url: string;
  rate: number;
  seconds: number;
  next: () => Request;
  /** Upper bound on sockets to the server (requests beyond it queue in the agent). */
  maxSockets?: number;
  /** Names a request's class (endpoint) from the request and its response status. */
  classify?: (request: Request, status: number) => string;
}): Promise<OpenLoopResult> {
  const { rate, seconds } = options;
  const base = new URL(options.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 256 });
  const total = Math.max(1, Math.round(rate * seconds));
  const interval = 1000 / rate;
  const latencies = new Float64Array(total);
  const classes: string[] = [];
  let sent = 0;
  let answered = 0;
  let non2xx = 0;
  let failed = 0;
  let settled = 0;
  const start = performance.now();
  let done!: () => void;
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  const settle = () => {
    settled += 1;
    if (settled === total) done();
  };
  const send = (scheduled: number) => {
    const request = options.next();
    const req = http.request(
      {
        host: base.hostname,
        port: base.port,
        method: request.method ?? 'GET',
        path: request.path ?? '/',
        headers: request.headers,
        agent,
      },
      (res) => {
        res.on('data', () => {});
        res.on('end', () => {
          latencies[answered] = performance.now() - scheduled;
          if (options.classify !== undefined) {
            classes[answered] = options.classify(request, res.statusCode ?? 0);
          }
          answered += 1;
          if ((res.statusCode ?? 0) >= 400) non2xx += 1;
          settle();
        });
      },
    );
    req.on('error', () => {
      failed += 1;
      settle();
    });
    req.end(request.body);
  };
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      // Every request whose time has come (a late wake-up sends the backlog at once, each
      // still timed from its own schedule).
      while (sent < total && start + sent * interval <= now) {
        send(start + sent * interval);
        sent += 1;
      }
      if (sent < total) setTimeout(tick, Math.max(0, start + sent * interval - now));
      else resolve();
    };
    tick();
  });
  // Whatever is still open 10 s after the last send counts as an error.
  const timer = setTimeout(done, 10_000);
  await finished;
  clearTimeout(timer);
  const elapsed = (performance.now() - start) / 1000;
  agent.destroy();
  const all = latencies.subarray(0, answered);
  const sorted = all.slice().sort();
  const round = (ms: number) => Math.round(ms * 10) / 10;
  const slow = quantile(sorted, 0.99);
  const perClass = new Map<string, number[]>();
  for (let i = 0; i < classes.length; i++) {
    const name = classes[i] as string;
    const list = perClass.get(name);
    if (list === undefined) perClass.set(name, [all[i] as number]);
    else list.push(all[i] as number);
  }
  const byClass = [...perClass]
    .map(([name, list]) => {
      const ordered = Float64Array.from(list).sort();
      return {
        name,
        answered: list.length,
        p50: round(quantile(ordered, 0.5)),
        p99: round(quantile(ordered, 0.99)),
        inSlowest1: list.filter((ms) => ms > slow).length,
      };
    })
    .sort((a, b) => b.answered - a.answered);
  return {
    sent,
    answered,
    non2xx,
    errors: failed + (sent - answered - failed),
    rate: answered / elapsed,
    latency: {
      p50: round(quantile(sorted, 0.5)),
      p90: round(quantile(sorted, 0.9)),
      p99: round(quantile(sorted, 0.99)),
      max: round(quantile(sorted, 1)),
    },
    byClass,
  };
}
