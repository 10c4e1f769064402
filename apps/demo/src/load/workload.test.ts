import { describe, expect, it } from 'vitest';
import { createWorkload } from './workload.js';

const ids = {
  agents: Array.from({ length: 100 }, (_, i) => `a${i}`),
  pendingTasks: ['t1', 't2'],
  sessions: ['s1'],
};

/** A deterministic [0, 1) sequence. */
function lcg(seed = 42): () => number {
  let x = seed;
  return () => {
    x = (x * 1_103_515_245 + 12_345) % 2 ** 31;
    return x / 2 ** 31;
  };
}

describe('createWorkload', () => {
  it('sends 90 % reads, 5 % unknown ids and 5 % writes', () => {
    const w = createWorkload(ids, { random: lcg() });
    const n = 20_000;
    let writes = 0;
    let unknown = 0;
    for (let i = 0; i < n; i++) {
      const req = w.next();
      if (req.method === 'POST') writes++;
      else if (/^\/api\/agents\/[0-9a-f-]{36}$/.test(req.path ?? '')) unknown++;
    }
    expect(Math.abs(writes / n - 0.05)).toBeLessThan(0.01);
    expect(Math.abs(unknown / n - 0.05)).toBeLessThan(0.01);
  });

  it('favours the first agents: a hot head, as real traffic has', () => {
    const w = createWorkload(ids, { random: lcg(7), only: 'reads' });
    let head = 0;
    let agentReads = 0;
    for (let i = 0; i < 10_000; i++) {
      const m = /\/api\/agents\/a(\d+)$/.exec(w.next().path ?? '');
      if (m === null) continue;
      agentReads++;
      if (Number(m[1]) < 10) head++;
    }
    // 10 % of the agents take about 46 % of the picks (density ~ x^(-2/3)).
    expect(head / agentReads).toBeGreaterThan(0.4);
  });

  it('splits reads from writes and adds headers to every request', () => {
    const reads = createWorkload(ids, { only: 'reads', headers: { 'x-cache-bypass': '1' } });
    const writes = createWorkload(ids, { only: 'writes' });
    for (let i = 0; i < 500; i++) {
      const r = reads.next();
      expect(r.method).toBe('GET');
      expect(r.headers).toMatchObject({ 'x-cache-bypass': '1' });
      const w = writes.next();
      expect(w.method).toBe('POST');
    }
  });

  it('leaves sessions out when there are none', () => {
    const w = createWorkload({ ...ids, sessions: [] });
    expect(w.operations.map((o) => o.name)).not.toContain('GET session');
  });
});
