// Rough V8 costs. The estimate only has to be proportional and conservative (rather over than
// under): it bounds the tier's memory, it is not a heap profiler.
const STRING_OVERHEAD = 16;
const OBJECT_OVERHEAD = 32;
const SLOT = 8;
const NUMBER_SIZE = 8;
const BOOLEAN_SIZE = 4;
const NULL_SIZE = 4;

// A huge value must not make `set` slow, and a deep one must not overflow the stack: past these
// limits the rest of a collection is extrapolated from what was walked.
const MAX_NODES = 10_000;
const MAX_DEPTH = 64;

// Walk state, module-level so that estimating a plain value allocates nothing but Object.keys.
// Reset on every call (a getter that throws mid-walk leaves it dirty). Only ancestors are
// tracked, which is enough to cut cycles: a reference shared by two branches is counted in
// each, an overestimate that the node budget bounds.
let remaining = 0;
const ancestors: object[] = [];

/**
 * A fast estimate of how many bytes `value` occupies in memory: strings 2 bytes per character
 * plus a header, numbers 8, booleans 4, objects and arrays walked recursively (keys, slots and
 * values). Cycles are cut; an object shared by several branches is counted in each (rather over
 * than under). At most 10,000 nodes and 64 levels are walked; beyond that a collection's
 * remaining elements are extrapolated from the average of the walked ones, so a huge or cyclic
 * value costs bounded time. Typed arrays and buffers count their `byteLength`. Always returns a
 * positive integer.
 *
 * This is the default `sizeCalculation` of `memoryTier()` (plus the key's size); it is exported
 * so that a custom `sizeCalculation` can build on it.
 */
export function estimateSize(value: unknown): number {
  switch (typeof value) {
    case 'string':
      return STRING_OVERHEAD + 2 * value.length;
    case 'number':
      return NUMBER_SIZE;
    case 'boolean':
      return BOOLEAN_SIZE;
    default:
      remaining = MAX_NODES;
      ancestors.length = 0;
      return Math.ceil(sizeOf(value, 0));
  }
}

function sizeOf(value: unknown, depth: number): number {
  remaining--;
  switch (typeof value) {
    case 'string':
      return STRING_OVERHEAD + 2 * value.length;
    case 'number':
      return NUMBER_SIZE;
    case 'boolean':
      return BOOLEAN_SIZE;
    case 'bigint':
      return STRING_OVERHEAD + Math.ceil(value.toString(16).length / 2);
    case 'object': {
      if (value === null) return NULL_SIZE;
      if (depth >= MAX_DEPTH || ancestors.includes(value)) return SLOT;
      ancestors.push(value);
      const size = sizeOfObject(value, depth + 1);
      ancestors.pop();
      return size;
    }
    default:
      // undefined, symbols and functions: count the reference only.
      return SLOT;
  }
}

function sizeOfObject(value: object, depth: number): number {
  if (Array.isArray(value)) {
    const size = OBJECT_OVERHEAD + SLOT * value.length;
    let walked = 0;
    for (let i = 0; i < value.length; i++) {
      if (remaining <= 0) return size + walked + extrapolate(walked, i, value.length);
      walked += sizeOf(value[i], depth);
    }
    return size + walked;
  }
  if (ArrayBuffer.isView(value)) return OBJECT_OVERHEAD + value.byteLength;
  if (value instanceof ArrayBuffer) return OBJECT_OVERHEAD + value.byteLength;
  if (value instanceof Date) return OBJECT_OVERHEAD + NUMBER_SIZE;
  if (value instanceof Map) {
    let walked = 0;
    let i = 0;
    for (const [k, v] of value) {
      if (remaining <= 0) break;
      walked += 2 * SLOT + sizeOf(k, depth) + sizeOf(v, depth);
      i++;
    }
    return OBJECT_OVERHEAD + walked + extrapolate(walked, i, value.size);
  }
  if (value instanceof Set) {
    let walked = 0;
    let i = 0;
    for (const v of value) {
      if (remaining <= 0) break;
      walked += SLOT + sizeOf(v, depth);
      i++;
    }
    return OBJECT_OVERHEAD + walked + extrapolate(walked, i, value.size);
  }
  const keys = Object.keys(value);
  const record = value as Record<string, unknown>;
  let walked = 0;
  for (let i = 0; i < keys.length; i++) {
    if (remaining <= 0) return OBJECT_OVERHEAD + walked + extrapolate(walked, i, keys.length);
    const key = keys[i]!;
    walked += SLOT + STRING_OVERHEAD + 2 * key.length + sizeOf(record[key], depth);
  }
  return OBJECT_OVERHEAD + walked;
}

/** The elements `done..total` that the budget left unwalked, at the average of the walked ones. */
function extrapolate(walked: number, done: number, total: number): number {
  const rest = total - done;
  if (rest <= 0) return 0;
  return done === 0 ? rest * SLOT : rest * (walked / done);
}
