import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

/**
 * How many runs a property gets: `base` in CI, more when `FUZZ_RUNS` is set for a longer local
 * run. `FUZZ_RUNS=10x` multiplies every property's base count by 10; `FUZZ_RUNS=5000` runs every
 * property 5000 times. Anything else (unset, empty, not a positive number) keeps `base`.
 *
 * @example
 * fc.assert(fc.property(arb, check), { numRuns: fuzzRuns(500) });
 * // FUZZ_RUNS=10x pnpm vitest run --project unit packages/keys/src/keys.fuzz.test.ts
 */
export function fuzzRuns(base: number, env: string | undefined = process.env.FUZZ_RUNS): number {
  const raw = env?.trim() ?? '';
  const multiplier = /^(\d+(?:\.\d+)?)x$/i.exec(raw);
  if (multiplier) {
    const factor = Number(multiplier[1]);
    return factor > 0 ? Math.max(1, Math.round(base * factor)) : base;
  }
  const absolute = Number(raw);
  return raw !== '' && Number.isSafeInteger(absolute) && absolute > 0 ? absolute : base;
}

/**
 * A test timeout that grows with `FUZZ_RUNS` as the run counts do, so a longer local run is
 * not cut short by the CI timeout: `base` ms, times the `FUZZ_RUNS` factor when it is above 1.
 * Call `vi.setConfig({ testTimeout: fuzzTimeout(15_000) })` at the top of a fuzz file.
 */
export function fuzzTimeout(base: number, env: string | undefined = process.env.FUZZ_RUNS): number {
  return Math.round(base * Math.max(1, fuzzRuns(1000, env) / 1000));
}

/**
 * Values a caller might pass by mistake for an option or an argument: everything
 * `fc.anything()` builds (null-prototype objects, boxed values, Maps, Sets, typed arrays,
 * BigInts, Dates, sparse arrays included), the numbers that break range checks (NaN, ±Infinity,
 * -0, fractions, negatives, 2^31, 2^32, 2^53, Number.MAX_VALUE…), strings, functions and symbols.
 * Filter it with the field's own "is valid" predicate to get the wrong values only.
 */
export const oddValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.anything({
    withBigInt: true,
    withBoxedValues: true,
    withDate: true,
    withMap: true,
    withSet: true,
    withNullPrototype: true,
    withObjectString: true,
    withSparseArray: true,
    withTypedArray: true,
    maxDepth: 2,
  }),
  fc.constantFrom(
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    -0,
    0,
    -1,
    0.5,
    1.5,
    2 ** 31,
    2 ** 32,
    2 ** 53,
    1e300,
    Number.MAX_VALUE,
    Number.MIN_VALUE,
    Number.MAX_SAFE_INTEGER,
    -Number.MAX_SAFE_INTEGER,
  ),
  fc.double(),
  fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
  fc.string(),
  fc.constantFrom<unknown>(
    '',
    '1',
    'true',
    true,
    false,
    null,
    [],
    {},
    () => 1,
    Symbol('odd'),
    10n,
    new Date(Number.NaN),
    Object.create(null),
  ),
);

/** An error class of the package under test (`InvalidOptionsError` and friends). */
type ErrorClass = abstract new (...args: never[]) => Error;

/** Sets `path` (`'retry.baseDelay'`) to `value` in a copy of `base`, creating objects on the way. */
export function withField(
  base: Readonly<Record<string, unknown>>,
  path: string,
  value: unknown,
): Record<string, unknown> {
  const [head, ...rest] = path.split('.') as [string, ...string[]];
  if (rest.length === 0) return { ...base, [head]: value };
  const inner = base[head];
  const innerBase =
    typeof inner === 'object' && inner !== null ? (inner as Record<string, unknown>) : {};
  return { ...base, [head]: withField(innerBase, rest.join('.'), value) };
}

/** What {@link optionRejection} found: the thrown error, or what went wrong instead. */
export type Rejection = { ok: true } | { ok: false; reason: string };

/**
 * Runs `build(options)` and checks that it throws an instance of `errorClass` whose `code` is
 * `code` and whose message names `field` (its first segment at least). Returns why not, so a
 * property can report the offending value; never lets a foreign error (a TypeError from the
 * validation code itself, say) escape unreported.
 */
export function optionRejection(
  build: () => unknown,
  errorClass: ErrorClass,
  code: string,
  field: string,
): Rejection {
  let thrown: unknown;
  try {
    build();
  } catch (error) {
    thrown = error;
  }
  if (thrown === undefined) return { ok: false, reason: 'accepted (no error thrown)' };
  if (!(thrown instanceof errorClass)) {
    const name = thrown instanceof Error ? `${thrown.name}: ${thrown.message}` : String(thrown);
    return { ok: false, reason: `threw ${name}, not ${errorClass.name}` };
  }
  if ((thrown as { code?: unknown }).code !== code) {
    return { ok: false, reason: `code ${String((thrown as { code?: unknown }).code)}` };
  }
  const top = field.split('.')[0]!;
  if (!thrown.message.includes(top)) {
    return { ok: false, reason: `message does not name "${top}": ${thrown.message}` };
  }
  return { ok: true };
}

/** What {@link fuzzOptions} needs to know about one factory. */
export interface OptionsFuzzTarget {
  /** Calls the factory (or constructor) with an options object. */
  readonly build: (options: Record<string, unknown>) => unknown;
  /** Valid options the fuzzed field is added to (a client, say). @default {} */
  readonly base?: Readonly<Record<string, unknown>>;
  /**
   * Every field (`'retry.baseDelay'` for a nested one) and whether a value is acceptable for
   * it, as documented; `undefined` usually is (the default).
   */
  readonly fields: Readonly<Record<string, (value: unknown) => boolean>>;
  /** The package's invalid-options error class. */
  readonly error: ErrorClass;
  /** @default 'E_INVALID_OPTIONS' */
  readonly code?: string;
  /** Base run count per field, scaled by `FUZZ_RUNS`. @default 150 */
  readonly runs?: number;
}

/**
 * Registers one `it` per field (and one for unknown fields) checking that every wrong type or
 * out-of-range value ({@link oddValue} filtered by the field's predicate) makes the factory
 * throw `error` with `code` and a message naming the field.
 */
export function fuzzOptions(name: string, target: OptionsFuzzTarget): void {
  const base = target.base ?? {};
  const code = target.code ?? 'E_INVALID_OPTIONS';
  const numRuns = fuzzRuns(target.runs ?? 150);
  describe(`${name} options (fuzz)`, { timeout: fuzzTimeout(15_000) }, () => {
    it.each(Object.keys(target.fields))(
      '%s: every wrong type or out-of-range value throws a typed error naming it',
      (field) => {
        const valid = target.fields[field]!;
        fc.assert(
          fc.property(
            oddValue.filter((v) => !valid(v)),
            (value) => {
              const result = optionRejection(
                () => target.build(withField(base, field, value)),
                target.error,
                code,
                field,
              );
              expect(result).toEqual({ ok: true });
            },
          ),
          { numRuns },
        );
      },
    );

    it('an unknown option is rejected by name', () => {
      fc.assert(
        fc.property(
          fc
            .stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,15}$/)
            .filter((k) => !(k in target.fields) && !(k in base)),
          oddValue,
          (key, value) => {
            const result = optionRejection(
              () => target.build({ ...base, [key]: value }),
              target.error,
              code,
              key,
            );
            expect(result).toEqual({ ok: true });
          },
        ),
        { numRuns },
      );
    });
  });
}
