import { describeValue } from './describe.js';
import { InvalidKeyError, InvalidOptionsError } from './errors.js';
import { escapeGlob } from './glob.js';
import { hashParts } from './hashed-key.js';
import type { KeySegment } from './segment.js';

/** Options of {@link createKeyBuilder}. */
export interface KeyBuilderOptions {
  /**
   * Segment(s) put before every key, e.g. `'app'` or `['app', 'v2']` → `app:v2:user:42`.
   * Escaped like any other segment, so `'a:b'` is one segment (`a%3Ab`); pass an array for
   * several.
   * @default [] (no prefix)
   */
  prefix?: KeySegment | readonly KeySegment[];
  /**
   * The single ASCII punctuation character between segments. It is percent-escaped inside
   * segments, as is `%`. Alphanumerics, whitespace and `%` are not allowed.
   * @default ':'
   */
  separator?: string;
  /**
   * Longest key accepted, in UTF-8 bytes (what Redis stores). Long keys cost memory on every
   * entry and in every index; hash long parts with `hashed()` instead.
   * @default 1024
   */
  maxLength?: number;
}

/**
 * Builds and parses hierarchical keys (`agent:42`, `stats:agent:42`). Every method is a plain
 * function (destructuring is safe) and the object is frozen.
 *
 * Encoding: segments are joined with the separator after percent-encoding `%`, the separator
 * and whitespace (space → `%20`, U+00A0 → `%C2%A0`, …). Ordinary ids — UUIDs, alphanumerics,
 * `-`, `_`, `.` — come out unchanged. The encoding is reversible ({@link KeyBuilder.parse}),
 * hence injective: two different segment lists never give the same key.
 */
export interface KeyBuilder {
  /** The separator between segments. */
  readonly separator: string;
  /** The encoded prefix including its trailing separator (`'app:'`), or `''` without one. */
  readonly prefix: string;
  /** Longest key accepted, in UTF-8 bytes. */
  readonly maxLength: number;
  /**
   * Joins the segments (after the prefix) into a key.
   * @throws {InvalidKeyError} no segment; a segment is empty, not a string or finite number,
   * contains a control character (C0, DEL, C1) or a lone surrogate; or the key is longer
   * than `maxLength` bytes.
   */
  key(...segments: KeySegment[]): string;
  /**
   * The inverse of {@link KeyBuilder.key}: the segments (as strings) of a key built with the
   * same options. Accepts lower-case escapes too.
   * @throws {InvalidKeyError} the key lacks the prefix, has an empty segment or a malformed
   * `%` escape.
   */
  parse(key: string): string[];
  /**
   * A Redis glob (`SCAN MATCH`) matching exactly the keys that have these leading segments
   * and at least one more: `globFor(['metrics', 'agent', id])` → `metrics:agent:<id>:*`.
   * Segment values are escaped for the key and then for the glob, so a tenant named `a*`
   * matches only its own keys.
   * @throws {InvalidKeyError} a segment is invalid, or the list is empty and there is no
   * prefix (a bare `*` would match the whole database).
   */
  globFor(prefixSegments: readonly KeySegment[]): string;
  /**
   * `<prefix>:<hash>`: the guide's `generateCompressedKey`, with 132 bits of SHA-256 instead
   * of 32 and length-prefixed parts instead of `join('|')`. See `hashParts`.
   * @throws {InvalidKeyError} `prefix` is an invalid segment or a part is not a string or
   * finite number.
   */
  hashed(prefix: KeySegment, ...parts: KeySegment[]): string;
  /** `t:<tenant>:<type>:<id>` — the guide's `createKeyWithTenant`, escaped. */
  tenantKey(tenantId: KeySegment, entityType: KeySegment, entityId: KeySegment): string;
  /** `t:<tenant>:*` with the tenant escaped: every key of that tenant and no other's. */
  tenantPattern(tenantId: KeySegment): string;
  /** One segment as it appears inside a key (validated and percent-encoded). */
  escapeSegment(segment: KeySegment): string;
}

const DEFAULT_MAX_LENGTH = 1024;
const WHITESPACE = /^\s$/u;
const REGEXP_SPECIAL = /[\\^$.*+?()[\]{}|/-]/g;

