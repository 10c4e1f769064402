import { z } from 'zod';
import { InvalidOptionsError } from './errors.js';

/** Parses `options` with `schema` once, at construction; the first issue names the field. */
export function parseOptions<S extends z.ZodType>(schema: S, options: unknown): z.output<S> {
  const parsed = schema.safeParse(options ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  let field = issue?.path.length ? `options.${issue.path.join('.')}` : 'options';
  let message = issue?.message ?? 'invalid options';
  if (issue?.code === 'unrecognized_keys') {
    // A nested unknown key (`health: { minHitrate }`) keeps its parent in the name.
    field = ['options', ...issue.path, issue.keys[0]].join('.');
    message = 'unknown option';
  }
  throw new InvalidOptionsError(`${field}: ${message}`, { cause: parsed.error });
}

/** A function-valued option (zod does not check signatures; the type comes from `T`). */
export const fn = <T>() =>
  z.custom<T>((value) => typeof value === 'function', { message: 'expected a function' });

/** An object option that must have the methods named in `methods`. */
export const withMethods = <T>(...methods: string[]) =>
  z.custom<T>(
    (value) =>
      typeof value === 'object' &&
      value !== null &&
      methods.every((m) => typeof (value as Record<string, unknown>)[m] === 'function'),
    { message: `expected an object with ${methods.map((m) => `${m}()`).join(' and ')}` },
  );
