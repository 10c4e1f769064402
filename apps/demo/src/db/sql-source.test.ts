// A guard beside the injection tests: no query text of the demo is built from a value. The
// only `${…}` allowed inside SQL are the module's own constants (column lists, a weight, a
// shared SELECT); every value travels as a `$n` parameter.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const FILES = ['repository.ts', 'migrations.ts', 'seed.ts'];
/** Constants of repository.ts, defined once from literals. */
const ALLOWED = new Set(['AGENT_COLUMNS', 'TASK_COLUMNS', 'VOTE_WEIGHT', 'scoresSql']);
/** seed.ts's SQL-fragment helpers, called with literal SQL only (a column, `$3::int`). */
const HELPER_CALL =
  /^(agentIdSql|skewedAgent)\((?:'[^'$]*'|'\$\d+::int'|skewedAgent\('\$\d+::int'\))\)$/;
const SQL_WORDS = /\b(SELECT|INSERT|UPDATE|DELETE|FROM|WHERE|VALUES|CREATE|ALTER|DROP)\b/;

/** Every template literal in `source` (no nesting in these files). */
function templates(source: string): string[] {
  return [...source.matchAll(/`(?:[^`\\]|\\.)*`/gs)].map((m) => m[0]);
}

describe('the demo SQL', () => {
  for (const file of FILES) {
    it(`${file}: interpolates only known constants into SQL text`, () => {
      const source = readFileSync(fileURLToPath(new URL(`./${file}`, import.meta.url)), 'utf8');
      const sql = templates(source).filter((t) => SQL_WORDS.test(t));
      expect(sql.length).toBeGreaterThan(0);
      for (const text of sql) {
        for (const [, raw] of text.matchAll(/\$\{((?:[^{}]|\{[^}]*\})*)\}/g)) {
          const expression = raw?.trim() ?? '';
          const ok = ALLOWED.has(expression) || HELPER_CALL.test(expression);
          expect(ok, `${file}: \${${expression}} in ${text.slice(0, 80)}`).toBe(true);
        }
      }
    });
  }

  it('the allowed constants are literals, not built from input', () => {
    const source = readFileSync(fileURLToPath(new URL('./repository.ts', import.meta.url)), 'utf8');
    expect(source).toMatch(/const AGENT_COLUMNS = '[a-z_, ]+';/);
    expect(source).toMatch(/const TASK_COLUMNS = '[a-z_, ]+';/);
    expect(source).toMatch(/export const VOTE_WEIGHT = \d+;/);
  });

  it('catches an interpolated value (the check can fail)', () => {
    const bad = ['const q = `SELECT * FROM agents WHERE name = $', '{name}`;'].join('');
    const [text] = templates(bad);
    const expressions = [...(text ?? '').matchAll(/\$\{([^}]*)\}/g)].map((m) => m[1]);
    expect(expressions.filter((e) => !ALLOWED.has(e ?? ''))).toEqual(['name']);
  });
});
