/** The state of a {@link CircuitBreaker}. */
export type CircuitState = 'closed' | 'open' | 'half-open';

/** {@link CircuitBreaker.admit} answer: the call must not touch Redis. */
export const REJECT = 0;
/** {@link CircuitBreaker.admit} answer: a normal call (circuit closed). */
export const ADMIT = 1;
/** {@link CircuitBreaker.admit} answer: this call is the single half-open probe. */
export const PROBE = 2;
/** What {@link CircuitBreaker.admit} answers. */
export type Admission = typeof REJECT | typeof ADMIT | typeof PROBE;

/** Settings of a {@link CircuitBreaker}; the tier validates them before construction. */
export interface CircuitBreakerSettings {
  /** Consecutive failures (closed state) that open the circuit. */
  readonly failureThreshold: number;
  /** Milliseconds the circuit stays open before one probe is let through. */
  readonly resetTimeout: number;
  /** Current time in milliseconds. */
  readonly clock: () => number;
  /** Called after every state change. */
  readonly onStateChange: (state: CircuitState, previous: CircuitState) => void;
}

/**
 * A small consecutive-failure circuit breaker, driven by the callers: it owns no timer, so
 * an idle tier keeps nothing alive and tests drive it with a fake clock.
 *
 * closed → (failureThreshold consecutive failures) → open → (resetTimeout elapsed, next
 * call) → half-open: that call is the probe, every other call is rejected → probe succeeds
 * → closed; probe fails → open again for another resetTimeout.
 *
 * Every admitted call must report exactly once through {@link success} or {@link failure}
 * with the `probe` flag it was admitted with.
 */
export class CircuitBreaker {
  #state: CircuitState = 'closed';
  #failures = 0;
  // When the circuit opened, or when the current half-open probe started.
  #since = 0;
  readonly #settings: CircuitBreakerSettings;

  constructor(settings: CircuitBreakerSettings) {
    this.#settings = settings;
  }

  /** The current state. `open` stays `open` until a call arrives after `resetTimeout`. */
  get state(): CircuitState {
    return this.#state;
  }

  /** Consecutive failures counted while closed. */
  get failures(): number {
    return this.#failures;
  }

  /** Decides whether a call may go to Redis; see {@link REJECT}, {@link ADMIT}, {@link PROBE}. */
  admit(): Admission {
    if (this.#state === 'closed') return ADMIT;
    const now = this.#settings.clock();
    // In half-open a probe is in flight. Its outcome always arrives (every call has a
    // timeout), but if it somehow went missing, a new probe after resetTimeout un-sticks it.
    if (now - this.#since < this.#settings.resetTimeout) return REJECT;
    this.#since = now;
    if (this.#state === 'open') this.#transition('half-open');
    return PROBE;
  }

  /** Redis answered. */
  success(probe: boolean): void {
    if (this.#state === 'closed') {
      this.#failures = 0;
    } else if (probe && this.#state === 'half-open') {
      this.#failures = 0;
      this.#transition('closed');
    }
  }

  /** Redis did not answer (connection error or timeout). */
  failure(probe: boolean): void {
    if (this.#state === 'closed') {
      this.#failures += 1;
      if (this.#failures >= this.#settings.failureThreshold) this.#open();
    } else if (probe && this.#state === 'half-open') {
      this.#open();
    }
  }

  /**
   * The half-open probe never reached Redis (its value failed to serialize): the next call
   * may probe at once instead of waiting for the probe's outcome.
   */
  abandon(): void {
    if (this.#state === 'half-open') this.#since = Number.NEGATIVE_INFINITY;
  }

  #open(): void {
    this.#since = this.#settings.clock();
    this.#transition('open');
  }

  #transition(state: CircuitState): void {
    const previous = this.#state;
    this.#state = state;
    this.#settings.onStateChange(state, previous);
  }
}
