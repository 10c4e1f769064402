/** How long a `Date.now()` reading is reused, at most. */
const RESOLUTION_MS = 100;
/** Reads of the cached time allowed before `Date.now()` is read again. */
const MAX_READS = 10_000;

/**
 * The default clock of {@link CacheMetrics}: `Date.now()` reused for up to 100 ms. Counting a
 * hit must cost far less than the hit, and on virtualised hosts one `Date.now()` costs about
 * 100 ns, more than an L1 hit; one-second rate slots do not need better. The reading expires on
 * an unref'd timer (never keeping the process alive) or after {@link MAX_READS} reads, so a long
 * synchronous run still sees time advance.
 *
 * @internal
 */
export function coarseClock(): () => number {
  let cached = 0;
  let reads = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expire = (): void => {
    reads = 0;
    timer = undefined;
  };
  return () => {
    if (--reads > 0) return cached;
    cached = Date.now();
    reads = MAX_READS;
    if (timer === undefined) {
      timer = setTimeout(expire, RESOLUTION_MS);
      timer.unref?.();
    }
    return cached;
  };
}
