import { escapeGlob, escapeSegment, type KeySegment } from '@tiercache/keys';

/**
 * A Redis glob from a template: the literal parts are glob syntax you wrote, every
 * interpolated value is one key segment matched literally (encoded as `@tiercache/keys`
 * encodes segments, then glob-escaped), so user input cannot widen the pattern.
 *
 * @example
 * glob`tasks:agent:${agentId}:*` // agentId 'a*' → 'tasks:agent:a\\*:*'
 */
export function glob(strings: TemplateStringsArray, ...values: KeySegment[]): string {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) {
    out += escapeGlob(escapeSegment(values[i] as KeySegment)) + (strings[i + 1] ?? '');
  }
  return out;
}
