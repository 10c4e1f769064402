import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { createCodec } from './codec.js';
import { CorruptPayloadError } from './errors.js';
import { isEncodedPayload, peekHeader } from './header.js';
import { repetitiveValue } from './test-values.js';

describe('peekHeader', () => {
  it('describes an uncompressed payload', () => {
    const bytes = createCodec().encode({ a: 1 });

    expect(peekHeader(bytes)).toEqual({
      version: 1,
      serializerId: 1,
      compression: 'none',
      headerLength: 3,
      bodyLength: 7,
      uncompressedLength: 7,
    });
  });

  it('describes a gzip payload with its uncompressed length', () => {
    const value = repetitiveValue();
    const bytes = createCodec().encode(value);

    expect(peekHeader(bytes)).toEqual({
      version: 1,
      serializerId: 1,
      compression: 'gzip',
      headerLength: 7,
      bodyLength: bytes.length - 7,
      uncompressedLength: Buffer.byteLength(JSON.stringify(value)),
    });
  });

  it('throws CorruptPayloadError for bytes without a header', () => {
    expect(() => peekHeader(Buffer.from('plain text'))).toThrow(CorruptPayloadError);
  });
});

describe('isEncodedPayload', () => {
  it('recognises encoded payloads', () => {
    expect(isEncodedPayload(createCodec().encode('x'))).toBe(true);
  });

  it('tells legacy headerless JSON apart, for migrations', () => {
    expect(isEncodedPayload(Buffer.from('{"a":1}'))).toBe(false);
  });

  it('says false for non-bytes', () => {
    expect(isEncodedPayload(null as unknown as Uint8Array)).toBe(false);
  });
});
