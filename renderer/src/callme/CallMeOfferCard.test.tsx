import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import type { CallMeOffer } from '../../../shared/callme.js';
import { App } from '../App.js';
import { installPhoneEngine, usePhoneStore } from '../stores/phone.js';
import { installSignedInBridge, registerRendererCleanup } from '../test/harness.js';
import { scriptedEngineFactory } from '../test/scripted-engine.js';

registerRendererCleanup();
afterEach(() => installPhoneEngine(null));

const OFFER: CallMeOffer = {
  id: '30000000-0000-4000-8000-000000000001',
  customerId: 'cust-yamada',
  customerCode: 'C-0001',
  customerName: '山田 太郎',
  number: '+81312345678',
  reason: 'NISA の口座について',
  preferredAt: null,
  offerReason: 'last_handler',
  expiresAt: new Date(Date.now() + 30_000).toISOString(),
};

describe('call-me offers', () => {
  it('shows the offer pushed by the core, dials the customer on accept with the pop, and closes the request when the call ends', async () => {
    const bridge = installSignedInBridge();
    const scripted = scriptedEngineFactory();
    installPhoneEngine(scripted.factory);
    render(<App />);
    await waitFor(() => expect(usePhoneStore.getState().phase).toBe('on'));
    act(() => scripted.current().registered());
    expect(screen.queryByTestId('callme-offer')).toBeNull();

    act(() => bridge.callme.push(OFFER));
    const card = await screen.findByRole('alertdialog', { name: 'Call-back request from the portal' });
    expect(card.textContent).toContain('山田 太郎');
    expect(card.textContent).toContain('NISA の口座について');
    expect(card.textContent).toContain('03-1234-5678');
    expect(card.textContent).toContain('You spoke with this customer last time.');

    fireEvent.click(within(card).getByRole('button', { name: 'Accept and call' }));
    await waitFor(() => expect(scripted.current().callsTo('dial')).toHaveLength(1));
    expect(bridge.callme.accepted).toEqual([OFFER.id]);
    await waitFor(() => expect(screen.queryByTestId('callme-offer')).toBeNull());
    const call = usePhoneStore.getState().calls[0]!;
    expect(call).toMatchObject({ direction: 'outbound', identity: expect.objectContaining({ customerId: 'cust-yamada', e164: '+81312345678' }) });

    act(() => scripted.current().established(call.id));
    expect(bridge.callme.completed).toEqual([]);
    act(() => scripted.current().ended(call.id, 'hangup'));
    await waitFor(() => expect(bridge.callme.completed).toEqual([{ id: OFFER.id, outcome: 'answered', callId: call.sipCallId }]));
  });

  it('declines: the offer goes away and the backend hears of it; an offer withdrawn by the backend disappears', async () => {
    const bridge = installSignedInBridge();
    render(<App />);
    act(() => bridge.callme.push(OFFER));
    const card = await screen.findByTestId('callme-offer');
    fireEvent.click(within(card).getByRole('button', { name: 'Decline' }));
    await waitFor(() => expect(screen.queryByTestId('callme-offer')).toBeNull());
    expect(bridge.callsTo('callme:decline')).toEqual([{ id: OFFER.id }]);
    expect(bridge.callme.declined).toEqual([OFFER.id]);

    act(() => bridge.callme.push({ ...OFFER, id: '30000000-0000-4000-8000-000000000002' }));
    await screen.findByTestId('callme-offer');
    act(() => bridge.callme.push(null));
    await waitFor(() => expect(screen.queryByTestId('callme-offer')).toBeNull());
  });
});
