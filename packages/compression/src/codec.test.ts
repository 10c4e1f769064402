import { Buffer } from 'node:buffer';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { createCodec } from './codec.js';
import { CorruptPayloadError, SerializationError } from './errors.js';
import { peekHeader } from './header.js';
import type { Serializer } from './serializer.js';
import { incompressibleString, repetitiveValue } from './test-values.js';

const modes = ['none', 'gzip', 'brotli'] as const;

function corruptError(fn: () => unknown): CorruptPayloadError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(CorruptPayloadError);
    expect((error as CorruptPayloadError).code).toBe('E_CORRUPT_PAYLOAD');
    return error as CorruptPayloadError;
  }
  throw new Error('expected decode to throw');
}

describe('round trips', () => {
  it.each(modes)('decodes what it encoded with compression %s', (compression) => {
    const codec = createCodec({ compression });
    const value = repetitiveValue();

    const bytes = codec.encode(value);

    expect(peekHeader(bytes).compression).toBe(compression);
    expect(codec.decode(bytes)).toEqual(value);
  });

  it.each(modes)(
    'round-trips through the async variants with compression %s',
    async (compression) => {
      const codec = createCodec({ compression, asyncThreshold: 0 });
      const value = repetitiveValue();

      const bytes = await codec.encodeAsync(value);

      expect(peekHeader(bytes).compression).toBe(compression);
      expect(await codec.decodeAsync(bytes)).toEqual(value);
    },
  );

  it('reads async-encoded payloads synchronously and the other way round', async () => {
    const threadpool = createCodec({ asyncThreshold: 0 });
    const value = repetitiveValue(100_000);

    expect(threadpool.decode(await threadpool.encodeAsync(value))).toEqual(value);
    expect(await threadpool.decodeAsync(threadpool.encode(value))).toEqual(value);
  });

  it('compresses large values on the async path above the default asyncThreshold', async () => {
    const codec = createCodec();
    const value = repetitiveValue(200_000);

    const bytes = await codec.encodeAsync(value);

    expect(peekHeader(bytes).compression).toBe('gzip');
    expect(await codec.decodeAsync(bytes)).toEqual(value);
  });

  it.each([null, 0, '', false, [], {}, 'héllo 😀', -1.5e300])(
    'keeps the falsy or small value %j',
    (value) => {
      const codec = createCodec();

      expect(codec.decode(codec.encode(value))).toEqual(value);
    },
  );

  it('keeps lone surrogates, which JSON.stringify escapes', () => {
    const codec = createCodec();

    expect(codec.decode(codec.encode('a\ud800b'))).toBe('a\ud800b');
  });

  it('decodes a plain Uint8Array view at an offset, not only a Buffer', () => {
    const codec = createCodec();
    const bytes = codec.encode({ a: [1, 2, 3] });
    const backing = new Uint8Array(bytes.length + 10);
    backing.set(bytes, 5);

    expect(codec.decode(backing.subarray(5, 5 + bytes.length))).toEqual({ a: [1, 2, 3] });
  });

  it('reads every compression whatever its own setting, so the setting can change in a rollout', () => {
    const value = repetitiveValue();
    const reader = createCodec({ compression: 'none' });

    expect(reader.decode(createCodec({ compression: 'gzip' }).encode(value))).toEqual(value);
    expect(reader.decode(createCodec({ compression: 'brotli' }).encode(value))).toEqual(value);
  });
});

describe('wire format', () => {
  it('writes magic 0xC1, version 1, serializer 1 / no compression, then the JSON text', () => {
    const bytes = createCodec().encode({ a: 1 });

    expect([...bytes.subarray(0, 3)]).toEqual([0xc1, 0x01, 0x10]);
    expect(bytes.subarray(3).toString('utf8')).toBe('{"a":1}');
  });

  it('carries no checksum on uncompressed bodies, so a changed digit reads as another number', () => {
    // By design: see "Integrity" in the README. Redis stores bytes exactly; the hot path stays
    // JSON.parse alone.
    const codec = createCodec();
    const bytes = codec.encode(123);
    bytes[3] = 0x39;

    expect(codec.decode(bytes)).toBe(923);
  });

  it('writes the uncompressed length before a gzip stream', () => {
    const value = repetitiveValue();
    const bytes = createCodec({ compression: 'gzip' }).encode(value);

    expect([...bytes.subarray(0, 3)]).toEqual([0xc1, 0x01, 0x11]);
    expect(bytes.readUInt32BE(3)).toBe(Buffer.byteLength(JSON.stringify(value)));
    expect([...bytes.subarray(7, 9)]).toEqual([0x1f, 0x8b]);
  });

  it('writes the uncompressed length and a CRC-32 before a brotli stream', () => {
    const value = repetitiveValue();
    const bytes = createCodec({ compression: 'brotli' }).encode(value);
    const header = peekHeader(bytes);

    expect(bytes[2]).toBe(0x12);
    expect(header.uncompressedLength).toBe(Buffer.byteLength(JSON.stringify(value)));
    expect(header.checksum).toEqual(expect.any(Number));
    expect(header.headerLength).toBe(11);
  });
});

