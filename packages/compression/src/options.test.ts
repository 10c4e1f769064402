import { describe, expect, it } from 'vitest';
import { createCodec } from './codec.js';
import { InvalidOptionsError } from './errors.js';
import type { CodecOptions } from './options.js';
import type { Serializer } from './serializer.js';
import { jsonSerializer } from './serializer.js';

const custom: Serializer = {
  id: 2,
  name: 'custom',
  serialize: (value) => String(value),
  deserialize: (bytes) => bytes,
};

function optionsError(options: unknown): InvalidOptionsError {
  try {
    createCodec(options as CodecOptions);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionsError);
    expect((error as InvalidOptionsError).code).toBe('E_INVALID_OPTIONS');
    return error as InvalidOptionsError;
  }
  throw new Error('expected createCodec to throw');
}

describe('createCodec options', () => {
  it('accepts no options, an empty object and explicit undefined fields', () => {
    expect(() => createCodec()).not.toThrow();
    expect(() => createCodec({})).not.toThrow();
    expect(() => createCodec({ threshold: undefined, serializer: undefined })).not.toThrow();
  });

  it('accepts every option at its bounds', () => {
    const options: CodecOptions = {
      serializer: jsonSerializer,
      compression: 'brotli',
      threshold: 0,
      minSavings: 0,
      gzipLevel: 9,
      brotliQuality: 11,
      asyncThreshold: 0,
      strict: true,
    };

    expect(() => createCodec(options)).not.toThrow();
  });

  it.each([
    ['threshold', { threshold: -1 }],
    ['threshold', { threshold: 1.5 }],
    ['threshold', { threshold: '1024' }],
    ['minSavings', { minSavings: 1 }],
    ['minSavings', { minSavings: -0.1 }],
    ['compression', { compression: 'zstd' }],
    ['gzipLevel', { gzipLevel: 0 }],
    ['gzipLevel', { gzipLevel: 10 }],
    ['brotliQuality', { brotliQuality: 12 }],
    ['brotliQuality', { brotliQuality: -1 }],
    ['asyncThreshold', { asyncThreshold: -5 }],
    ['strict', { strict: 'yes' }],
    ['serializer', { serializer: 'json' }],
    ['serializer.id', { serializer: { ...custom, id: 0 } }],
    ['serializer.id', { serializer: { ...custom, id: 16 } }],
    ['serializer.name', { serializer: { ...custom, name: '' } }],
    ['serializer.serialize', { serializer: { ...custom, serialize: undefined } }],
    ['serializer.deserialize', { serializer: { ...custom, deserialize: 'nope' } }],
  ])('names the field %s in the error for %j', (field, options) => {
    expect(optionsError(options).message).toContain(`"${field}"`);
  });

  it('keeps the zod error as cause', () => {
    expect(optionsError({ threshold: -1 }).cause).toBeInstanceOf(Error);
  });

  it('rejects an unknown option by name, catching typos', () => {
    expect(optionsError({ treshold: 10 }).message).toContain('"treshold"');
  });

  it('rejects options that are not an object', () => {
    expect(optionsError(42).message).toMatch(/Invalid codec options/);
  });

  it('rejects strict with a serializer other than JSON', () => {
    expect(optionsError({ strict: true, serializer: custom }).message).toContain('"strict"');
  });
});
