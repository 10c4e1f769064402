import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createCodec } from './codec.js';
import { CorruptPayloadError } from './errors.js';
import { MAGIC, peekHeader } from './header.js';

const modes = ['none', 'gzip', 'brotli'] as const;

/** JSON turns -0 into 0 (and that is all it changes in a JSON value), so compare through it. */
const viaJson = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

const jsonValue = fc.jsonValue({ stringUnit: 'binary' });

/** A JSON value padded so that every codec compresses it. */
const compressibleValue = jsonValue.map((value) => ({ value, padding: 'tiercache '.repeat(300) }));

/** Outcome of decoding: a value, a CorruptPayloadError, or anything else (a bug). */
function attempt(decode: () => unknown): 'corrupt' | { value: unknown } {
  try {
    return { value: decode() };
  } catch (error) {
    if (error instanceof CorruptPayloadError) return 'corrupt';
    throw error;
  }
}

describe('properties', () => {
  it.each(modes)(
    'decode(encode(v)) equals v for any JSON value (%s, compressing whenever it pays)',
    (compression) => {
      const codec = createCodec({ compression, threshold: 0, minSavings: 0 });
      fc.assert(
        fc.property(jsonValue, (value) => {
          expect(codec.decode(codec.encode(value))).toEqual(viaJson(value));
        }),
      );
    },
  );

  it('decodeAsync(encodeAsync(v)) equals v and matches the sync bytes', async () => {
    const codec = createCodec({
      compression: 'brotli',
      threshold: 0,
      minSavings: 0,
      asyncThreshold: 0,
    });
    await fc.assert(
      fc.asyncProperty(jsonValue, async (value) => {
        const bytes = await codec.encodeAsync(value);
        expect(bytes).toEqual(codec.encode(value));
        expect(await codec.decodeAsync(bytes)).toEqual(viaJson(value));
      }),
      { numRuns: 50 },
    );
  });

  it('random bytes either decode to a value or throw CorruptPayloadError, nothing else', () => {
    const codec = createCodec();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        attempt(() => codec.decode(bytes));
      }),
    );
  });

  it('random bytes behind a well-formed header never escape as another error', () => {
    const codec = createCodec();
    const header = fc.constantFrom(
      [MAGIC, 1, 0x10],
      [MAGIC, 1, 0x11, 0, 0, 0, 16],
      [MAGIC, 1, 0x12, 0, 0, 0, 16, 0, 0, 0, 0],
    );
    fc.assert(
      fc.property(header, fc.uint8Array({ maxLength: 64 }), (head, body) => {
        const bytes = Uint8Array.of(...head, ...body);
        const outcome = attempt(() => codec.decode(bytes));
        // A random compressed body would have to inflate to exactly 16 bytes of JSON (and
        // match a CRC-32 for brotli): it never does.
        if (head.length > 3) expect(outcome).toBe('corrupt');
      }),
    );
  });

  it('random bytes without the magic byte always throw CorruptPayloadError', () => {
    const codec = createCodec();
    const noMagic = fc
      .tuple(
        fc.integer({ min: 0, max: 255 }).filter((b) => b !== MAGIC),
        fc.uint8Array(),
      )
      .map(([first, rest]) => Uint8Array.of(first, ...rest));
    fc.assert(
      fc.property(noMagic, (bytes) => {
        expect(() => codec.decode(bytes)).toThrow(CorruptPayloadError);
      }),
    );
  });

  it('random bytes with an unknown version always throw CorruptPayloadError', () => {
    const codec = createCodec();
    const badVersion = fc
      .tuple(
        fc.integer({ min: 0, max: 255 }).filter((b) => b !== 1),
        fc.uint8Array({ minLength: 1 }),
      )
      .map(([version, rest]) => Uint8Array.of(MAGIC, version, ...rest));
    fc.assert(
      fc.property(badVersion, (bytes) => {
        expect(() => codec.decode(bytes)).toThrow(/Unsupported payload format version/);
      }),
    );
  });

  it.each(['gzip', 'brotli'] as const)(
    'a compressed (%s) payload truncated at any position throws',
    (compression) => {
      const codec = createCodec({ compression });
      fc.assert(
        fc.property(
          compressibleValue,
          fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
          (value, at) => {
            const bytes = codec.encode(value);
            expect(peekHeader(bytes).compression).toBe(compression);
            const cut = Math.floor(at * bytes.length);
            expect(() => codec.decode(bytes.subarray(0, cut))).toThrow(CorruptPayloadError);
          },
        ),
      );
    },
  );

  it.each(['gzip', 'brotli'] as const)(
    'a flipped byte after the magic and version of a %s payload throws or yields the original',
    (compression) => {
      const codec = createCodec({ compression });
      fc.assert(
        fc.property(
          compressibleValue,
          fc.nat(),
          fc.integer({ min: 1, max: 255 }),
          (value, position, mask) => {
            const bytes = codec.encode(value);
            const index = 2 + (position % (bytes.length - 2));
            bytes[index]! ^= mask;
            const outcome = attempt(() => codec.decode(bytes));
            if (outcome !== 'corrupt') expect(outcome.value).toEqual(viaJson(value));
          },
        ),
        { numRuns: 300 },
      );
    },
  );
});
