/** Reads of the cached time allowed before `Date.now()` is read again. */
const MAX_READS = 1_000;

/**
 * The default clock: `Date.now()` read at most once per millisecond, the way lru-cache's
 * `ttlResolution` works. On virtualised hosts (kvm-clock) a `Date.now()` costs ~200 ns,
 * more than the rest of an L1 hit; the cached value makes the L1-hit path cheap.
 *
 * The cached value expires after 1 ms (an unref'd timer, so it never keeps the process
 * alive) or after {@link MAX_READS} reads, whichever comes first: a long run of microtasks
 * (no timer can fire) still sees time advance. Pass `clock: Date.now` for an exact clock.
 *
 * @internal
 */
export class CoarseClock {
  private cached = 0;
  private reads = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  /** Bound, so it can be used as a plain `() => number`. */
  readonly now = (): number => {
    if (--this.reads > 0) return this.cached;
    this.cached = Date.now();
    this.reads = MAX_READS;
    if (this.timer === undefined) {
      this.timer = setTimeout(this.expire, 1);
      this.timer.unref?.();
    }
    return this.cached;
  };

  private readonly expire = (): void => {
    this.reads = 0;
    this.timer = undefined;
  };

  /** Clears the pending timer (on `close()`). */
  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.expire();
  }
}