function percentEncode(ch: string): string {
  let out = '';
  for (const byte of Buffer.from(ch, 'utf8')) {
    out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function codePointLabel(cp: number): string {
  return `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
}

function validateSeparator(separator: unknown): string {
  if (separator === undefined) return ':';
  if (
    typeof separator !== 'string' ||
    separator.length !== 1 ||
    !/^[!-~]$/.test(separator) ||
    /^[A-Za-z0-9%]$/.test(separator)
  ) {
    throw new InvalidOptionsError(
      `separator: expected one ASCII punctuation character other than '%', got ${describeValue(separator)}`,
    );
  }
  return separator;
}

function validateMaxLength(maxLength: unknown): number {
  if (maxLength === undefined) return DEFAULT_MAX_LENGTH;
  if (typeof maxLength !== 'number' || !Number.isSafeInteger(maxLength) || maxLength < 1) {
    throw new InvalidOptionsError(
      `maxLength: expected a positive integer (bytes), got ${describeValue(maxLength)}`,
    );
  }
  return maxLength;
}

/**
 * Creates a {@link KeyBuilder}. Validates the options once; building a key then costs one
 * regular-expression test per segment for ordinary ids.
 *
 * @throws {InvalidOptionsError} `separator`, `maxLength` or `prefix` is invalid.
 *
 * @example
 * const keys = createKeyBuilder({ prefix: 'app' });
 * keys.key('user', 42);        // 'app:user:42'
 * keys.key('search', 'a:b c'); // 'app:search:a%3Ab%20c'
 * keys.parse('app:search:a%3Ab%20c'); // ['search', 'a:b c']
 */
export function createKeyBuilder(options: KeyBuilderOptions = {}): KeyBuilder {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionsError(
      `options: expected an object, got ${describeValue(options as unknown)}`,
    );
  }
  const separator = validateSeparator(options.separator);
  const maxLength = validateMaxLength(options.maxLength);
  // Anything a segment may not contain as-is: the escape char, the separator, whitespace,
  // control characters (rejected) and lone surrogates (rejected). Ordinary ids never match,
  // so the common case is one test and no allocation.
  const needsWork = new RegExp(
    `[%${separator.replace(REGEXP_SPECIAL, '\\$&')}\\s\\p{Cc}\\p{Cs}]`,
    'u',
  );

  const invalid = (label: string, index: number, value: unknown, reason: string) =>
    new InvalidKeyError(`Invalid ${label} at index ${index} (${describeValue(value)}): ${reason}`);

  const encodeSlow = (s: string, index: number, label: string): string => {
    let out = '';
    for (const ch of s) {
      const cp = ch.codePointAt(0)!;
      if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) {
        throw invalid(
          label,
          index,
          s,
          `contains control character ${codePointLabel(cp)}; control characters are rejected (hash free text with hashed())`,
        );
      }
      if (cp >= 0xd800 && cp <= 0xdfff) {
        throw invalid(
          label,
          index,
          s,
          `contains a lone surrogate ${codePointLabel(cp)}; it has no UTF-8 form, so distinct strings would become the same Redis key`,
        );
      }
      out += ch === '%' || ch === separator || WHITESPACE.test(ch) ? percentEncode(ch) : ch;
    }
    return out;
  };

  const encode = (value: unknown, index: number, label: string): string => {
    let s: string;
    if (typeof value === 'string') {
      s = value;
    } else if (typeof value === 'number' && Number.isFinite(value)) {
      s = String(value);
    } else {
      throw invalid(label, index, value, 'expected a string or a finite number');
    }
    if (s.length === 0) throw invalid(label, index, value, 'segments must not be empty');
    return needsWork.test(s) ? encodeSlow(s, index, label) : s;
  };

  const prefixInput: unknown = options.prefix;
  const prefixList: readonly unknown[] =
    prefixInput === undefined ? [] : Array.isArray(prefixInput) ? prefixInput : [prefixInput];
  let prefix = '';
  for (let i = 0; i < prefixList.length; i++) {
    try {
      prefix += encode(prefixList[i], i, 'prefix segment') + separator;
    } catch (error) {
      throw new InvalidOptionsError(`prefix: ${(error as Error).message}`, { cause: error });
    }
  }

  const checkLength = (k: string): string => {
    // A UTF-16 code unit is at most 3 UTF-8 bytes, so short keys skip the byte count.
    if (k.length * 3 > maxLength) {
      const bytes = Buffer.byteLength(k, 'utf8');
      if (bytes > maxLength) {
        throw new InvalidKeyError(
          `Key is ${bytes} bytes, over the ${maxLength}-byte limit (maxLength); hash long parts with hashed(): ${describeValue(k)}`,
        );
      }
    }
    return k;
  };

  const key = (...segments: KeySegment[]): string => {
    if (segments.length === 0) {
      throw new InvalidKeyError('A key needs at least one segment');
    }
    let out = prefix + encode(segments[0], 0, 'key segment');
    for (let i = 1; i < segments.length; i++) {
      out += separator + encode(segments[i], i, 'key segment');
    }
    return checkLength(out);
  };

  const parse = (k: string): string[] => {
    if (typeof k !== 'string') {
      throw new InvalidKeyError(`Cannot parse ${describeValue(k as unknown)}: expected a string`);
    }
    if (!k.startsWith(prefix)) {
      throw new InvalidKeyError(
        `Cannot parse ${describeValue(k)}: it does not start with the prefix ${JSON.stringify(prefix)}`,
      );
    }
    const body = k.slice(prefix.length);
    const parts = body.split(separator);
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      if (part.length === 0) {
        throw new InvalidKeyError(`Cannot parse ${describeValue(k)}: segment ${i} is empty`);
      }
      if (part.includes('%')) {
        try {
          parts[i] = decodeURIComponent(part);
        } catch (error) {
          throw new InvalidKeyError(
            `Cannot parse ${describeValue(k)}: segment ${i} has a malformed % escape`,
            { cause: error },
          );
        }
      }
    }
    return parts;
  };

  const globFor = (prefixSegments: readonly KeySegment[]): string => {
    if (!Array.isArray(prefixSegments)) {
      throw new InvalidKeyError(
        `globFor expects an array of segments, got ${describeValue(prefixSegments as unknown)}`,
      );
    }
    if (prefixSegments.length === 0 && prefix === '') {
      throw new InvalidKeyError(
        'globFor needs at least one segment when the builder has no prefix: a bare "*" matches every key',
      );
    }
    let head = prefix;
    for (let i = 0; i < prefixSegments.length; i++) {
      head += encode(prefixSegments[i], i, 'key segment') + separator;
    }
    return `${escapeGlob(head)}*`;
  };

  const builder: KeyBuilder = {
    separator,
    prefix,
    maxLength,
    key,
    parse,
    globFor,
    hashed: (hashPrefix, ...parts) => key(hashPrefix, hashParts(...parts)),
    tenantKey: (tenantId, entityType, entityId) => key('t', tenantId, entityType, entityId),
    tenantPattern: (tenantId) => globFor(['t', tenantId]),
    escapeSegment: (segment) => encode(segment, 0, 'key segment'),
  };
  return Object.freeze(builder);
}
