import { z } from 'zod';
import { formatZodError } from '../config.js';
import { AGENT_STATUSES, PERIODS, TASK_STATUSES } from '../db/repository.js';

/** An error with an HTTP status, answered as `{ statusCode, error, message }`. */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * `value` checked against `schema`, or a 400 naming the part of the request and the field:
 * `query.agent_id: must be a UUID`.
 */
export function parse<S extends z.ZodType>(
  schema: S,
  value: unknown,
  where: 'params' | 'query' | 'body',
): z.output<S> {
  const result = schema.safeParse(value ?? (where === 'body' ? undefined : {}));
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const message = formatZodError(result.error);
  // A missing body has no field to name.
  if (issue !== undefined && issue.path.length === 0)
    throw new HttpError(400, `${where}: ${message}`);
  throw new HttpError(400, `${where}.${message}`);
}

// z.guid(): any 8-4-4-4-12 hex id, as PostgreSQL's uuid type takes it (z.uuid() would also
// demand RFC 9562 version and variant bits).
const uuid = z.guid({ error: 'must be a UUID' });

/**
 * A trimmed, non-empty string of at most `max` characters, without NUL: PostgreSQL `text`
 * cannot hold U+0000 and would fail the query (a 500) instead of refusing the input.
 */
const text = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .refine((s) => !s.includes('\u0000'), { error: 'must not contain NUL characters' });

export const idParams = z.strictObject({ id: uuid });

export const listAgentsQuery = z.strictObject({
  after: uuid.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

export const createAgentBody = z.strictObject({
  name: text(100),
  status: z.enum(AGENT_STATUSES).optional(),
});

export const updateAgentBody = z
  .strictObject({
    name: text(100).optional(),
    status: z.enum(AGENT_STATUSES).optional(),
    is_active: z.boolean().optional(),
  })
  .refine((b) => b.name !== undefined || b.status !== undefined || b.is_active !== undefined, {
    error: 'expected at least one of name, status, is_active',
  });

export const reputationBody = z.strictObject({
  delta: z
    .number()
    .int()
    .min(-1000)
    .max(1000)
    .refine((d) => d !== 0, { error: 'must not be 0' }),
});

export const voteBody = z.strictObject({
  voter: text(64),
  value: z.union([z.literal(1), z.literal(-1)], { error: 'must be 1 or -1' }),
});

export const leaderboardQuery = z.strictObject({
  period: z.enum(PERIODS).default('daily'),
});

export const tasksQuery = z.strictObject({
  agent_id: uuid,
  status: z.enum([...TASK_STATUSES, 'all']).default('all'),
});

export const createTaskBody = z.strictObject({
  agent_id: uuid,
  title: text(200),
});