describe('when to compress', () => {
  it('stores a compressible body below the threshold uncompressed', () => {
    const codec = createCodec({ threshold: 1024 });
    const value = 'a'.repeat(1000);

    expect(peekHeader(codec.encode(value)).compression).toBe('none');
  });

  it('compresses a compressible body of exactly the threshold', () => {
    const codec = createCodec({ threshold: 1024 });
    const value = 'a'.repeat(1022); // 1024 bytes with the quotes

    expect(peekHeader(codec.encode(value)).compression).toBe('gzip');
  });

  it('compresses a repetitive 4 KB value', () => {
    const bytes = createCodec().encode(repetitiveValue(4096));

    expect(peekHeader(bytes).compression).toBe('gzip');
    expect(bytes.length).toBeLessThan(4096 * 0.2);
  });

  it.each(['gzip', 'brotli'] as const)(
    'stores an incompressible 4 KB string uncompressed with %s',
    (compression) => {
      const value = incompressibleString(4096);

      const bytes = createCodec({ compression }).encode(value);

      expect(peekHeader(bytes).compression).toBe('none');
      expect(bytes.length).toBe(3 + 4096 + 2);
    },
  );

  it('keeps a smaller saving when minSavings allows it', () => {
    const value = incompressibleString(4096);

    const bytes = createCodec({ minSavings: 0 }).encode(value);

    expect(peekHeader(bytes).compression).toBe('gzip');
    expect(bytes.length).toBeLessThan(4096);
  });

  it('never compresses with compression none', () => {
    const bytes = createCodec({ compression: 'none' }).encode(repetitiveValue());

    expect(peekHeader(bytes).compression).toBe('none');
  });

  it('never stores a compressed payload larger than the uncompressed one, even with threshold 0', () => {
    const codec = createCodec({ threshold: 0, minSavings: 0 });

    expect(peekHeader(codec.encode({ a: 1 })).compression).toBe('none');
  });
});

describe('values JSON cannot represent', () => {
  const codec = createCodec();

  it('rejects a BigInt with SerializationError keeping the TypeError as cause', () => {
    let error: unknown;
    try {
      codec.encode({ n: 10n });
    } catch (caught) {
      error = caught;
    }

    expect(error).toBeInstanceOf(SerializationError);
    expect((error as SerializationError).code).toBe('E_SERIALIZATION');
    expect((error as SerializationError).cause).toBeInstanceOf(TypeError);
  });

  it('rejects a circular structure with SerializationError', () => {
    const value: Record<string, unknown> = { a: 1 };
    value.self = value;

    expect(() => codec.encode(value)).toThrow(SerializationError);
    expect(() => codec.encode(value)).toThrow(/circular/);
  });

  it.each([
    ['undefined', undefined],
    ['function', () => 1],
    ['symbol', Symbol('s')],
  ])('rejects a top-level %s', (kind, value) => {
    expect(() => codec.encode(value)).toThrow(new RegExp(`top-level ${kind}`));
  });

  it('rejects on the async path with a rejected promise, not a synchronous throw', async () => {
    const promise = codec.encodeAsync(undefined);

    await expect(promise).rejects.toThrow(SerializationError);
  });

  it('turns a Date into its ISO string (documented JSON behaviour)', () => {
    const date = new Date('2024-01-02T03:04:05.000Z');

    expect(codec.decode(codec.encode({ date }))).toEqual({ date: '2024-01-02T03:04:05.000Z' });
  });

  it('turns NaN and Infinity into null and drops undefined properties (documented JSON behaviour)', () => {
    const value = {
      nan: Number.NaN,
      inf: Number.POSITIVE_INFINITY,
      gone: undefined,
      list: [undefined],
    };

    expect(codec.decode(codec.encode(value))).toEqual({ nan: null, inf: null, list: [null] });
  });

  it('turns a Map and a Set into empty objects (documented JSON behaviour)', () => {
    const value = { map: new Map([['a', 1]]), set: new Set([1]) };

    expect(codec.decode(codec.encode(value))).toEqual({ map: {}, set: {} });
  });
});

