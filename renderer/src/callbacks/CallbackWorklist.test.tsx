import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import type { CallbackListView } from '../../../shared/ipc.js';
import { App } from '../App.js';
import { installPhoneEngine, usePhoneStore } from '../stores/phone.js';
import { useSessionStore } from '../stores/session.js';
import { AGENT_SESSION } from '../test/fixtures.js';
import { installSignedInBridge, registerRendererCleanup } from '../test/harness.js';
import { scriptedEngineFactory } from '../test/scripted-engine.js';

registerRendererCleanup();
afterEach(() => installPhoneEngine(null));

const MINUTE = 60_000;
const at = (offsetMs: number) => new Date(Date.now() + offsetMs).toISOString();

function task(id: string, dueAt: string, overrides: Partial<CallbackListView['mine'][number]> = {}): CallbackListView['mine'][number] {
  return {
    id: `20000000-0000-4000-8000-00000000000${id}`,
    customerId: 'cust-yamada',
    customerName: '山田 太郎',
    callId: `call-${id}`,
    contactId: null,
    remote: '+81312345678',
    flaggedBy: 'user-agent-1',
    flaggedByName: '佐藤 一郎',
    flaggedAt: at(-60 * MINUTE),
    dueAt,
    doneAt: null,
    doneReason: null,
    // The server's view when it answered; the list recomputes it against the clock.
    overdue: false,
    pending: false,
    ...overrides,
  };
}

describe('callback worklist', () => {
  it("lists the operator's callbacks by due time, highlights the overdue one, and calls back with the customer attached", async () => {
    const bridge = installSignedInBridge();
    const late = task('1', at(-5 * MINUTE));
    const later = task('2', at(90 * MINUTE), { customerName: 'Smith & Co', customerId: 'cust-smith', remote: '+442071234567' });
    bridge.desk.callbackList = { mine: [late, later], teamOverdue: [], source: 'online' };
    const scripted = scriptedEngineFactory();
    installPhoneEngine(scripted.factory);
    render(<App />);
    await waitFor(() => expect(usePhoneStore.getState().phase).toBe('on'));
    act(() => scripted.current().registered());

    fireEvent.click(await screen.findByTestId('area-history'));
    const worklist = await screen.findByTestId('callback-worklist');
    await waitFor(() => expect(within(worklist).getAllByTestId('callback-task')).toHaveLength(2));
    const [first, second] = within(worklist).getAllByTestId('callback-task');
    expect(first?.dataset.callbackId).toBe(late.id);
    expect(first?.dataset.overdue).toBe('true');
    expect(first?.className).toContain('is-overdue');
    expect(first?.textContent).toContain('Overdue');
    expect(second?.dataset.overdue).toBe('false');
    expect(second?.textContent).not.toContain('Overdue');
    expect(within(worklist).queryByTestId('overdue-callbacks')).toBeNull();

    fireEvent.click(within(second!).getByRole('button', { name: 'Call Smith & Co' }));
    await waitFor(() => expect(scripted.current().callsTo('dial')).toHaveLength(1));
    expect(usePhoneStore.getState().calls[0]).toMatchObject({ direction: 'outbound', identity: expect.objectContaining({ customerId: 'cust-smith', e164: '+442071234567' }) });
  });

  it("shows the team's overdue callbacks with who asked for them, and marks one done through the core", async () => {
    const bridge = installSignedInBridge();
    const teammates = task('3', at(-30 * MINUTE), { flaggedBy: 'user-agent-2', flaggedByName: '田中 花子', overdue: true });
    bridge.desk.callbackList = { mine: [], teamOverdue: [teammates], source: 'online' };
    render(<App />);
    fireEvent.click(await screen.findByTestId('area-history'));
    const team = await screen.findByTestId('overdue-callbacks');
    expect(within(team).getByRole('heading').textContent).toBe('Overdue in my team (1)');
    const row = within(team).getByTestId('callback-task');
    expect(row.textContent).toContain('Asked by 田中 花子');
    expect(row.dataset.overdue).toBe('true');
    expect(screen.getByTestId('callback-worklist').textContent).toContain('No callbacks waiting.');

    fireEvent.click(within(row).getByRole('button', { name: 'Mark done' }));
    await waitFor(() => expect(screen.queryByTestId('overdue-callbacks')).toBeNull());
    expect(bridge.callsTo('callbacks:complete')).toEqual([{ callbackId: teammates.id }]);
  });

  it("lists the tenant's overdue callbacks in the supervisor's live view", async () => {
    const bridge = installSignedInBridge();
    const session = { ...AGENT_SESSION, user: { ...AGENT_SESSION.user, id: 'user-super-1', displayName: '鈴木 監督', role: 'supervisor' as const } };
    bridge.session = session;
    useSessionStore.setState({ phase: 'signedIn', session });
    const osakas = task('4', at(-45 * MINUTE), { flaggedBy: 'user-osaka', flaggedByName: '大阪 次郎', overdue: true });
    bridge.desk.callbackList = { mine: [], teamOverdue: [osakas], source: 'online' };
    render(<App />);
    fireEvent.click(await screen.findByTestId('area-live'));
    const live = await screen.findByTestId('live-view');
    const overdue = await within(live).findByTestId('overdue-callbacks');
    expect(within(overdue).getByRole('heading').textContent).toBe('Overdue callbacks (1)');
    expect(within(overdue).getByTestId('callback-task').textContent).toContain('Asked by 大阪 次郎');
  });
});
