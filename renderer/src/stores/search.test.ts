import { describe, expect, it } from 'vitest';
import { waitFor } from '@testing-library/react';
import { installSignedInBridge, registerRendererCleanup } from '../test/harness.js';
import { useSearchStore } from './search.js';

registerRendererCleanup();

describe('search store', () => {
  it('sends one request for a burst of typing and shows its answer', async () => {
    const bridge = installSignedInBridge();
    const { setQuery } = useSearchStore.getState();
    setQuery('ヤ');
    setQuery('ヤマ');
    setQuery('ヤマダ');
    await waitFor(() => expect(useSearchStore.getState().phase).toBe('done'));
    expect(bridge.callsTo('customers:search')).toEqual([{ query: 'ヤマダ', limit: 30 }]);
    expect(useSearchStore.getState().results.map((c) => c.code)).toEqual(['C-000101']);
    expect(useSearchStore.getState().answeredQuery).toBe('ヤマダ');
  });

  it('ignores an answer that arrives after the answer to a newer query', async () => {
    const bridge = installSignedInBridge();
    bridge.hold('customers:search');
    const { setQuery } = useSearchStore.getState();

    setQuery('山');
    await waitFor(() => expect(bridge.heldCalls('customers:search')).toHaveLength(1));
    setQuery('山田');
    await waitFor(() => expect(bridge.heldCalls('customers:search')).toHaveLength(2));

    const [first, second] = bridge.heldCalls('customers:search');
    second?.release();
    await waitFor(() => expect(useSearchStore.getState().answeredQuery).toBe('山田'));
    expect(useSearchStore.getState().results.map((c) => c.code)).toEqual(['C-000101']);

    first?.release();
    // The stale answer ('山' matches two customers) must not replace the newer one. Wait for a
    // later event that proves the stale promise has settled: a third query answered after it.
    setQuery('山田 ');
    await waitFor(() => expect(bridge.heldCalls('customers:search')).toHaveLength(3));
    expect(useSearchStore.getState().answeredQuery).toBe('山田');
    expect(useSearchStore.getState().results.map((c) => c.code)).toEqual(['C-000101']);
  });

  it('clears the results at once when the box is emptied', async () => {
    installSignedInBridge();
    useSearchStore.getState().setQuery('Smith');
    await waitFor(() => expect(useSearchStore.getState().results).toHaveLength(1));
    useSearchStore.getState().setQuery('  ');
    expect(useSearchStore.getState()).toMatchObject({ results: [], phase: 'idle', activeIndex: -1 });
  });

  it('moves the highlight through the results and wraps around', async () => {
    installSignedInBridge();
    useSearchStore.getState().setQuery('ヤマ');
    await waitFor(() => expect(useSearchStore.getState().results).toHaveLength(2));
    const { moveActive } = useSearchStore.getState();
    moveActive(1);
    expect(useSearchStore.getState().activeIndex).toBe(0);
    moveActive(1);
    expect(useSearchStore.getState().activeIndex).toBe(1);
    moveActive(1);
    expect(useSearchStore.getState().activeIndex).toBe(0);
    moveActive(-1);
    expect(useSearchStore.getState().activeIndex).toBe(1);
  });
});
