/**
 * `promise`, or a rejection with `Error(message)` after `ms` (for clients with no timeout of
 * their own, such as the plain ioredis and pg calls). The timer does not keep the process
 * alive and is cleared once `promise` settles.
 */
export function within<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