describe('strict mode', () => {
  const codec = createCodec({ strict: true });

  it('accepts plain JSON data, including null-prototype objects', () => {
    const value = Object.assign(Object.create(null) as object, {
      a: [1, 'x', null, true, { b: -2.5 }],
    });

    expect(codec.decode(codec.encode(value))).toEqual({ a: [1, 'x', null, true, { b: -2.5 }] });
  });

  it.each([
    ['NaN', { n: Number.NaN }, /NaN at key "n"/],
    ['Infinity', [Number.NEGATIVE_INFINITY], /-Infinity at key "0"/],
    ['a Date', { when: new Date(0) }, /a Date at key "when"/],
    ['a Map', { m: new Map() }, /a Map/],
    ['a Set', new Set([1]), /a Set at the top level/],
    ['a class instance', { p: new (class Point {})() }, /a Point/],
    ['undefined in an object', { gone: undefined }, /undefined at key "gone"/],
    // biome-ignore lint/suspicious/noSparseArray: the hole is what is being tested
    ['an array hole', [1, , 3], /undefined at key "1"/],
    ['a function property', { f: () => 1 }, /a function/],
    ['a BigInt', { n: 1n }, /a BigInt/],
    ['an object with toJSON', { t: { toJSON: () => 'x' } }, /toJSON/],
  ])('rejects %s', (_name, value, pattern) => {
    expect(() => codec.encode(value)).toThrow(SerializationError);
    expect(() => codec.encode(value)).toThrow(pattern);
  });
});

describe('corrupt, truncated or foreign bytes', () => {
  const codec = createCodec();
  const gzipPayload = (): Buffer => createCodec({ compression: 'gzip' }).encode(repetitiveValue());
  const brotliPayload = (): Buffer =>
    createCodec({ compression: 'brotli' }).encode(repetitiveValue());

  it('rejects empty bytes', () => {
    expect(corruptError(() => codec.decode(new Uint8Array(0))).message).toMatch(
      /Not a tiercache payload/,
    );
  });

  it('rejects raw JSON stored without a header', () => {
    expect(corruptError(() => codec.decode(Buffer.from('{"a":1}'))).message).toMatch(
      /first byte 0x7b/,
    );
  });

  it("rejects the guide's headerless gzip instead of guessing", () => {
    const legacy = gzipSync(JSON.stringify(repetitiveValue()));

    expect(corruptError(() => codec.decode(legacy)).message).toMatch(/first byte 0x1f/);
  });

  it('rejects a string handed in place of bytes', () => {
    expect(corruptError(() => codec.decode('{"a":1}' as unknown as Uint8Array)).message).toMatch(
      /getBuffer/,
    );
  });

  it('rejects an unknown format version', () => {
    const bytes = codec.encode({ a: 1 });
    bytes[1] = 2;

    expect(corruptError(() => codec.decode(bytes)).message).toMatch(/version 2/);
  });

  it('rejects an unknown compression id', () => {
    const bytes = codec.encode({ a: 1 });
    bytes[2] = 0x13;

    expect(corruptError(() => codec.decode(bytes)).message).toMatch(/compression id 3/);
  });

  it('rejects serializer id 0', () => {
    const bytes = codec.encode({ a: 1 });
    bytes[2] = 0x00;

    expect(corruptError(() => codec.decode(bytes)).message).toMatch(/serializer id 0/);
  });

  it('names the serializer id when another serializer wrote the payload', () => {
    const bytes = codec.encode({ a: 1 });
    bytes[2] = 0x70;

    expect(corruptError(() => codec.decode(bytes)).message).toMatch(
      /written by serializer id 7; this codec reads serializer "json" \(id 1\)/,
    );
  });

  it('rejects a compressed payload cut inside its header', () => {
    expect(corruptError(() => codec.decode(gzipPayload().subarray(0, 6))).message).toMatch(
      /Truncated gzip/,
    );
  });

  it('rejects a compressed payload cut inside its body, keeping the zlib error as cause', () => {
    const bytes = gzipPayload();

    const error = corruptError(() => codec.decode(bytes.subarray(0, bytes.length - 10)));

    expect(error.message).toMatch(/Damaged gzip body/);
    expect(error.cause).toBeInstanceOf(Error);
  });

  it('rejects a body that inflates to more bytes than the header declares', () => {
    const bytes = gzipPayload();
    bytes.writeUInt32BE(bytes.readUInt32BE(3) - 1, 3);

    expect(corruptError(() => codec.decode(bytes)).message).toMatch(/Damaged gzip body/);
  });

  it('rejects a body that inflates to fewer bytes than the header declares', () => {
    const bytes = gzipPayload();
    const declared = bytes.readUInt32BE(3);
    bytes.writeUInt32BE(declared + 1, 3);

    expect(corruptError(() => codec.decode(bytes)).message).toMatch(
      new RegExp(`declared ${declared + 1} bytes, got ${declared}`),
    );
  });

  it('rejects a declared length of zero', () => {
    const bytes = gzipPayload();
    bytes.writeUInt32BE(0, 3);

    expect(corruptError(() => codec.decode(bytes)).message).toMatch(/empty body/);
  });

  it('rejects a body zlib cannot inflate', () => {
    const bytes = gzipPayload();
    bytes.fill(0x55, 7);

    expect(corruptError(() => codec.decode(bytes)).cause).toBeInstanceOf(Error);
  });

  it('rejects a brotli body whose CRC-32 does not match', () => {
    const bytes = brotliPayload();
    bytes.writeUInt32BE((bytes.readUInt32BE(7) + 1) >>> 0, 7);

    expect(corruptError(() => codec.decode(bytes)).message).toMatch(/CRC-32 mismatch/);
  });

  it('rejects an uncompressed body that is not JSON, keeping the SyntaxError as cause', () => {
    const bytes = Buffer.concat([Buffer.from([0xc1, 0x01, 0x10]), Buffer.from('{"a":')]);

    const error = corruptError(() => codec.decode(bytes));

    expect(error.message).toMatch(/not valid JSON/);
    expect(error.cause).toBeInstanceOf(SyntaxError);
  });

  it('rejects a compressed body whose text is not JSON', () => {
    const text = Buffer.from(`{"broken": ${'"x",'.repeat(500)}`);
    const bytes = Buffer.concat([Buffer.from([0xc1, 0x01, 0x11, 0, 0, 0, 0]), gzipSync(text)]);
    bytes.writeUInt32BE(text.length, 3);

    expect(corruptError(() => codec.decode(bytes)).message).toMatch(/not valid JSON/);
  });

  it('rejects on the async path with a rejected promise', async () => {
    const bytes = gzipPayload().subarray(0, 40);

    await expect(createCodec({ asyncThreshold: 0 }).decodeAsync(bytes)).rejects.toThrow(
      CorruptPayloadError,
    );
    await expect(codec.decodeAsync(Buffer.from('nope'))).rejects.toThrow(CorruptPayloadError);
  });
});

