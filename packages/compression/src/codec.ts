import { Buffer } from 'node:buffer';
import * as zlib from 'node:zlib';
import { crc32 } from './crc32.js';
import { CorruptPayloadError, SerializationError } from './errors.js';
import {
  BROTLI_HEADER_LENGTH,
  COMPRESSION_BROTLI,
  COMPRESSION_GZIP,
  COMPRESSION_NONE,
  FORMAT_VERSION,
  GZIP_HEADER_LENGTH,
  MAGIC,
  type PayloadHeader,
  PLAIN_HEADER_LENGTH,
  peekHeader,
} from './header.js';
import type { CodecOptions } from './options.js';
import { resolveOptions } from './options.js';
import type { Serializer } from './serializer.js';
import { asBuffer, jsonSerializer, stringifyJson } from './serializer.js';
import { strictReplacer } from './strict-json.js';

/**
 * Encodes values into self-describing payloads (header + optionally compressed body) and
 * decodes them back. Create one with {@link createCodec} and share it.
 */
export interface Codec {
  /**
   * Serializes `value`, compressing it when that pays (see `threshold`, `minSavings`).
   * Throws `SerializationError` for values the serializer cannot represent.
   */
  encode(value: unknown): Buffer;
  /**
   * Reads a payload written by any codec with the same serializer, whatever its compression
   * setting. Throws `CorruptPayloadError` for anything else; never returns a guessed value.
   */
  decode(bytes: Uint8Array): unknown;
  /** Like `encode`, but compresses bodies of at least `asyncThreshold` bytes on the threadpool. */
  encodeAsync(value: unknown): Promise<Buffer>;
  /** Like `decode`, but inflates bodies of at least `asyncThreshold` bytes on the threadpool. */
  decodeAsync(bytes: Uint8Array): Promise<unknown>;
}

type Inflate = (body: Buffer, maxOutputLength: number) => Buffer;
type InflateAsync = (body: Buffer, maxOutputLength: number) => Promise<Buffer>;

const inflateSync: Record<'gzip' | 'brotli', Inflate> = {
  gzip: (body, maxOutputLength) => zlib.gunzipSync(body, { maxOutputLength }),
  brotli: (body, maxOutputLength) => zlib.brotliDecompressSync(body, { maxOutputLength }),
};

const inflateAsync: Record<'gzip' | 'brotli', InflateAsync> = {
  gzip: (body, maxOutputLength) =>
    new Promise((resolve, reject) => {
      zlib.gunzip(body, { maxOutputLength }, (error, out) =>
        error ? reject(error) : resolve(out),
      );
    }),
  brotli: (body, maxOutputLength) =>
    new Promise((resolve, reject) => {
      zlib.brotliDecompress(body, { maxOutputLength }, (error, out) =>
        error ? reject(error) : resolve(out),
      );
    }),
};

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

class ValueCodec implements Codec {
  private readonly serializer: Serializer;
  /** Set when the body is JSON text: encode/decode skip the serializer indirection. */
  private readonly stringify: ((value: unknown) => string) | undefined;
  /** Byte 2 of an uncompressed payload from this codec's serializer. */
  private readonly plainFlags: number;
  private readonly compressionId: number;
  private readonly threshold: number;
  private readonly keepRatio: number;
  private readonly asyncThreshold: number;
  private readonly gzipOptions: zlib.ZlibOptions;
  private readonly brotliQuality: number;

  constructor(options: CodecOptions | undefined) {
    const resolved = resolveOptions(options);
    this.serializer = resolved.serializer;
    if (resolved.strict) {
      this.stringify = (value) => stringifyJson(value, strictReplacer);
    } else if (resolved.serializer === jsonSerializer) {
      this.stringify = (value) => stringifyJson(value);
    }
    this.plainFlags = (resolved.serializer.id << 4) | COMPRESSION_NONE;
    this.compressionId =
      resolved.compression === 'gzip'
        ? COMPRESSION_GZIP
        : resolved.compression === 'brotli'
          ? COMPRESSION_BROTLI
          : COMPRESSION_NONE;
    this.threshold = resolved.threshold;
    this.keepRatio = 1 - resolved.minSavings;
    this.asyncThreshold = resolved.asyncThreshold;
    this.gzipOptions = { level: resolved.gzipLevel };
    this.brotliQuality = resolved.brotliQuality;
  }

