import { gzipSync } from 'node:zlib';
import { fuzzRuns, fuzzTimeout, oddValue, optionRejection } from '@tiercache/test-utils';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { createCodec } from './codec.js';
import { CorruptPayloadError, InvalidOptionsError, SerializationError } from './errors.js';
import { jsonSerializer } from './serializer.js';

vi.setConfig({ testTimeout: fuzzTimeout(15_000) });

const RUNS = fuzzRuns(300);
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
const isNum = (v: unknown): v is number => typeof v === 'number' && !Number.isNaN(v);
const opt =
  (check: (v: unknown) => boolean) =>
  (v: unknown): boolean =>
    v === undefined || check(v);

/** Every option of createCodec and what the README accepts. */
const FIELDS: Record<string, (v: unknown) => boolean> = {
  serializer: opt((v) => v === jsonSerializer),
  compression: opt((v) => v === 'none' || v === 'gzip' || v === 'brotli'),
  threshold: opt((v) => isInt(v) && v >= 0),
  minSavings: opt((v) => isNum(v) && v >= 0 && v < 1),
  gzipLevel: opt((v) => isInt(v) && v >= 1 && v <= 9),
  brotliQuality: opt((v) => isInt(v) && v >= 0 && v <= 11),
  asyncThreshold: opt((v) => isInt(v) && v >= 0),
  strict: opt((v) => typeof v === 'boolean'),
};

describe('createCodec options (fuzz)', () => {
  it.each(Object.keys(FIELDS))(
    '%s: every wrong type or out-of-range value throws InvalidOptionsError naming it',
    (field) => {
      const valid = FIELDS[field]!;
      fc.assert(
        fc.property(
          oddValue.filter((v) => !valid(v)),
          (value) => {
            const result = optionRejection(
              () => createCodec({ [field]: value }),
              InvalidOptionsError,
              'E_INVALID_OPTIONS',
              field,
            );
            expect(result).toEqual({ ok: true });
          },
        ),
        { numRuns: RUNS },
      );
    },
  );
});

function deep(depth: number, leaf: unknown = 1): unknown {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = i % 2 ? { a: v } : [v];
  return v;
}

function cyclic(): unknown {
  const o: Record<string, unknown> = { a: [1] };
  (o.a as unknown[]).push(o);
  return o;
}

/**
 * What the README ("What JSON does to your values") says each value becomes, without `strict`:
 * JSON's own round trip, or SerializationError for BigInt, cycles and top-level
 * undefined/function/symbol. With `strict`: the value itself, or SerializationError.
 */
function expectedLoose(value: unknown): { value: unknown } | 'error' {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    return 'error'; // BigInt, cycle, too deep for the stack
  }
  return text === undefined ? 'error' : { value: JSON.parse(text) };
}

const awkward = fc.oneof(
  fc.anything({
    withBigInt: true,
    withBoxedValues: true,
    withDate: true,
    withMap: true,
    withSet: true,
    withNullPrototype: true,
    withSparseArray: true,
    withTypedArray: true,
  }),
  fc.jsonValue({ stringUnit: 'binary' }),
  fc.constantFrom<unknown>(
    undefined,
    Symbol('s'),
    () => 1,
    10n,
    { big: 10n },
    new Date(0),
    new Date(Number.NaN),
    Buffer.from('bytes'),
    new Uint8Array([1, 2]),
    new Map([[1, 2]]),
    new Set([1]),
    { u: undefined, f: () => 1, s: Symbol('x') },
    [undefined, () => 1],
    Number.NaN,
    -0,
    Number.POSITIVE_INFINITY,
    cyclic(),
    deep(10_000),
    { big: 'x'.repeat(3 << 20) },
  ),
);