describe('custom serializers', () => {
  const text: Serializer = {
    id: 2,
    name: 'text',
    serialize(value) {
      if (typeof value !== 'string') throw new TypeError('strings only');
      return new TextEncoder().encode(value);
    },
    deserialize(bytes) {
      return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    },
  };

  it('round-trips through a serializer that returns bytes, compressed or not', () => {
    const codec = createCodec({ serializer: text });

    expect(codec.decode(codec.encode('hi'))).toBe('hi');
    const long = 'abc'.repeat(1000);
    const bytes = codec.encode(long);
    expect(peekHeader(bytes)).toMatchObject({ serializerId: 2, compression: 'gzip' });
    expect(codec.decode(bytes)).toBe(long);
  });

  it('keeps a class-based serializer bound to its instance', () => {
    class Prefixed implements Serializer {
      readonly id = 3;
      readonly name = 'prefixed';
      private readonly prefix = '>';
      serialize(value: unknown): string {
        return this.prefix + String(value);
      }
      deserialize(bytes: Uint8Array): unknown {
        return Buffer.from(bytes).toString('utf8').slice(this.prefix.length);
      }
    }
    const codec = createCodec({ serializer: new Prefixed() });

    expect(codec.decode(codec.encode('x'))).toBe('x');
  });

  it('wraps a serializer failure in SerializationError with the cause', () => {
    const codec = createCodec({ serializer: text });

    expect(() => codec.encode(42)).toThrow(SerializationError);
    expect(() => codec.encode(42)).toThrow(/Serializer "text" failed: strings only/);
  });

  it('rejects a serializer that returns neither string nor bytes', () => {
    const codec = createCodec({ serializer: { ...text, serialize: () => 5 as unknown as string } });

    expect(() => codec.encode('x')).toThrow(/returned number/);
  });

  it('reports a deserializer failure as CorruptPayloadError with the cause', () => {
    const codec = createCodec({ serializer: text });
    const bytes = Buffer.from([0xc1, 0x01, 0x20, 0xff, 0xfe]);

    const error = corruptError(() => codec.decode(bytes));

    expect(error.message).toMatch(/Serializer "text" could not read the body/);
    expect(error.cause).toBeInstanceOf(TypeError);
  });

  it('refuses JSON payloads, naming the serializer that wrote them', () => {
    const json = createCodec().encode('hi');

    expect(corruptError(() => createCodec({ serializer: text }).decode(json)).message).toMatch(
      /serializer id 1; this codec reads serializer "text" \(id 2\)/,
    );
  });
});