  encode(value: unknown): Buffer {
    const plain = this.encodePlain(value);
    if (!this.shouldCompress(plain)) return plain;
    return this.frame(plain, this.compressSync(plain.subarray(PLAIN_HEADER_LENGTH)));
  }

  async encodeAsync(value: unknown): Promise<Buffer> {
    const plain = this.encodePlain(value);
    if (!this.shouldCompress(plain)) return plain;
    const body = plain.subarray(PLAIN_HEADER_LENGTH);
    if (body.length < this.asyncThreshold) return this.frame(plain, this.compressSync(body));
    const compressed = await new Promise<Buffer>((resolve, reject) => {
      const done = (error: Error | null, out: Buffer): void =>
        error ? reject(error) : resolve(out);
      if (this.compressionId === COMPRESSION_GZIP) zlib.gzip(body, this.gzipOptions, done);
      else zlib.brotliCompress(body, this.brotliOptions(body.length), done);
    });
    return this.frame(plain, compressed);
  }

  decode(bytes: Uint8Array): unknown {
    // Hot path (every L2 hit): an uncompressed body from our serializer, checked inline.
    if (
      bytes instanceof Uint8Array &&
      bytes[0] === MAGIC &&
      bytes[1] === FORMAT_VERSION &&
      bytes[2] === this.plainFlags
    ) {
      return this.deserialize(asBuffer(bytes), PLAIN_HEADER_LENGTH);
    }
    const header = this.readHeader(bytes);
    const buffer = asBuffer(bytes);
    if (header.compression === 'none') return this.deserialize(buffer, header.headerLength);
    let body: Buffer;
    try {
      body = inflateSync[header.compression](
        buffer.subarray(header.headerLength),
        header.uncompressedLength,
      );
    } catch (error) {
      throw this.inflateError(header, error);
    }
    return this.finish(header, body);
  }

  async decodeAsync(bytes: Uint8Array): Promise<unknown> {
    const header = this.readHeader(bytes);
    if (header.compression === 'none' || header.uncompressedLength < this.asyncThreshold) {
      return this.decode(bytes);
    }
    let body: Buffer;
    try {
      body = await inflateAsync[header.compression](
        asBuffer(bytes).subarray(header.headerLength),
        header.uncompressedLength,
      );
    } catch (error) {
      throw this.inflateError(header, error);
    }
    return this.finish(header, body);
  }

  /** Header (3 bytes) + serialized body, in one allocation. */
  private encodePlain(value: unknown): Buffer {
    let out: Uint8Array | string;
    if (this.stringify !== undefined) {
      out = this.stringify(value);
    } else {
      try {
        out = this.serializer.serialize(value);
      } catch (error) {
        if (error instanceof SerializationError) throw error;
        throw new SerializationError(
          `Serializer "${this.serializer.name}" failed: ${message(error)}`,
          { cause: error },
        );
      }
    }
    let payload: Buffer;
    if (typeof out === 'string') {
      payload = Buffer.allocUnsafe(PLAIN_HEADER_LENGTH + Buffer.byteLength(out, 'utf8'));
      payload.write(out, PLAIN_HEADER_LENGTH, 'utf8');
    } else if (out instanceof Uint8Array) {
      payload = Buffer.allocUnsafe(PLAIN_HEADER_LENGTH + out.length);
      payload.set(out, PLAIN_HEADER_LENGTH);
    } else {
      throw new SerializationError(
        `Serializer "${this.serializer.name}" returned ${out === null ? 'null' : typeof out}, expected a string or Uint8Array`,
      );
    }
    payload[0] = MAGIC;
    payload[1] = FORMAT_VERSION;
    payload[2] = this.plainFlags;
    return payload;
  }

