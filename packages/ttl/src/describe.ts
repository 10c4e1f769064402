/** A short rendering of a rejected value for error messages. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') {
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  }
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') {
    return String(value);
  }
  if (value === null || value === undefined) return String(value);
  if (value instanceof Date) return 'Invalid Date';
  return Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}
