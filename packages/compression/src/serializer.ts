import { Buffer } from 'node:buffer';
import { SerializationError } from './errors.js';

/**
 * Turns values into bytes and back. The `id` is written into every payload's header, so a
 * reader knows which serializer wrote it and refuses bytes written by another one.
 *
 * Ids are part of the wire format: `1` is {@link jsonSerializer}; pick a fixed id from 2 to
 * 15 for your own and never reuse it for a different encoding.
 */
export interface Serializer {
  /** Wire identity, an integer from 1 to 15 (4 bits of the header). */
  readonly id: number;
  /** Human-readable name used in error messages. */
  readonly name: string;
  /**
   * Encodes a value. A string is written as UTF-8. Throw (ideally a
   * {@link SerializationError}) for values the format cannot represent.
   */
  serialize(value: unknown): Uint8Array | string;
  /**
   * Decodes what `serialize` produced. `bytes` may be a view into a larger buffer: copy it
   * if you keep it. Throw on malformed input; the codec reports a `CorruptPayloadError`.
   */
  deserialize(bytes: Uint8Array): unknown;
}

/** Wraps a Uint8Array as a Buffer without copying, so `toString('utf8')` is available. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}

function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  return typeof value;
}

/**
 * `JSON.stringify` that never returns `undefined` and reports failures as
 * {@link SerializationError} with the original error as `cause`.
 */
export function stringifyJson(
  value: unknown,
  replacer?: (this: unknown, key: string, value: unknown) => unknown,
): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value, replacer);
  } catch (error) {
    if (error instanceof SerializationError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new SerializationError(`Value cannot be serialized as JSON: ${reason}`, {
      cause: error,
    });
  }
  // JSON.stringify returns undefined for undefined, functions and symbols (or a toJSON that
  // yields one): storing that would make the entry read back as something else.
  if (text === undefined) {
    throw new SerializationError(`JSON cannot represent a top-level ${describe(value)}`);
  }
  return text;
}

/**
 * The default serializer (id 1): `JSON.stringify` / `JSON.parse` over UTF-8. See the
 * package README for what JSON does to `Date`, `Map`, `NaN`, `undefined` and friends.
 */
export const jsonSerializer: Serializer = {
  id: 1,
  name: 'json',
  serialize(value: unknown): string {
    return stringifyJson(value);
  },
  deserialize(bytes: Uint8Array): unknown {
    return JSON.parse(asBuffer(bytes).toString('utf8'));
  },
};
