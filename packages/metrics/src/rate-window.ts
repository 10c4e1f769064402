const SLOTS = 60;

/**
 * Event counts over the last minute, in 60 one-second slots (a ring indexed by the second):
 * no timer, constant memory, and one clock reading per {@link add}. Several counters share
 * the ring so that one clock reading serves them all.
 *
 * @internal
 */
export class RateWindow {
  readonly #kinds: number;
  readonly #seconds = new Float64Array(SLOTS).fill(Number.NEGATIVE_INFINITY);
  readonly #counts: Float64Array;

  constructor(kinds: number) {
    this.#kinds = kinds;
    this.#counts = new Float64Array(SLOTS * kinds);
  }

  /** Adds 1 to counter `kind` at time `now` (ms). */
  add(kind: number, now: number): void {
    this.#counts[this.#slot(now) + kind]!++;
  }

  /** Adds 1 to counters `a` and `b` at time `now` (ms). */
  add2(a: number, b: number, now: number): void {
    const base = this.#slot(now);
    this.#counts[base + a]!++;
    this.#counts[base + b]!++;
  }

  /** Events of counter `kind` in the 60 one-second slots ending with the one holding `now`. */
  sum(kind: number, now: number): number {
    const second = Math.floor(now / 1000);
    let total = 0;
    for (let slot = 0; slot < SLOTS; slot++) {
      const s = this.#seconds[slot] as number;
      if (s <= second && s > second - SLOTS)
        total += this.#counts[slot * this.#kinds + kind] as number;
    }
    return total;
  }

  /** Forgets every event. */
  reset(): void {
    this.#seconds.fill(Number.NEGATIVE_INFINITY);
    this.#counts.fill(0);
  }

  /** Offset of the slot for `now`, cleared first when it still holds an older second. */
  #slot(now: number): number {
    const second = Math.floor(now / 1000);
    const slot = ((second % SLOTS) + SLOTS) % SLOTS;
    const base = slot * this.#kinds;
    if (this.#seconds[slot] !== second) {
      // A clock that went backwards lands on a newer second's slot: overwrite it too, since
      // mixing the two seconds would count events in the wrong minute.
      this.#seconds[slot] = second;
      this.#counts.fill(0, base, base + this.#kinds);
    }
    return base;
  }
}
