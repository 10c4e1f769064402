/**
 * Freezes `value` and every object reachable from it, in place, and returns it.
 *
 * An object that is already frozen is taken as deeply frozen and not walked again: that ends
 * cycles and makes storing the same (frozen) value again O(1), at the price of missing mutable
 * children under an object the caller froze only shallowly. Typed arrays and buffers cannot be
 * frozen and are left as they are; Maps, Sets and Dates are frozen as objects but their own
 * methods (`map.set`, `date.setTime`) still mutate them, so their contents are frozen as well.
 * Iterative, so a deeply nested value cannot overflow the stack.
 */
export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  const stack: object[] = [value];
  for (let obj = stack.pop(); obj !== undefined; obj = stack.pop()) {
    if (ArrayBuffer.isView(obj) || Object.isFrozen(obj)) continue;
    Object.freeze(obj);
    if (Array.isArray(obj)) {
      for (const item of obj) pushObject(stack, item);
    } else if (obj instanceof Map) {
      for (const [k, v] of obj) {
        pushObject(stack, k);
        pushObject(stack, v);
      }
    } else if (obj instanceof Set) {
      for (const item of obj) pushObject(stack, item);
    } else {
      const record = obj as Record<string, unknown>;
      for (const key of Object.keys(record)) pushObject(stack, record[key]);
    }
  }
  return value;
}

function pushObject(stack: object[], value: unknown): void {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) stack.push(value);
}
