// HTTP fuzzing of every route of the demo (app.ts) with fast-check, through `app.inject` on a
// real instance (PostgreSQL + Redis): malformed ids, query parameters, bodies, content types
// and oversized payloads. Property: never a 5xx; every 4xx is JSON with statusCode, error and
// message; the instance keeps serving and Object.prototype stays clean.
import fc from 'fast-check';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Instance } from '../instance.js';
import { type DemoFixture, startDemoFixture } from '../test-support/fixture.js';

type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

/** Every route of app.ts, `:id` where an id goes. */
const ROUTES: ReadonlyArray<readonly [Method, string]> = [
  ['GET', '/'],
  ['GET', '/metrics/cache'],
  ['GET', '/metrics/analysis'],
  ['GET', '/metrics'],
  ['GET', '/health'],
  ['GET', '/api/agents'],
  ['GET', '/api/agents/popular'],
  ['POST', '/api/agents'],
  ['GET', '/api/agents/:id'],
  ['PATCH', '/api/agents/:id'],
  ['POST', '/api/agents/:id/reputation'],
  ['GET', '/api/agents/:id/stats'],
  ['POST', '/api/agents/:id/votes'],
  ['GET', '/api/leaderboard'],
  ['POST', '/api/leaderboard/recompute'],
  ['GET', '/api/tasks'],
  ['GET', '/api/tasks/recent'],
  ['GET', '/api/tasks/:id'],
  ['POST', '/api/tasks'],
  ['POST', '/api/tasks/:id/complete'],
  ['POST', '/api/tasks/:id/fail'],
  ['GET', '/api/sessions/:id'],
];
const BODY_LIMIT = 1024 * 1024; // Fastify's default bodyLimit
const FIELDS = ['name', 'status', 'is_active', 'delta', 'voter', 'value', 'agent_id', 'title'];
const PARAMS = ['limit', 'after', 'period', 'agent_id', 'status'];

let fx: DemoFixture;
let instance: Instance;
let agentId: string;
let taskId: string;
const statuses = new Map<number, number>();
let sent = 0;

beforeAll(async () => {
  fx = await startDemoFixture(['a']);
  instance = fx.instances[0]!;
  agentId = (await instance.pool.query<{ id: string }>('SELECT id FROM agents LIMIT 1')).rows[0]!
    .id;
  taskId = (await instance.pool.query<{ id: string }>('SELECT id FROM tasks LIMIT 1')).rows[0]!.id;
});

afterAll(async () => {
  const summary = [...statuses].sort(([a], [b]) => a - b).map(([s, n]) => `${s}×${n}`);
  console.log(`HTTP fuzz: ${sent} requests; statuses ${summary.join(' ')}`);
  await fx?.stop();
});

// ---- arbitraries ------------------------------------------------------------------------

const nasty = fc.constantFrom(
  '../',
  '..%2F..%2Fetc%2Fpasswd',
  '%00',
  'a%00b',
  '%',
  '%zz',
  '%ED%A0%80',
  '%F0%9F%92%A9',
  '1 OR 1=1',
  "'; DROP TABLE agents; --",
  '00000000-0000-0000-0000-00000000000g',
  '{00000000-0000-0000-0000-000000000000}',
  ' 00000000-0000-4000-8000-000000000000',
  'null',
  'undefined',
  '__proto__',
  'constructor',
  '-1',
  '1e309',
  '99999999999999999999999',
  'NaN',
  'Infinity',
  '0x10',
  '',
);

/** A path segment: valid ids (real and unknown), junk, huge, unicode, traversal. */
const segment = fc.oneof(
  fc.constantFrom(agentId_(), taskId_(), '00000000-0000-4000-8000-000000000000'),
  fc.uuid().map((u) => u),
  nasty,
  fc.string({ maxLength: 40 }).map(encodeURIComponent),
  fc.string({ unit: 'grapheme', maxLength: 20 }).map(encodeURIComponent),
  fc.integer({ min: 1, max: 20_000 }).map((n) => 'x'.repeat(n)),
);
// Resolved lazily: the fixture starts in beforeAll.
function agentId_(): string {
  return '__AGENT__';
}
function taskId_(): string {
  return '__TASK__';
}

