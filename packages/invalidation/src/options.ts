import { z } from 'zod';
import { InvalidOptionsError } from './errors.js';

export const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null;

export const hasFunctions = (value: unknown, names: readonly string[]): boolean =>
  isObject(value) && names.every((name) => typeof value[name] === 'function');

export const positiveMs = z.int().positive().max(2_147_483_647);

export const loggerSchema = z.custom<{ warn: unknown; error: unknown }>(
  (value) => hasFunctions(value, ['warn', 'error']),
  'expected a logger with warn and error methods',
);

/** Validates `options` with `schema`; throws {@link InvalidOptionsError} naming the field. */
export function parseOptions<T>(what: string, schema: z.ZodType<T>, options: unknown): T {
  const parsed = schema.safeParse(options);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  let where = issue?.path.map(String).join('.') ?? '';
  if (issue?.code === 'unrecognized_keys') where = issue.keys.join(', ');
  throw new InvalidOptionsError(
    `Invalid ${what} options: ${where === '' ? '' : `${where}: `}${issue?.message ?? 'invalid'}`,
    { cause: parsed.error },
  );
}

/** Rejects after `ms` with `onTimeout()`; clears its timer when `promise` settles first. */
export function withTimeout<T>(
  promise: Promise<T>,
  ms: number,
  onTimeout: () => Error,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(onTimeout()), ms);
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

export const consoleLogger = {
  warn: (message: string, meta?: Record<string, unknown>) => console.warn(message, meta ?? ''),
  error: (message: string, meta?: Record<string, unknown>) => console.error(message, meta ?? ''),
};
