/**
 * Resolves `true` once `promise` settles, or `false` after `ms` — whichever comes first.
 * The timer is cleared either way, so no stray timer outlives the wait.
 */
export function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    const done = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    promise.then(done, done);
  });
}
