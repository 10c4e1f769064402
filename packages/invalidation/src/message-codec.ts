import type { InvalidationMessage } from './types.js';

/**
 * The wire form of a bus message: compact JSON with the sender's instance id, so an
 * instance can ignore its own messages. Keys, tags and patterns only, never values.
 *
 * `{"i":"<instance>","t":"k","k":["user:1"]}` keys · `{"i":…,"t":"g","g":["a"],"n":[5]}` tags
 * with their new versions · `{"i":…,"t":"p","p":"t:acme:*"}` pattern · `{"i":…,"t":"c"}` clear.
 */
export function encodeMessage(instanceId: string, message: InvalidationMessage): string {
  switch (message.type) {
    case 'keys':
      return JSON.stringify({ i: instanceId, t: 'k', k: message.keys });
    case 'tags':
      return JSON.stringify({ i: instanceId, t: 'g', g: message.tags, n: message.versions });
    case 'pattern':
      return JSON.stringify({ i: instanceId, t: 'p', p: message.pattern });
    case 'clear':
      return JSON.stringify({ i: instanceId, t: 'c' });
  }
}

/** A decoded wire message: who sent it, and what (or `undefined` when unreadable). */
export interface Decoded {
  readonly from: string | undefined;
  readonly message: InvalidationMessage | undefined;
}

const isStrings = (v: unknown): v is string[] =>
  Array.isArray(v) && v.every((x) => typeof x === 'string');

/** Parses a wire message; never throws (an unreadable one has `message: undefined`). */
export function decodeMessage(raw: string): Decoded {
  let o: { i?: unknown; t?: unknown; k?: unknown; g?: unknown; n?: unknown; p?: unknown };
  try {
    o = JSON.parse(raw) as typeof o;
  } catch {
    return { from: undefined, message: undefined };
  }
  if (typeof o !== 'object' || o === null) return { from: undefined, message: undefined };
  const from = typeof o.i === 'string' ? o.i : undefined;
  let message: InvalidationMessage | undefined;
  if (o.t === 'k' && isStrings(o.k)) {
    message = { type: 'keys', keys: o.k };
  } else if (
    o.t === 'g' &&
    isStrings(o.g) &&
    Array.isArray(o.n) &&
    o.n.length === o.g.length &&
    o.n.every((v) => typeof v === 'number' && Number.isFinite(v))
  ) {
    message = { type: 'tags', tags: o.g, versions: o.n as number[] };
  } else if (o.t === 'p' && typeof o.p === 'string' && o.p !== '') {
    message = { type: 'pattern', pattern: o.p };
  } else if (o.t === 'c') {
    message = { type: 'clear' };
  }
  return { from, message };
}
