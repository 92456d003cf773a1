import { act, render, screen, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import type { CachedContact } from '../../../shared/ipc.js';
import { webActivitySummary, type WebActivityBody } from '../../../shared/portal.js';
import '../i18n/index.js';
import { useUiStore } from '../stores/ui.js';
import { registerRendererCleanup } from '../test/harness.js';
import { formatAgo, RecentWebActivity, RECENT_WEB_ACTIONS } from './web-activity.js';

registerRendererCleanup();

const NOW = Date.parse('2026-12-06T12:00:00Z');

function webContact(index: number, body: WebActivityBody, minutesAgo: number): CachedContact {
  return {
    id: `00000000-0000-4000-8000-${String(index).padStart(12, '0')}`,
    incidentId: '10000000-0000-4000-8000-000000000001',
    customerId: '20000000-0000-4000-8000-000000000001',
    kind: 'web',
    direction: 'inbound',
    occurredAt: new Date(Date.now() - minutesAgo * 60_000).toISOString(),
    agentId: null,
    agentName: null,
    summary: webActivitySummary(body),
    body: JSON.stringify(body),
    callMeta: null,
    pending: false,
  };
}

describe('recent web activity', () => {
  it('says what the customer did on the web, newest first, in the operator’s language', () => {
    const page = { pageId: '30000000-0000-4000-8000-000000000001', title: '投資信託 A' };
    const contacts = [
      webContact(1, { webActivity: 'page_view', ...page }, 3),
      webContact(2, { webActivity: 'hotspot_click', ...page, target: 'fees', positionSeconds: 75 }, 1),
      webContact(3, { webActivity: 'order', ...page, quantity: 2 }, 0),
      ...Array.from({ length: 6 }, (_, index) => webContact(10 + index, { webActivity: 'page_view', ...page }, 60 + index)),
      { ...webContact(99, { webActivity: 'page_view', ...page }, 0), kind: 'note' as const, body: 'a note' },
    ];
    act(() => useUiStore.getState().setLanguage('en'));
    render(<RecentWebActivity contacts={contacts} />);
    const items = within(screen.getByTestId('web-activity')).getAllByTestId('web-activity-item');
    expect(items).toHaveLength(RECENT_WEB_ACTIONS);
    expect(items[0]!.textContent).toContain('Ordered 投資信託 A ×2');
    expect(items[1]!.textContent).toContain('Clicked “fees” in the video of 投資信託 A at 1:15');
    expect(items[2]!.textContent).toMatch(/Viewed 投資信託 A\s+3 minutes ago/);
  });

  it('shows nothing for a customer without web activity', () => {
    render(<RecentWebActivity contacts={[]} />);
    expect(screen.queryByTestId('web-activity')).toBeNull();
  });

  it('formats how long ago in both languages', () => {
    expect(formatAgo(new Date(NOW - 3 * 60_000).toISOString(), 'en', NOW)).toBe('3 minutes ago');
    expect(formatAgo(new Date(NOW - 3 * 60_000).toISOString(), 'ja', NOW)).toBe('3 分前');
    expect(formatAgo(new Date(NOW - 2 * 3_600_000).toISOString(), 'en', NOW)).toBe('2 hours ago');
    expect(formatAgo(new Date(NOW - 10_000).toISOString(), 'en', NOW)).toBe('this minute');
  });
});
