import { SerializationError } from './errors.js';

function where(key: string): string {
  return key === '' ? 'at the top level' : `at key ${JSON.stringify(key)}`;
}

function kind(value: object): string {
  const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === 'string' && name !== '' ? `a ${name}` : 'a class instance';
}

function reject(what: string, key: string): never {
  throw new SerializationError(`strict: ${what} ${where(key)} would not survive a JSON round trip`);
}

/**
 * A `JSON.stringify` replacer for `strict: true`: throws for anything JSON would silently
 * change (NaN/Infinity → null, Date → string, Map/Set/class instances → plain objects,
 * `undefined`/functions/symbols dropped or turned into null, objects with `toJSON`).
 * It sees each value once, before serialization, through the holder (`this[key]`), because
 * the `value` argument has already been through `toJSON`.
 */
export function strictReplacer(this: unknown, key: string, value: unknown): unknown {
  const original = (this as Record<string, unknown>)[key];
  switch (typeof original) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (!Number.isFinite(original)) reject(String(original), key);
      return value;
    case 'object': {
      if (original === null) return value;
      if (!Array.isArray(original)) {
        const proto: unknown = Object.getPrototypeOf(original);
        if (proto !== Object.prototype && proto !== null) reject(kind(original), key);
      }
      if (value !== original) reject('an object with toJSON()', key);
      return value;
    }
    case 'bigint':
      return reject('a BigInt', key);
    default:
      // undefined (including array holes), function, symbol
      return reject(original === undefined ? 'undefined' : `a ${typeof original}`, key);
  }
}
