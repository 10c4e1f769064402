/**
 * One part of a hierarchical key. A number is formatted with `String(n)` (so `1` and `'1'`
 * are the same segment); it must be finite.
 */
export type KeySegment = string | number;
