import { z } from 'zod';
import { InvalidOptionsError } from './errors.js';
import type { Compression } from './header.js';
import type { Serializer } from './serializer.js';
import { jsonSerializer } from './serializer.js';

/** Options for {@link createCodec}. Every field is optional. */
export interface CodecOptions {
  /**
   * Turns values into bytes and back; its `id` is written into every payload.
   * @default jsonSerializer
   */
  serializer?: Serializer;
  /**
   * How to compress bodies of at least `threshold` bytes. Decoding does not depend on it: a
   * codec reads every compression the header names, so this can change during a rollout.
   * @default 'gzip'
   */
  compression?: Compression;
  /**
   * Smallest serialized body (bytes) worth trying to compress; smaller ones are stored as
   * they are. Must be a non-negative integer.
   * @default 1024
   */
  threshold?: number;
  /**
   * Keep a compressed payload only if it is at least this fraction smaller than the
   * uncompressed one (headers included); otherwise store it uncompressed. In [0, 1).
   * @default 0.2
   */
  minSavings?: number;
  /**
   * gzip level from 1 (fastest) to 9 (smallest). 6 is zlib's own default and compresses
   * typical JSON to 12–25 % in tens of microseconds per few KiB.
   * @default 6
   */
  gzipLevel?: number;
  /**
   * brotli quality from 0 to 11. Node's default is 11, which takes milliseconds on a few KiB;
   * 4 compresses JSON slightly better than gzip 6 at about the same speed.
   * @default 4
   */
  brotliQuality?: number;
  /**
   * `encodeAsync`/`decodeAsync` run zlib on the libuv threadpool only for bodies of at least
   * this many uncompressed bytes. Below it they compress synchronously: the threadpool round
   * trip (≈0.1–0.3 ms) costs more than compressing a small body, which blocks the event loop
   * for well under that. `0` always uses the threadpool.
   * @default 65536
   */
  asyncThreshold?: number;
  /**
   * Reject values that JSON would silently change (NaN/Infinity, Date, Map/Set and other
   * class instances, `undefined`/functions/symbols inside objects or arrays, array holes,
   * objects with `toJSON`) with a `SerializationError` instead of storing the changed value.
   * Costs a replacer call per property on every encode. Only valid with the JSON serializer.
   * @default false
   */
  strict?: boolean;
}

/** Options after defaults are applied. */
export interface ResolvedCodecOptions {
  readonly serializer: Serializer;
  readonly compression: Compression;
  readonly threshold: number;
  readonly minSavings: number;
  readonly gzipLevel: number;
  readonly brotliQuality: number;
  readonly asyncThreshold: number;
  readonly strict: boolean;
}

const isFunction = (value: unknown): boolean => typeof value === 'function';

const serializerSchema = z.object({
  id: z.number().int().min(1).max(15),
  name: z.string().min(1),
  serialize: z.custom<Serializer['serialize']>(isFunction, 'expected a function'),
  deserialize: z.custom<Serializer['deserialize']>(isFunction, 'expected a function'),
});

const optionsSchema = z.strictObject({
  serializer: serializerSchema.optional(),
  compression: z.enum(['none', 'gzip', 'brotli']).optional(),
  threshold: z.number().int().min(0).optional(),
  minSavings: z.number().min(0).lt(1).optional(),
  gzipLevel: z.number().int().min(1).max(9).optional(),
  brotliQuality: z.number().int().min(0).max(11).optional(),
  asyncThreshold: z.number().int().min(0).optional(),
  strict: z.boolean().optional(),
});

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') {
    return `Invalid codec option "${issue.keys.join('", "')}": unknown option`;
  }
  const field = issue.path.map(String).join('.');
  return field === ''
    ? `Invalid codec options: ${issue.message}`
    : `Invalid codec option "${field}": ${issue.message}`;
}

/**
 * Validates options with zod (once, at construction) and applies defaults. Values are taken
 * from the caller's object, not zod's output, so a serializer keeps its prototype and `this`.
 */
export function resolveOptions(options: CodecOptions | undefined): ResolvedCodecOptions {
  const result = optionsSchema.safeParse(options ?? {});
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new InvalidOptionsError(describeIssue(issue), { cause: result.error });
  }
  const input = options ?? {};
  const serializer = input.serializer ?? jsonSerializer;
  const strict = input.strict ?? false;
  if (strict && serializer !== jsonSerializer) {
    throw new InvalidOptionsError(
      `Invalid codec option "strict": only applies to the JSON serializer, not "${serializer.name}"`,
    );
  }
  return {
    serializer,
    compression: input.compression ?? 'gzip',
    threshold: input.threshold ?? 1024,
    minSavings: input.minSavings ?? 0.2,
    gzipLevel: input.gzipLevel ?? 6,
    brotliQuality: input.brotliQuality ?? 4,
    asyncThreshold: input.asyncThreshold ?? 65_536,
    strict,
  };
}
