import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AsyncTier, MapTier, MemoryBusHub, setup, starMatcher } from './test-support/index.js';

// An invalidation that arrives while an L2 read is on its way back must keep the value it
// read out of L1: the read may have been answered before the write it announces, and the
// message is the only one this instance will get. (Seen in the chaos suite: a `getMany`
// answered by a Redis resuming from SIGSTOP refilled L1 with the name an agent had before a
// rename whose message had just been applied; that instance served it until the L1 TTL.)

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

const L2_DELAY_MS = 10;

/** Instance b, whose L2 answers after L2_DELAY_MS, with t:1 and t:2 written there by another. */
async function instance() {
  const hub = new MemoryBusHub();
  const inner = new MapTier('l2');
  const writer = setup({ l1: null, l2: inner });
  await writer.cache.set('t:1', 'old');
  await writer.cache.set('t:2', 'old');
  const b = setup({
    l2: new AsyncTier(inner, L2_DELAY_MS),
    bus: hub.connect(),
    matchPattern: starMatcher,
  });
  const bus = hub.buses[0]!;
  return { b, deliver: (m: Parameters<typeof bus.deliver>[0]) => bus.deliver(m) };
}

const messages = [
  ['a keys message', { type: 'keys', keys: ['t:1'] }],
  ['a clear message', { type: 'clear' }],
  ['a pattern message', { type: 'pattern', pattern: 't:*' }],
] as const;

describe.each(messages)('%s during an L2 read', (_name, message) => {
  it('get: the value read is returned but not kept in L1', async () => {
    const { b, deliver } = await instance();
    const read = b.cache.get('t:1', () => 'loaded');
    await vi.advanceTimersByTimeAsync(L2_DELAY_MS / 2);

    deliver(message);
    await vi.advanceTimersByTimeAsync(L2_DELAY_MS);

    expect(await read).toBe('old');
    expect(b.l1.peek('t:1')).toBeUndefined();
  });

  it('getMany: the values read are returned but the invalidated ones are not kept in L1', async () => {
    const { b, deliver } = await instance();
    const read = b.cache.getMany(['t:1', 't:2'], (keys) => new Map(keys.map((k) => [k, 'loaded'])));
    await vi.advanceTimersByTimeAsync(L2_DELAY_MS / 2);

    deliver(message);
    await vi.advanceTimersByTimeAsync(L2_DELAY_MS);

    expect(Object.fromEntries(await read)).toEqual({ 't:1': 'old', 't:2': 'old' });
    expect(b.l1.peek('t:1')).toBeUndefined();
    // A keys message names only t:1: t:2 was not invalidated and may be kept.
    if (message.type !== 'keys') expect(b.l1.peek('t:2')).toBeUndefined();
    else expect(b.l1.peek('t:2')).toBeDefined();
  });
});

describe('without an invalidation during the read', () => {
  it('getMany keeps what L2 answered in L1 (the control)', async () => {
    const { b } = await instance();
    const read = b.cache.getMany(['t:1', 't:2'], (keys) => new Map(keys.map((k) => [k, 'loaded'])));
    await vi.advanceTimersByTimeAsync(L2_DELAY_MS * 2);

    expect((await read).get('t:1')).toBe('old');
    expect(b.l1.peek('t:1')).toBeDefined();
    expect(b.l1.peek('t:2')).toBeDefined();
  });

  it('a local delete during a getMany keeps the value it read out of L1 too', async () => {
    const { b } = await instance();
    const read = b.cache.getMany(['t:1'], (keys) => new Map(keys.map((k) => [k, 'loaded'])));
    await vi.advanceTimersByTimeAsync(L2_DELAY_MS / 2);

    const deleted = b.cache.delete('t:1');
    await vi.advanceTimersByTimeAsync(L2_DELAY_MS * 2);
    await deleted;

    expect((await read).get('t:1')).toBe('old');
    expect(b.l1.peek('t:1')).toBeUndefined();
  });
});
