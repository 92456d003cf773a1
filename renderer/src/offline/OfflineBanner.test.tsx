import { act, fireEvent, render, screen } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { App } from '../App.js';
import { useUiStore } from '../stores/ui.js';
import { installSignedInBridge, registerRendererCleanup } from '../test/harness.js';
import { BACK_ONLINE_NOTICE_MS } from './OfflineBanner.js';

registerRendererCleanup();

async function openWorkspace() {
  const bridge = installSignedInBridge();
  render(<App />);
  await screen.findByRole('combobox', { name: 'Search customers' });
  return bridge;
}

const confirmedBreak = { status: 'break' as const, changedAt: '2024-05-02T00:00:00Z', error: null };

describe('offline banner (issue 8 item 2)', () => {
  it('says what works offline and the phone state, then what was sent when back online, and clears itself', async () => {
    const bridge = await openWorkspace();
    expect(screen.queryByTestId('offline-banner')).toBeNull();

    act(() => bridge.setStatus({ online: false, phase: 'offline' }));
    const banner = screen.getByTestId('offline-banner');
    expect(banner.getAttribute('role')).toBe('alert');
    expect(banner.textContent).toContain('Offline: the server cannot be reached.');
    expect(banner.textContent).toContain('search, customer records, notes and mail drafts');
    expect(banner.textContent).toContain('reply approval and sending, mail offering');
    expect(screen.getByTestId('offline-banner-phone').textContent).toMatch(/^Phone /);

    // The push that ends an outage is answered before the status says online; the status
    // change goes just after.
    act(() =>
      bridge.emit('outbox:delivered', {
        entries: [
          { clientId: 'n1', type: 'add_note', outcome: 'sent', error: null },
          { clientId: 'n2', type: 'log_call', outcome: 'sent', error: null },
          { clientId: 'n3', type: 'add_note', outcome: 'rejected', error: 'incident is closed' },
        ],
      }),
    );
    act(() => bridge.emit('agent:status', { ...confirmedBreak, confirmed: false }));
    vi.useFakeTimers();
    try {
      act(() => bridge.setStatus({ online: true, phase: 'idle' }));
      act(() => bridge.emit('agent:status', { ...confirmedBreak, confirmed: true }));
      expect(screen.queryByTestId('offline-banner')).toBeNull();
      expect(screen.getByTestId('back-online').textContent).toContain('Back online: 2 notes and 1 status change sent.');
      act(() => vi.advanceTimersByTime(BACK_ONLINE_NOTICE_MS));
      expect(screen.queryByTestId('back-online')).toBeNull();
    } finally {
      vi.useRealTimers();
    }
  });

  it('counts nothing that was sent while online, and speaks Japanese', async () => {
    const bridge = await openWorkspace();
    act(() => bridge.emit('outbox:delivered', { entries: [{ clientId: 'n0', type: 'add_note', outcome: 'sent', error: null }] }));
    act(() => useUiStore.getState().setLanguage('ja'));
    act(() => bridge.setStatus({ online: false, phase: 'offline' }));
    expect(screen.getByTestId('offline-banner').textContent).toContain('オフライン: サーバーに接続できません。');
    act(() => bridge.setStatus({ online: true, phase: 'idle' }));
    expect(screen.getByTestId('back-online').textContent).toContain('オンラインに戻りました: 送信待ちはありませんでした。');
    fireEvent.click(screen.getByRole('button', { name: '閉じる' }));
    expect(screen.queryByTestId('back-online')).toBeNull();
  });
});
