import { fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../../shared/api.js';
import type { SessionInfo } from '../../../shared/ipc.js';
import { useSessionStore } from '../stores/session.js';
import { AGENT_SESSION } from '../test/fixtures.js';
import { installSignedInBridge, registerRendererCleanup } from '../test/harness.js';
import { AuditViewer } from './AuditViewer.js';

registerRendererCleanup();

const ADMIN: SessionInfo = { ...AGENT_SESSION, user: { ...AGENT_SESSION.user, id: 'user-admin', role: 'admin' } };

function entry(n: number, overrides: Partial<AuditEntry> = {}): AuditEntry {
  return {
    id: n,
    at: new Date(Date.UTC(2024, 4, 1, 9, 0) - n * 60_000).toISOString(),
    action: 'customer_viewed',
    userId: 'user-agent',
    userName: '佐藤 一郎',
    customerId: 'cust-yamada',
    customerName: '山田 太郎',
    details: { via: 'cache_open' },
    ...overrides,
  };
}

describe('AuditViewer', () => {
  it('shows who viewed which customer, filters by action and pages through older events', async () => {
    const bridge = installSignedInBridge();
    bridge.session = ADMIN;
    useSessionStore.setState({ phase: 'signedIn', session: ADMIN });
    bridge.auditEntries = [
      ...Array.from({ length: 60 }, (_, i) => entry(i + 1)),
      entry(100, { action: 'customer_updated', userName: '管理 者', details: { fields: ['name'] } }),
    ];
    render(<AuditViewer />);

    await waitFor(() => expect(screen.getAllByTestId('audit-row')).toHaveLength(50));
    const first = screen.getAllByTestId('audit-row')[0]!;
    expect(within(first).getByText('山田 太郎')).toBeTruthy();
    expect(within(first).getByText('佐藤 一郎')).toBeTruthy();
    expect(within(first).getByText('customer_viewed')).toBeTruthy();

    fireEvent.click(screen.getByTestId('audit-older'));
    await waitFor(() => expect(screen.getAllByTestId('audit-row')).toHaveLength(11));
    fireEvent.click(screen.getByTestId('audit-newer'));
    await waitFor(() => expect(screen.getAllByTestId('audit-row')).toHaveLength(50));

    fireEvent.change(screen.getByTestId('audit-action'), { target: { value: 'customer_updated' } });
    fireEvent.click(screen.getByTestId('audit-search'));
    await waitFor(() => expect(screen.getAllByTestId('audit-row')).toHaveLength(1));
    expect(screen.getByTestId('audit-row').dataset.action).toBe('customer_updated');
    expect(bridge.auditQueries.at(-1)).toMatchObject({ action: 'customer_updated', limit: 50 });
    expect(bridge.auditQueries.at(-1)).not.toHaveProperty('cursor');
  });

  it('shows the backend refusing an agent', async () => {
    installSignedInBridge();
    render(<AuditViewer />);
    await waitFor(() => expect(screen.getByText(/only admins and supervisors/)).toBeTruthy());
    expect(screen.queryAllByTestId('audit-row')).toHaveLength(0);
  });
});
