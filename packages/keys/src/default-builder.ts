import type { KeyBuilder } from './key-builder.js';
import { createKeyBuilder } from './key-builder.js';

// One shared builder with the guide's conventions (`:` separator, no prefix, 1024 bytes).
const defaultKeyBuilder: KeyBuilder = /* @__PURE__ */ createKeyBuilder();

/**
 * Joins segments into a key with the default builder (`:` separator, no prefix):
 * `key('agent', id, 'stats')` → `agent:<id>:stats`. `%`, `:` and whitespace inside a segment
 * are percent-encoded, so distinct segment lists never collide.
 * @throws {InvalidKeyError} see {@link KeyBuilder.key}.
 */
export const key: KeyBuilder['key'] = defaultKeyBuilder.key;

/**
 * Splits a key built by {@link key} back into its segments.
 * @throws {InvalidKeyError} see {@link KeyBuilder.parse}.
 */
export const parseKey: KeyBuilder['parse'] = defaultKeyBuilder.parse;

/**
 * A Redis glob matching the keys under these leading segments:
 * `globFor(['metrics', 'agent', id])` → `metrics:agent:<id>:*`.
 * @throws {InvalidKeyError} see {@link KeyBuilder.globFor}.
 */
export const globFor: KeyBuilder['globFor'] = defaultKeyBuilder.globFor;

/**
 * `<prefix>:<22 base64url chars of SHA-256>` — the guide's `generateCompressedKey` with 132
 * bits instead of 32, parts length-prefixed instead of `join('|')`.
 * @throws {InvalidKeyError} see {@link KeyBuilder.hashed}.
 */
export const hashedKey: KeyBuilder['hashed'] = defaultKeyBuilder.hashed;

/**
 * `t:<tenant>:<type>:<id>` with every segment escaped.
 * @throws {InvalidKeyError} a segment is invalid.
 */
export const tenantKey: KeyBuilder['tenantKey'] = defaultKeyBuilder.tenantKey;

/**
 * `t:<tenant>:*`, escaped for the key and for the glob: a SCAN pattern matching every key
 * of that tenant and no other tenant's.
 * @throws {InvalidKeyError} the tenant id is invalid.
 */
export const tenantPattern: KeyBuilder['tenantPattern'] = defaultKeyBuilder.tenantPattern;

/**
 * One segment as it appears inside a key built by {@link key}.
 * @throws {InvalidKeyError} the segment is invalid.
 */
export const escapeSegment: KeyBuilder['escapeSegment'] = defaultKeyBuilder.escapeSegment;
