export type { Codec } from './codec.js';
export { createCodec } from './codec.js';
export { CorruptPayloadError, InvalidOptionsError, SerializationError } from './errors.js';
export type { Compression, PayloadHeader } from './header.js';
export { isEncodedPayload, peekHeader } from './header.js';
export type { CodecOptions } from './options.js';
export type { Serializer } from './serializer.js';
export { jsonSerializer } from './serializer.js';
