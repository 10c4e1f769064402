/** A source of keys whose batches are released one by one by the test. */
export interface GatedSource {
  readonly source: AsyncIterable<string>;
  /** Lets batch `i` through. */
  release(i: number): void;
  /** Resolves once the consumer has asked for the item after batch `i` (it took all of it). */
  consumed(i: number): Promise<void>;
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Yields `batches` in order, each one only after `release(i)`. */
export function gatedSource(batches: readonly (readonly string[])[]): GatedSource {
  const gates = batches.map(deferred);
  const taken = batches.map(deferred);
  async function* source(): AsyncGenerator<string> {
    for (const [i, batch] of batches.entries()) {
      await gates[i]!.promise;
      yield* batch;
      taken[i]!.resolve();
    }
  }
  return {
    source: source(),
    release: (i) => gates[i]!.resolve(),
    consumed: (i) => taken[i]!.promise,
  };
}
