import { z } from 'zod';
import { InvalidOptionsError } from './errors.js';
import { type BloomSize, bloomSize, MAX_BITS } from './sizing.js';

const isFunction = (value: unknown): boolean => typeof value === 'function';

/** A zod schema for an optional function option. */
export const fn = <T>() => z.custom<T>(isFunction, 'expected a function').optional();

/** `expectedItems` and `falsePositiveRate`, shared by every filter factory. */
export const sizingShape = {
  expectedItems: z.int().positive(),
  falsePositiveRate: z.number().gt(0).lt(1).optional(),
};

function describeIssue(issue: z.core.$ZodIssue): string {
  const where =
    issue.path.length > 0
      ? issue.path.map(String).join('.')
      : issue.code === 'unrecognized_keys'
        ? issue.keys.join(', ')
        : 'options';
  return `${where}: ${issue.message}`;
}

/** Validates `options` against `schema`; throws {@link InvalidOptionsError} naming the field. */
export function parseOptions<S extends z.ZodType>(
  factory: string,
  schema: S,
  options: unknown,
): z.output<S> {
  const parsed = schema.safeParse(options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const detail = issue === undefined ? parsed.error.message : describeIssue(issue);
    throw new InvalidOptionsError(`Invalid ${factory} options: ${detail}`, { cause: parsed.error });
  }
  return parsed.data;
}

/** Sizes a validated filter, rejecting one larger than a Redis string can hold. */
export function sizeFor(
  factory: string,
  expectedItems: number,
  falsePositiveRate: number,
): BloomSize {
  const size = bloomSize(expectedItems, falsePositiveRate);
  if (size.bits > MAX_BITS) {
    throw new InvalidOptionsError(
      `Invalid ${factory} options: expectedItems: ${expectedItems} items at falsePositiveRate ` +
        `${falsePositiveRate} need ${size.bits} bits, more than the 2^32-bit (512 MiB) maximum`,
    );
  }
  return size;
}

/** Validates a batch size given to a method (not a constructor). */
export function positiveInt(factory: string, field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new InvalidOptionsError(
      `Invalid ${factory} options: ${field}: expected a positive integer, got ${String(value)}`,
    );
  }
  return value;
}
