import { LockNotAcquiredError } from '@tiercache/lock';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import type { Registry } from 'prom-client';
import type { CacheStack } from '../cache/stack.js';
import { StaleFencingTokenError } from '../db/repository.js';
import type { Logger } from '../log.js';
import type { DemoService } from '../service.js';
import { DASHBOARD_HTML } from './dashboard.js';
import { cacheReport, healthReport } from './observability.js';
import {
  createAgentBody,
  createTaskBody,
  HttpError,
  idParams,
  leaderboardQuery,
  listAgentsQuery,
  parse,
  reputationBody,
  tasksQuery,
  updateAgentBody,
  voteBody,
} from './validation.js';

/** What {@link buildApp} wires together; built by `createInstance`, or by hand in tests. */
export interface AppDeps {
  readonly service: DemoService;
  readonly stack: CacheStack;
  readonly pool: pg.Pool;
  readonly redis: Redis;
  /** The Prometheus registry served at `/metrics`. */
  readonly registry: Registry;
  /** This instance's name, sent as `x-instance` on every response. */
  readonly instance: string;
  /** Serve every read from PostgreSQL (`CACHE_DISABLED=1`). */
  readonly cacheDisabled: boolean;
  /**
   * Honour `x-cache-bypass: 1` on a request (the load test's uncached run against a running
   * demo).
   * @default true
   */
  readonly allowBypassHeader?: boolean;
  /**
   * True once the instance is shutting down: requests a client abandoned may still be running
   * when the pool closes; their failures are expected then, and logged at debug.
   * @default () => false
   */
  readonly isClosing?: () => boolean;
  readonly log: Logger;
}

const notFound = (what: string) => new HttpError(404, `${what} not found`);

function found<T>(value: T | null, what: string): T {
  if (value === null) throw notFound(what);
  return value;
}

/**
 * The demo's HTTP API on Fastify: the guide's endpoints, the writes that invalidate them,
 * observability, and the dashboard. Every input is checked with zod (400 naming the field);
 * unknown ids are 404.
 */
