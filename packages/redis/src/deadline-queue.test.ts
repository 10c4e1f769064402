import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type Deadline, DeadlineQueue } from './deadline-queue.js';

class Entry implements Deadline {
  deadline = 0;
  next: Deadline | undefined;
  settled = false;
  expired = 0;
  constructor(private readonly onExpire?: () => void) {}
  expire(): void {
    this.expired += 1;
    this.onExpire?.();
  }
  settle(queue: DeadlineQueue): void {
    this.settled = true;
    queue.prune();
  }
}

describe('DeadlineQueue', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('expires an entry that is not settled within the timeout', () => {
    const queue = new DeadlineQueue(250, Date.now);
    const entry = new Entry();
    queue.add(entry);
    vi.advanceTimersByTime(249);
    expect(entry.expired).toBe(0);
    vi.advanceTimersByTime(1);
    expect(entry.expired).toBe(1);
    expect(entry.settled).toBe(true);
  });

  it('never expires an entry settled in time', () => {
    const queue = new DeadlineQueue(250, Date.now);
    const entry = new Entry();
    queue.add(entry);
    vi.advanceTimersByTime(100);
    entry.settle(queue);
    vi.advanceTimersByTime(1_000);
    expect(entry.expired).toBe(0);
  });

  it('expires each entry at its own deadline with a single timer', () => {
    const queue = new DeadlineQueue(250, Date.now);
    const first = new Entry();
    const second = new Entry();
    queue.add(first);
    vi.advanceTimersByTime(100);
    queue.add(second);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(150);
    expect([first.expired, second.expired]).toEqual([1, 0]);
    vi.advanceTimersByTime(99);
    expect(second.expired).toBe(0);
    vi.advanceTimersByTime(1);
    expect(second.expired).toBe(1);
  });

  it('drops settled entries from the head on prune', () => {
    const queue = new DeadlineQueue(250, Date.now);
    const entries = [new Entry(), new Entry(), new Entry()];
    for (const e of entries) queue.add(e);
    entries[1]?.settle(queue);
    expect(queue.size).toBe(3);
    entries[0]?.settle(queue);
    expect(queue.size).toBe(1);
  });

  it('keeps the right deadline for an entry added while another expires', () => {
    const queue = new DeadlineQueue(250, Date.now);
    const late = new Entry();
    const first = new Entry(() => queue.add(late));
    const second = new Entry();
    queue.add(first);
    vi.advanceTimersByTime(10);
    queue.add(second);
    vi.advanceTimersByTime(240);
    expect(first.expired).toBe(1);
    vi.advanceTimersByTime(10);
    expect(second.expired).toBe(1);
    vi.advanceTimersByTime(239);
    expect(late.expired).toBe(0);
    vi.advanceTimersByTime(1);
    expect(late.expired).toBe(1);
  });

  it('stops its timer once nothing is pending', () => {
    const queue = new DeadlineQueue(250, Date.now);
    const entry = new Entry();
    queue.add(entry);
    entry.settle(queue);
    vi.advanceTimersByTime(250);
    expect(vi.getTimerCount()).toBe(0);
  });
});