  private shouldCompress(plain: Buffer): boolean {
    return (
      this.compressionId !== COMPRESSION_NONE &&
      plain.length - PLAIN_HEADER_LENGTH >= this.threshold &&
      // Even a perfect compressor cannot pay for its longer header on a tiny body.
      plain.length > BROTLI_HEADER_LENGTH
    );
  }

  private compressSync(body: Buffer): Buffer {
    return this.compressionId === COMPRESSION_GZIP
      ? zlib.gzipSync(body, this.gzipOptions)
      : zlib.brotliCompressSync(body, this.brotliOptions(body.length));
  }

  private brotliOptions(sizeHint: number): zlib.BrotliOptions {
    return {
      params: {
        [zlib.constants.BROTLI_PARAM_QUALITY]: this.brotliQuality,
        [zlib.constants.BROTLI_PARAM_SIZE_HINT]: sizeHint,
      },
    };
  }

  /** The compressed payload, or `plain` when compression does not save `minSavings`. */
  private frame(plain: Buffer, compressed: Buffer): Buffer {
    const brotli = this.compressionId === COMPRESSION_BROTLI;
    const headerLength = brotli ? BROTLI_HEADER_LENGTH : GZIP_HEADER_LENGTH;
    const total = headerLength + compressed.length;
    if (total >= plain.length || total > plain.length * this.keepRatio) return plain;
    const body = plain.subarray(PLAIN_HEADER_LENGTH);
    const out = Buffer.allocUnsafe(total);
    out[0] = MAGIC;
    out[1] = FORMAT_VERSION;
    out[2] = (this.serializer.id << 4) | this.compressionId;
    out.writeUInt32BE(body.length, 3);
    if (brotli) out.writeUInt32BE(crc32(body), 7);
    out.set(compressed, headerLength);
    return out;
  }

  private readHeader(bytes: Uint8Array): PayloadHeader {
    const header = peekHeader(bytes);
    if (header.serializerId !== this.serializer.id) {
      throw new CorruptPayloadError(
        `Payload was written by serializer id ${header.serializerId}; this codec reads` +
          ` serializer "${this.serializer.name}" (id ${this.serializer.id})`,
      );
    }
    return header;
  }

  private inflateError(header: PayloadHeader, error: unknown): CorruptPayloadError {
    return new CorruptPayloadError(
      `Damaged ${header.compression} body (declared ${header.uncompressedLength} bytes): ${message(error)}`,
      { cause: error },
    );
  }

  /** Checks an inflated body against the header, then deserializes it. */
  private finish(header: PayloadHeader, body: Buffer): unknown {
    if (body.length !== header.uncompressedLength) {
      throw new CorruptPayloadError(
        `Damaged ${header.compression} body: declared ${header.uncompressedLength} bytes, got ${body.length}`,
      );
    }
    if (header.checksum !== undefined && crc32(body) !== header.checksum) {
      throw new CorruptPayloadError(`Damaged ${header.compression} body: CRC-32 mismatch`);
    }
    return this.deserialize(body, 0);
  }

  private deserialize(buffer: Buffer, offset: number): unknown {
    if (this.stringify !== undefined) {
      try {
        return JSON.parse(buffer.toString('utf8', offset));
      } catch (error) {
        throw new CorruptPayloadError(`Body is not valid JSON: ${message(error)}`, {
          cause: error,
        });
      }
    }
    try {
      return this.serializer.deserialize(offset === 0 ? buffer : buffer.subarray(offset));
    } catch (error) {
      if (error instanceof CorruptPayloadError) throw error;
      throw new CorruptPayloadError(
        `Serializer "${this.serializer.name}" could not read the body: ${message(error)}`,
        { cause: error },
      );
    }
  }
}

/**
 * Creates a codec. Options are validated once, here; a bad one throws
 * `InvalidOptionsError` naming the field.
 *
 * @example
 * const codec = createCodec({ compression: 'brotli' });
 * const bytes = codec.encode({ id: 1, name: 'Ada' });
 * codec.decode(bytes); // { id: 1, name: 'Ada' }
 */
export function createCodec(options?: CodecOptions): Codec {
  return new ValueCodec(options);
}