export function buildApp(deps: AppDeps): FastifyInstance {
  const { service, stack, log } = deps;
  const app = Fastify({ logger: false });
  const allowBypass = deps.allowBypassHeader ?? true;
  const bypass = (req: FastifyRequest): boolean =>
    deps.cacheDisabled || (allowBypass && req.headers['x-cache-bypass'] === '1');

  app.addHook('onRequest', async (_req, reply) => {
    reply.header('x-instance', deps.instance);
  });
  app.addHook('onResponse', async (req, reply) => {
    if (req.url.startsWith('/api/')) stack.httpLatency.observe(reply.elapsedTime);
  });

  app.setErrorHandler((error, req, reply) => {
    if (error instanceof HttpError) {
      return reply.code(error.statusCode).send(body(error.statusCode, error.message));
    }
    if (error instanceof LockNotAcquiredError) {
      return reply.code(409).send(body(409, 'another recompute holds the lock; try again'));
    }
    if (error instanceof StaleFencingTokenError)
      return reply.code(409).send(body(409, error.message));
    const status = (error as { statusCode?: number }).statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      // Fastify's own: malformed JSON, wrong content type, body too large.
      return reply.code(status).send(body(status, (error as Error).message));
    }
    if (deps.isClosing?.() === true) log.debug('request failed during shutdown', { error });
    else log.error('request failed', { method: req.method, url: req.url, error });
    return reply.code(500).send(body(500, 'internal error'));
  });
  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send(body(404, `no route for ${req.method} ${req.url.split('?')[0]}`));
  });

  // ---- observability --------------------------------------------------------------------

  app.get('/', async (_req, reply) => reply.type('text/html; charset=utf-8').send(DASHBOARD_HTML));
  app.get('/metrics/cache', async () => cacheReport(deps));
  app.get('/metrics/analysis', async () => stack.analyzer.getAnalysis());
  app.get('/metrics', async (_req, reply) =>
    reply.type(deps.registry.contentType).send(await deps.registry.metrics()),
  );
  app.get('/health', async (_req, reply) => {
    const report = await healthReport(deps);
    return reply.code(report.status === 'down' ? 503 : 200).send(report);
  });

  // ---- agents ---------------------------------------------------------------------------

  app.get('/api/agents', async (req) => {
    const q = parse(listAgentsQuery, req.query, 'query');
    const agents = await service.listAgents(q.after ?? null, q.limit);
    return { agents, next: agents.length === q.limit ? (agents.at(-1)?.id ?? null) : null };
  });
  app.get('/api/agents/popular', async (req) => ({
    agents: await service.popularAgents(bypass(req)),
  }));
  app.post('/api/agents', async (req, reply) => {
    const b = parse(createAgentBody, req.body, 'body');
    return reply.code(201).send(await service.createAgent(b));
  });
  app.get('/api/agents/:id', async (req) => {
    const { id } = parse(idParams, req.params, 'params');
    return found(await service.getAgent(id, bypass(req)), 'agent');
  });
  app.patch('/api/agents/:id', async (req) => {
    const { id } = parse(idParams, req.params, 'params');
    const b = parse(updateAgentBody, req.body, 'body');
    return found(await service.updateAgent(id, b), 'agent');
  });
  app.post('/api/agents/:id/reputation', async (req) => {
    const { id } = parse(idParams, req.params, 'params');
    const { delta } = parse(reputationBody, req.body, 'body');
    return found(await service.changeReputation(id, delta), 'agent');
  });
  app.get('/api/agents/:id/stats', async (req) => {
    const { id } = parse(idParams, req.params, 'params');
    return found(await service.getAgentStats(id, bypass(req)), 'agent');
  });
  app.post('/api/agents/:id/votes', async (req, reply) => {
    const { id } = parse(idParams, req.params, 'params');
    const { voter, value } = parse(voteBody, req.body, 'body');
    const vote = await service.submitVote(id, voter, value);
    if (vote === null) throw notFound('agent');
    return reply.code(201).send(vote);
  });

  // ---- leaderboard ----------------------------------------------------------------------

  app.get('/api/leaderboard', async (req) => {
    const { period } = parse(leaderboardQuery, req.query, 'query');
    return service.getLeaderboard(period, bypass(req));
  });
  app.post('/api/leaderboard/recompute', async (req) => {
    const { period } = parse(leaderboardQuery, req.query, 'query');
    return service.recomputeLeaderboard(period);
  });

  // ---- tasks ----------------------------------------------------------------------------

  app.get('/api/tasks', async (req) => {
    const q = parse(tasksQuery, req.query, 'query');
    return found(await service.getTasks(q.agent_id, q.status, bypass(req)), 'agent');
  });
  app.get('/api/tasks/recent', async (req) => ({ tasks: await service.recentTasks(bypass(req)) }));
  app.get('/api/tasks/:id', async (req) => {
    const { id } = parse(idParams, req.params, 'params');
    return found(await service.getTask(id, bypass(req)), 'task');
  });
  app.post('/api/tasks', async (req, reply) => {
    const b = parse(createTaskBody, req.body, 'body');
    const task = await service.createTask(b.agent_id, b.title);
    if (task === null) throw notFound('agent');
    return reply.code(201).send(task);
  });
  for (const status of ['completed', 'failed'] as const) {
    app.post(`/api/tasks/:id/${status === 'completed' ? 'complete' : 'fail'}`, async (req) => {
      const { id } = parse(idParams, req.params, 'params');
      const outcome = await service.finishTask(id, status);
      if (outcome.result === 'not-found') throw notFound('task');
      if (outcome.result === 'not-pending') {
        throw new HttpError(409, `task is already ${outcome.task.status}`);
      }
      return outcome.task;
    });
  }

  // ---- sessions -------------------------------------------------------------------------

  app.get('/api/sessions/:id', async (req) => {
    const { id } = parse(idParams, req.params, 'params');
    return found(await service.getSession(id, bypass(req)), 'session');
  });

  return app;
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  500: 'Internal Server Error',
};

function body(statusCode: number, message: string) {
  return { statusCode, error: REASONS[statusCode] ?? 'Error', message };
}
