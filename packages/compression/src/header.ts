import { CorruptPayloadError } from './errors.js';

/**
 * First byte of every payload. 0xC1 never occurs in UTF-8 text (so no JSON, no plain
 * string), is "never used" in MessagePack and is not gzip's 0x1F, so a legacy or foreign
 * value is recognised as such instead of being guessed at.
 */
export const MAGIC = 0xc1;
/** Second byte: the header layout. Readers refuse versions they do not know. */
export const FORMAT_VERSION = 1;

/** Compression ids (low nibble of byte 2). */
export const COMPRESSION_NONE = 0;
export const COMPRESSION_GZIP = 1;
export const COMPRESSION_BROTLI = 2;

/** magic, version, serializer|compression */
export const PLAIN_HEADER_LENGTH = 3;
/** …plus the uncompressed body length (u32 big-endian). */
export const GZIP_HEADER_LENGTH = 7;
/** …plus a CRC-32 of the uncompressed body (u32 big-endian); brotli has no checksum of its own. */
export const BROTLI_HEADER_LENGTH = 11;

/** How a payload body is compressed. */
export type Compression = 'none' | 'gzip' | 'brotli';

const COMPRESSION_NAMES: readonly Compression[] = ['none', 'gzip', 'brotli'];

/** What {@link peekHeader} reads from a payload's header, for diagnostics. */
export interface PayloadHeader {
  /** Header layout version (currently always 1). */
  readonly version: number;
  /** Id of the serializer that wrote the body (1 = JSON). */
  readonly serializerId: number;
  /** How the body is compressed. */
  readonly compression: Compression;
  /** Bytes before the body. */
  readonly headerLength: number;
  /** Bytes of the stored (possibly compressed) body. */
  readonly bodyLength: number;
  /** Bytes of the serialized body once decompressed (equals `bodyLength` when uncompressed). */
  readonly uncompressedLength: number;
  /** CRC-32 of the uncompressed body, present for brotli payloads only. */
  readonly checksum?: number;
}

function hex(byte: number | undefined): string {
  return byte === undefined ? '(none: empty)' : `0x${byte.toString(16).padStart(2, '0')}`;
}

/**
 * Reads and checks a payload header without touching the body. Throws
 * {@link CorruptPayloadError} when `bytes` does not start with a header this version of the
 * package can read.
 */
export function peekHeader(bytes: Uint8Array): PayloadHeader {
  if (!(bytes instanceof Uint8Array)) {
    throw new CorruptPayloadError(
      `Expected a Uint8Array or Buffer payload, got ${bytes === null ? 'null' : typeof bytes}` +
        ' (read Redis values with getBuffer, not get)',
    );
  }
  if (bytes[0] !== MAGIC) {
    throw new CorruptPayloadError(
      `Not a tiercache payload: first byte ${hex(bytes[0])} is not the magic ${hex(MAGIC)}`,
    );
  }
  if (bytes.length < PLAIN_HEADER_LENGTH) {
    throw new CorruptPayloadError(
      `Not a tiercache payload: ${bytes.length} bytes, a header needs ${PLAIN_HEADER_LENGTH}`,
    );
  }
  const version = bytes[1]!;
  if (version !== FORMAT_VERSION) {
    throw new CorruptPayloadError(
      `Unsupported payload format version ${version} (this package reads version ${FORMAT_VERSION})`,
    );
  }
  const flags = bytes[2]!;
  const serializerId = flags >>> 4;
  const compressionId = flags & 0x0f;
  if (serializerId === 0) {
    throw new CorruptPayloadError('Payload header names serializer id 0, which is never written');
  }
  const compression = COMPRESSION_NAMES[compressionId];
  if (compression === undefined) {
    throw new CorruptPayloadError(`Payload header names unknown compression id ${compressionId}`);
  }
  if (compression === 'none') {
    const bodyLength = bytes.length - PLAIN_HEADER_LENGTH;
    return {
      version,
      serializerId,
      compression,
      headerLength: PLAIN_HEADER_LENGTH,
      bodyLength,
      uncompressedLength: bodyLength,
    };
  }
  const headerLength = compression === 'gzip' ? GZIP_HEADER_LENGTH : BROTLI_HEADER_LENGTH;
  if (bytes.length <= headerLength) {
    throw new CorruptPayloadError(
      `Truncated ${compression} payload: ${bytes.length} bytes, header alone is ${headerLength}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const uncompressedLength = view.getUint32(3);
  // The encoder only compresses bodies it can shrink, so an empty one is never written.
  if (uncompressedLength === 0) {
    throw new CorruptPayloadError(`${compression} payload declares an empty body`);
  }
  const header = {
    version,
    serializerId,
    compression,
    headerLength,
    bodyLength: bytes.length - headerLength,
    uncompressedLength,
  };
  return compression === 'brotli' ? { ...header, checksum: view.getUint32(7) } : header;
}

/**
 * Whether `bytes` starts with a header this package can read (the body is not checked).
 * Useful when migrating from values stored without a header: decode those the old way.
 */
export function isEncodedPayload(bytes: Uint8Array): boolean {
  try {
    peekHeader(bytes);
    return true;
  } catch {
    return false;
  }
}