describe('codec values (fuzz): documented behaviour', () => {
  for (const compression of ['none', 'gzip', 'brotli'] as const) {
    it(`${compression}: JSON's round trip or SerializationError, never another error`, async () => {
      const codec = createCodec({ compression, threshold: 64 });
      await fc.assert(
        fc.asyncProperty(awkward, async (value) => {
          const expected = expectedLoose(value);
          if (expected === 'error') {
            expect(() => codec.encode(value)).toThrow(SerializationError);
            await expect(codec.encodeAsync(value)).rejects.toBeInstanceOf(SerializationError);
          } else {
            expect(codec.decode(codec.encode(value))).toEqual(expected.value);
            expect(await codec.decodeAsync(await codec.encodeAsync(value))).toEqual(expected.value);
          }
        }),
        { numRuns: fuzzRuns(100) },
      );
    });
  }

  it('strict: the value itself comes back, or SerializationError', () => {
    const codec = createCodec({ strict: true });
    fc.assert(
      fc.property(awkward, (value) => {
        let bytes: Buffer;
        try {
          bytes = codec.encode(value);
        } catch (error) {
          expect(error).toBeInstanceOf(SerializationError);
          return;
        }
        // -0 is the one change strict accepts (README).
        expect(codec.decode(bytes)).toEqual(JSON.parse(JSON.stringify(value)));
        expect(expectedLoose(value)).toEqual({ value: codec.decode(bytes) });
      }),
      { numRuns: RUNS },
    );
  });

  it('100k levels of nesting: SerializationError (stack), not a RangeError', () => {
    const codec = createCodec();
    const tooDeep = deep(200_000);
    let thrown: unknown;
    try {
      codec.decode(codec.encode(tooDeep));
    } catch (error) {
      thrown = error;
    }
    // Either V8 serializes it, or the stack overflow is reported as a SerializationError.
    if (thrown !== undefined) expect(thrown).toBeInstanceOf(SerializationError);
  });
});

/** Payloads a codec could legitimately have written, to damage. */
const validPayload = fc
  .tuple(fc.jsonValue(), fc.constantFrom('none', 'gzip', 'brotli' as const), fc.boolean())
  .map(([value, compression, pad]) => {
    const v = pad ? { value, padding: 'tiercache '.repeat(200) } : value;
    return createCodec({ compression, threshold: 0, minSavings: 0 }).encode(v);
  });

const damaged = fc.oneof(
  // random bytes
  fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
  // truncated valid payloads
  validPayload.chain((p) => fc.nat({ max: p.length - 1 }).map((n) => p.subarray(0, n))),
  // wrong magic, version, serializer or compression byte
  fc
    .tuple(validPayload, fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 255 }))
    .map(([p, at, byte]) => {
      const copy = Buffer.from(p);
      if (copy[at] === byte) return Buffer.from([0x7b]);
      copy[at] = byte;
      return copy;
    }),
  // a valid header, then a corrupt compressed body
  fc
    .tuple(fc.constantFrom(0x11, 0x12), fc.uint8Array({ minLength: 1, maxLength: 64 }))
    .map(([flags, body]) => Buffer.concat([Buffer.from([0xc1, 1, flags, 0, 0, 0, 9]), body])),
  // a declared length far larger than the body inflates to (up to 4 GiB)
  fc
    .tuple(fc.integer({ min: 2, max: 0xffffffff }), fc.constantFrom(0x11, 0x12))
    .map(([n, flags]) => {
      const body =
        flags === 0x11 ? gzipSync('{"a":1}') : Buffer.from([0x0b, 0x03, 0x80, 0x7b, 0x7d, 0x03]);
      const header = Buffer.alloc(flags === 0x11 ? 7 : 11);
      header[0] = 0xc1;
      header[1] = 1;
      header[2] = flags;
      header.writeUInt32BE(n, 3);
      return Buffer.concat([header, body]);
    }),
);

describe('codec decode of bytes found in Redis (fuzz)', () => {
  const codec = createCodec();

  it('damaged bytes decode to CorruptPayloadError or (rarely) a value, never another error', async () => {
    let corrupt = 0;
    await fc.assert(
      fc.asyncProperty(damaged, async (bytes) => {
        for (const decode of [() => codec.decode(bytes), () => codec.decodeAsync(bytes)]) {
          try {
            await decode();
          } catch (error) {
            expect(error).toBeInstanceOf(CorruptPayloadError);
            expect((error as CorruptPayloadError).code).toBe('E_CORRUPT_PAYLOAD');
            corrupt++;
          }
        }
      }),
      { numRuns: RUNS },
    );
    // A truncated uncompressed number (`123` → `12`) is the documented exception; most fail.
    expect(corrupt).toBeGreaterThan(RUNS);
  });

  it('a non-Uint8Array (what redis.get would return) is a CorruptPayloadError', () => {
    fc.assert(
      fc.property(
        oddValue.filter((v) => !(v instanceof Uint8Array)),
        (value) => {
          expect(() => codec.decode(value as Uint8Array)).toThrow(CorruptPayloadError);
        },
      ),
      { numRuns: RUNS },
    );
  });
});