const paramValue = fc.oneof(
  nasty,
  fc.constantFrom('daily', 'weekly', 'all', 'pending', 'completed', '1', '100', '1000', '1001'),
  fc.constant('__AGENT__'),
  fc.integer().map(String),
  fc.double().map(String),
  fc.string({ maxLength: 30 }).map(encodeURIComponent),
);
/** A query string: known and unknown names, duplicates, `a[]=`, `a[b]=`, no value. */
const query = fc
  .array(
    fc.tuple(
      fc.oneof(
        fc.constantFrom(...PARAMS),
        fc.constantFrom(...PARAMS).map((p) => `${p}[]`),
        fc.constantFrom(...PARAMS).map((p) => `${p}[x]`),
        fc.constantFrom('__proto__', 'constructor', '__proto__[x]', 'toString'),
        fc.string({ maxLength: 10 }).map(encodeURIComponent),
      ),
      fc.option(paramValue, { nil: undefined }),
    ),
    { maxLength: 5 },
  )
  .map((pairs) =>
    pairs.length === 0
      ? ''
      : `?${pairs.map(([k, v]) => (v === undefined ? k : `${k}=${v}`)).join('&')}`,
  );

function nested(depth: number, open: string, close: string): string {
  return `${open.repeat(depth)}1${close.repeat(depth)}`;
}

/** A JSON value shaped like the routes' bodies, with wrong types mixed in. */
const fieldValue = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom('__AGENT__', 'idle', 'busy', 1, -1, 0, 1000, 1001, true, null),
  fc.string({ maxLength: 300 }),
  fc.integer({ min: 64, max: 300 }).map((n) => 'v'.repeat(n)),
);
const objectBody = fc
  .dictionary(fc.oneof(fc.constantFrom(...FIELDS), fc.string({ maxLength: 8 })), fieldValue, {
    maxKeys: 4,
  })
  .map((o) => JSON.stringify(o));

/** Raw payloads: good-looking, wrong JSON types, invalid JSON, deep, polluting, oversized. */
const payload = fc.oneof(
  { weight: 4, arbitrary: objectBody },
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  fc.constantFrom(
    '',
    '{',
    '{"name":',
    'null',
    '[]',
    '"text"',
    '1e309',
    '{"name":"a","name":"b"}',
    '{"__proto__":{"polluted":true},"name":"x"}',
    '{"constructor":{"prototype":{"polluted":true}},"name":"x"}',
    '{"name":"x","__proto__":null}',
    '\u0000',
    '\ufeff{"name":"bom"}',
  ),
  fc.integer({ min: 1, max: 100_000 }).map((d) => nested(d, '[', ']')),
  fc.integer({ min: 1, max: 100_000 }).map((d) => nested(d, '{"a":', '}')),
  fc.constant('oversized').map(() => `{"name":"${'x'.repeat(BODY_LIMIT + 10)}"}`),
);
const contentType = fc.oneof(
  { weight: 6, arbitrary: fc.constant('application/json') },
  fc.constantFrom(
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/json; charset=latin1',
    'application/json; charset=utf-8',
    'application/jsonx',
    '',
    'application/octet-stream',
  ),
);

const request = fc.record({
  route: fc.constantFrom(...ROUTES),
  method: fc.option(fc.constantFrom<Method>('GET', 'POST', 'PATCH', 'PUT', 'DELETE'), {
    freq: 4,
    nil: undefined,
  }),
  id: segment,
  query,
  body: fc.option(payload, { freq: 3, nil: undefined }),
  contentType,
});

// ---- the property -----------------------------------------------------------------------

function resolve(text: string): string {
  return text.replaceAll('__AGENT__', agentId).replaceAll('__TASK__', taskId);
}

async function send(options: InjectOptions): Promise<void> {
  const res = await instance.app.inject(options);
  sent++;
  statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
  const where = `${options.method} ${String(options.url).slice(0, 200)} → ${res.statusCode} ${res.body.slice(0, 200)}`;
  expect(res.statusCode, where).toBeLessThan(500);
  if (res.statusCode >= 400) {
    const body = res.json<{ statusCode: number; error: string; message: string }>();
    expect(body.statusCode, where).toBe(res.statusCode);
    expect(typeof body.error, where).toBe('string');
    expect(typeof body.message, where).toBe('string');
  }
}

describe('HTTP fuzzing of the demo', () => {
  it('answers every malformed request with a 2xx/3xx/4xx, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const [routeMethod, path] = r.route;
        const url = resolve(path.replace(':id', r.id) + r.query);
        const method = r.method ?? routeMethod;
        const options: InjectOptions = { method, url };
        if (r.body !== undefined && method !== 'GET') {
          options.payload = resolve(r.body);
          options.headers = { 'content-type': r.contentType };
        }
        await send(options);
      }),
      {
        numRuns: Number(process.env.FUZZ_RUNS ?? 1_500),
        seed: Number(process.env.FUZZ_SEED ?? 42),
      },
    );
  }, 120_000);

  it('keeps Object.prototype clean and keeps serving afterwards', async () => {
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const health = await instance.app.inject({ method: 'GET', url: '/health' });
    expect(health.statusCode).toBe(200);
    const agent = await instance.app.inject({ method: 'GET', url: `/api/agents/${agentId}` });
    expect(agent.statusCode).toBe(200);
  });
});
