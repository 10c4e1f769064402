/** An in-flight operation tracked by a {@link DeadlineQueue}. */
export interface Deadline {
  /** Set by {@link DeadlineQueue.add}. */
  deadline: number;
  /** Intrusive list link, owned by the queue. */
  next: Deadline | undefined;
  /** Set to `true` by whoever settles the operation first (its reply, or the queue). */
  settled: boolean;
  /** Called by the queue, after it set `settled`, when the deadline passed first. */
  expire(): void;
}

/**
 * Per-command timeouts with one timer for the whole tier instead of a `setTimeout` and
 * `clearTimeout` per command. Every entry gets the same timeout, so deadlines are added in
 * increasing order and the queue is a plain FIFO list: the timer only ever looks at the head.
 * Settled entries are dropped lazily (from the head by {@link prune}, or when the timer
 * fires), so a reply costs a flag write, not a list removal.
 */
export class DeadlineQueue {
  readonly #timeout: number;
  readonly #now: () => number;
  #head: Deadline | undefined;
  #tail: Deadline | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #firing = false;

  constructor(timeout: number, now: () => number = () => performance.now()) {
    this.#timeout = timeout;
    this.#now = now;
  }

  /** Starts the clock for `entry`; it expires `timeout` ms from now unless settled first. */
  add(entry: Deadline): void {
    entry.deadline = this.#now() + this.#timeout;
    entry.next = undefined;
    if (this.#tail === undefined) {
      this.#head = entry;
    } else {
      this.#tail.next = entry;
    }
    this.#tail = entry;
    // While firing, the timer is re-armed once at the end for whatever is then the head.
    if (this.#timer === undefined && !this.#firing) this.#arm(this.#timeout);
  }

  /** Drops settled entries from the head so they can be garbage-collected early. */
  prune(): void {
    let head = this.#head;
    while (head?.settled) head = head.next;
    this.#head = head;
    if (head === undefined) this.#tail = undefined;
  }

  /** Number of entries still linked (settled ones included until pruned); for tests. */
  get size(): number {
    let n = 0;
    for (let e = this.#head; e !== undefined; e = e.next) n += 1;
    return n;
  }

  #arm(delay: number): void {
    this.#timer = setTimeout(this.#fire, Math.max(1, Math.ceil(delay)));
    // Only in-flight commands need the timer, and their sockets keep the process alive.
    this.#timer.unref?.();
  }

  readonly #fire = (): void => {
    this.#timer = undefined;
    this.#firing = true;
    const now = this.#now();
    let head = this.#head;
    while (head !== undefined) {
      if (!head.settled) {
        if (head.deadline > now) break;
        head.settled = true;
        // Unlink before calling out: expire() may add new entries synchronously.
        this.#head = head.next;
        if (this.#head === undefined) this.#tail = undefined;
        head.expire();
        head = this.#head;
        continue;
      }
      head = head.next;
      this.#head = head;
      if (head === undefined) this.#tail = undefined;
    }
    this.#firing = false;
    const first = this.#head;
    if (first !== undefined) this.#arm(first.deadline - now);
  };
}
