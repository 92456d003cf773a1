import { describe, expect, it } from 'vitest';
import type { ChangeFeed, ChangeListener } from './feed.js';
import { RightsPokes } from './rights-pokes.js';

/** A feed whose pokes the test sends, counting its subscribers. */
function fakeFeed() {
  const listeners = new Map<string, Set<ChangeListener>>();
  const feed: ChangeFeed = {
    start: async () => undefined,
    close: async () => undefined,
    subscribe(tenantId, listener) {
      const set = listeners.get(tenantId) ?? new Set();
      listeners.set(tenantId, set);
      set.add(listener);
      return () => set.delete(listener);
    },
  };
  return {
    feed,
    poke: (tenantId: string, seq: number, rightsOf?: string) => {
      for (const listener of listeners.get(tenantId) ?? []) listener(seq, rightsOf);
    },
    subscribers: (tenantId: string) => listeners.get(tenantId)?.size ?? 0,
  };
}

describe('rights pokes', () => {
  it("reaches only the streams of the user whose rights changed, in that user's tenant", () => {
    const { feed, poke } = fakeFeed();
    const pokes = new RightsPokes(feed);
    const got: string[] = [];
    pokes.subscribe('t1', 'alice', (seq) => got.push(`alice#1 ${seq}`));
    pokes.subscribe('t1', 'alice', (seq) => got.push(`alice#2 ${seq}`));
    pokes.subscribe('t1', 'bob', (seq) => got.push(`bob ${seq}`));
    pokes.subscribe('t2', 'alice', (seq) => got.push(`alice in t2 ${seq}`));
    poke('t1', 7);
    poke('t1', 8, 'alice');
    expect(got).toEqual(['alice#1 8', 'alice#2 8']);
  });

  it('holds one feed subscription per tenant, dropped with its last stream', () => {
    const { feed, poke, subscribers } = fakeFeed();
    const pokes = new RightsPokes(feed);
    const got: number[] = [];
    const first = pokes.subscribe('t1', 'alice', (seq) => got.push(seq));
    const second = pokes.subscribe('t1', 'bob', () => undefined);
    expect(subscribers('t1')).toBe(1);
    first();
    poke('t1', 3, 'alice');
    expect(got).toEqual([]);
    second();
    expect(subscribers('t1')).toBe(0);
    pokes.subscribe('t1', 'alice', (seq) => got.push(seq));
    poke('t1', 4, 'alice');
    expect(got).toEqual([4]);
  });
});
