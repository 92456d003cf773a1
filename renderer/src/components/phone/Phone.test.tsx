import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { App } from '../../App.js';
import { SCREENPOP_PAINTED_MARK } from '../../phone/screen-pop-marks.js';
import { installPhoneEngine, usePhoneStore } from '../../stores/phone.js';
import { useScreenPopStore } from '../../stores/screen-pop.js';
import { useSessionStore } from '../../stores/session.js';
import { useSyncStore } from '../../stores/sync.js';
import { useUiStore } from '../../stores/ui.js';
import { AGENT_SESSION } from '../../test/fixtures.js';
import { installSignedInBridge, registerRendererCleanup } from '../../test/harness.js';
import type { MemoryBridge } from '../../test/memory-bridge.js';
import { scriptedEngineFactory, type ScriptedEngine } from '../../test/scripted-engine.js';
import { observeMarks } from '../../test/screen-pop-marks.js';

registerRendererCleanup();
const markObservers: { disconnect(): void }[] = [];
afterEach(() => {
  installPhoneEngine(null);
  for (const observer of markObservers.splice(0)) observer.disconnect();
});

/** The screen pop's `painted` marks from now on (the app takes them off the timeline as it makes them). */
function observePaints(): ReturnType<typeof observeMarks> {
  const observer = observeMarks(SCREENPOP_PAINTED_MARK);
  markObservers.push(observer);
  return observer;
}

const YAMADA_FROM = '<sip:0312345678@trunk.example>;tag=1';

async function startPhone(
  options: { mayHandleUnregisteredCallers?: boolean; branch?: string } = {},
): Promise<{ bridge: MemoryBridge; engine: ScriptedEngine }> {
  const bridge = installSignedInBridge();
  if (options.mayHandleUnregisteredCallers === false || options.branch !== undefined) {
    const user = {
      ...AGENT_SESSION.user,
      mayHandleUnregisteredCallers: options.mayHandleUnregisteredCallers ?? AGENT_SESSION.user.mayHandleUnregisteredCallers,
      branch: options.branch ?? null,
    };
    const session = { ...AGENT_SESSION, user };
    bridge.session = session;
    useSessionStore.setState({ session });
  }
  const scripted = scriptedEngineFactory();
  installPhoneEngine(scripted.factory);
  render(<App />);
  await waitFor(() => expect(usePhoneStore.getState().phase).toBe('on'));
  const engine = scripted.current();
  act(() => engine.registered());
  await screen.findByText('Phone ready');
  return { bridge, engine };
}

function callCard(): HTMLElement {
  return screen.getByTestId('call-card');
}

async function ringFromYamada(engine: ScriptedEngine): Promise<string> {
  let id = '';
  act(() => {
    id = engine.ring({ from: YAMADA_FROM }, { sipCallId: 'yamada-call' }).id;
  });
  await waitFor(() => expect(screen.getByTestId('screen-pop').dataset.phase).toBe('found'));
  return id;
}

describe('registration', () => {
  it('starts with credentials from the core and shows the registration state as it changes', async () => {
    const { bridge, engine } = await startPhone();
    expect(bridge.callsTo('sip:credentials')).toHaveLength(1);
    expect(engine.options.settings.customerIdHeader).toBe('X-Customer-Id');
    expect(screen.getByTestId('phone-extension').textContent).toContain('sato');
    const status = within(screen.getByTestId('registration-status')).getByRole('status');

    act(() => engine.socketLost());
    expect(status.textContent).toBe('Phone offline');
    expect(screen.getByTestId('phone').dataset.registration).toBe('offline');
    act(() => engine.registered());
    expect(status.textContent).toBe('Phone ready');
  });

  it('says the phone is unavailable when the core has no credentials for this user', async () => {
    const bridge = installSignedInBridge();
    bridge.telephony.credentialsError = { code: 'conflict', message: 'this user has no usable SIP user' };
    const scripted = scriptedEngineFactory();
    installPhoneEngine(scripted.factory);
    render(<App />);
    await waitFor(() => expect(screen.getByTestId('registration-status').dataset.state).toBe('unavailable'));
    expect(screen.getByTestId('registration-status').textContent).toContain('Phone unavailable');
    expect(screen.getByTestId('registration-status').textContent).toContain('this user has no usable SIP user');
  });

  it('never lets 取込中 or 後処理中 be picked by hand', async () => {
    installSignedInBridge();
    installPhoneEngine(scriptedEngineFactory().factory);
    render(<App />);
    const select = (await screen.findByTestId('agent-status')) as HTMLSelectElement;
    const options = Object.fromEntries([...select.options].map((option) => [option.value, option.disabled]));
    expect(options).toEqual({ available: false, on_call: true, after_call_work: true, break: false });
  });

  it('says in Japanese only that the phone is not set up when the backend has no SIP secret', async () => {
    const bridge = installSignedInBridge();
    useUiStore.getState().setLanguage('ja');
    bridge.telephony.credentialsError = {
      code: 'not_configured',
      message: 'the phone is not set up on this backend: TSUNAGU_SIP_SECRET is not configured',
    };
    installPhoneEngine(scriptedEngineFactory().factory);
    render(<App />);
    await waitFor(() => expect(screen.getByTestId('registration-status').dataset.state).toBe('unavailable'));
    const text = screen.getByTestId('registration-status').textContent ?? '';
    expect(text).toContain('この機能はサーバーで設定されていません。');
    expect(text).not.toMatch(/[A-Za-z]{3,}/);
  });
});

describe('screen pop', () => {
  it('shows the caller, open incidents and last contacts with who handled them while it rings', async () => {
    const { bridge, engine } = await startPhone();
    const paints = observePaints();
    await ringFromYamada(engine);

    const pop = screen.getByTestId('screen-pop');
    expect(callCard().dataset.state).toBe('ringing');
    expect(within(pop).getByTestId('screen-pop-customer-code').textContent).toBe('C-000101');
    expect(within(pop).getAllByTestId('pop-incident').map((li) => li.textContent)).toEqual(['配送の遅延 · 佐藤 花子']);
    const contacts = within(pop).getAllByTestId('pop-contact');
    expect(contacts).toHaveLength(3);
    expect(contacts[0]?.textContent).toContain('佐藤 花子');
    expect(contacts[0]?.textContent).toContain('配送状況をメールで連絡');
    // The main panel shows the caller's record too, once the card's frame is painted.
    await waitFor(() => expect(screen.getByTestId('customer-code').textContent).toBe('C-000101'));
    expect(bridge.callsTo('customers:lookupCaller')).toEqual([{ phone: '+81312345678' }]);
    await waitFor(() => expect(bridge.telephony.callEvents.map((e) => [e.event, e.customerId, e.remote])).toEqual([['ringing', 'cust-yamada', '+81312345678']]));
    await waitFor(() => expect(paints.details()).toHaveLength(1));
    expect(paints.details()[0]).toMatchObject({ callId: 'yamada-call', phase: 'found', customerId: 'cust-yamada' });
  });

  it('asks the core once, on the INVITE\'s arrival, and pops the caller from that answer', async () => {
    const { bridge, engine } = await startPhone();
    act(() => {
      engine.ring({ from: YAMADA_FROM }, { sipCallId: 'yamada-early', announced: true });
    });
    await waitFor(() => expect(screen.getByTestId('screen-pop-customer-code').textContent).toBe('C-000101'));
    expect(bridge.callsTo('customers:lookupCaller')).toEqual([{ phone: '+81312345678' }]);
  });

  it('asks nothing on the arrival of a call it is going to refuse as busy', async () => {
    const { bridge, engine } = await startPhone();
    fireEvent.change(screen.getByLabelText('Status'), { target: { value: 'break' } });
    let decision = '';
    act(() => {
      decision = engine.ring({ from: YAMADA_FROM }, { announced: true }).decision;
    });
    expect(decision).toBe('busy');
    expect(bridge.callsTo('customers:lookupCaller')).toEqual([]);
  });

  it('lets the IVR customer id win over an unknown number', async () => {
    const { bridge, engine } = await startPhone();
    act(() => {
      engine.ring({ from: '<sip:0399990000@trunk>;tag=1', customerId: 'cust-smith' });
    });
    await waitFor(() => expect(screen.getByTestId('screen-pop').dataset.phase).toBe('found'));
    expect(screen.getByTestId('screen-pop-customer-code').textContent).toBe('C-000201');
    expect(bridge.callsTo('customers:lookupCaller')).toEqual([{ phone: '+81399990000', customerId: 'cust-smith' }]);
  });

  it('offers "create customer" for an unknown number, prefilled, to a user who may', async () => {
    const { bridge, engine } = await startPhone();
    act(() => {
      engine.ring({ from: '<sip:0399990000@trunk>;tag=1' });
    });
    const panel = await screen.findByTestId('unknown-caller');
    expect(within(panel).getByTestId('unknown-caller-number').textContent).toBe('03-9999-0000');
    const form = within(panel).getByTestId('create-customer');
    expect((within(form).getByLabelText('Phone') as HTMLInputElement).value).toBe('03-9999-0000');
    fireEvent.change(within(form).getByLabelText('Name'), { target: { value: '新規 顧客' } });
    fireEvent.click(within(form).getByRole('button', { name: 'Create customer' }));
    await waitFor(() => expect(screen.getByTestId('screen-pop').dataset.phase).toBe('found'));
    expect(bridge.callsTo('customers:create')).toEqual([expect.objectContaining({ name: '新規 顧客', phones: [{ number: '03-9999-0000' }] })]);
    expect(screen.queryByTestId('unknown-caller')).toBeNull();
    expect(screen.getByRole('heading', { name: '新規 顧客', level: 2 })).toBeTruthy();
  });

  it('shows only the number to a user without the authority, and no earlier customer stays on screen', async () => {
    const { engine } = await startPhone({ mayHandleUnregisteredCallers: false });
    await ringFromYamada(engine);
    await waitFor(() => expect(screen.getByTestId('customer-code').textContent).toBe('C-000101'));
    act(() => engine.ended(usePhoneStore.getState().calls[0]!.id));
    expect(screen.getByTestId('customer-code').textContent).toBe('C-000101');

    act(() => {
      engine.ring({ from: '<sip:0399990000@trunk>;tag=1' });
    });
    const panel = await screen.findByTestId('unknown-caller');
    expect(within(panel).getByTestId('unknown-caller-number').textContent).toBe('03-9999-0000');
    expect(within(panel).queryByTestId('create-customer')).toBeNull();
    // The main panel follows once the call's card is painted.
    await waitFor(() => expect(screen.queryByTestId('customer-code')).toBeNull());
    expect(screen.getByTestId('customer-panel').dataset.phase).toBe('empty');
  });
});

describe('screen pop scheduling (issue 13 item 7)', () => {
  it('shows a ringing call with its customer in its first render, not an empty card repainted when the answer comes', async () => {
    const { engine } = await startPhone();
    const shownWithout: string[] = [];
    const unsubscribe = usePhoneStore.subscribe((state) => {
      for (const call of state.calls) {
        const phase = useScreenPopStore.getState().pops[call.id]?.phase ?? 'none';
        if (phase !== 'found') shownWithout.push(phase);
      }
    });
    try {
      await ringFromYamada(engine);
    } finally {
      unsubscribe();
    }
    expect(shownWithout).toEqual([]);
    expect(screen.getByTestId('screen-pop-customer-code').textContent).toBe('C-000101');
    // The ringtone starts once the card is on screen.
    await waitFor(() => expect(usePhoneStore.getState().ringtone).toBe('ringing'));
  });

  it('shows the call with "loading" and rings when the answer is slow, then pops the customer', async () => {
    const { bridge, engine } = await startPhone();
    bridge.hold('customers:lookupCaller');
    act(() => {
      engine.ring({ from: YAMADA_FROM }, { sipCallId: 'slow-lookup' });
    });
    await waitFor(() => expect(screen.getByTestId('screen-pop').dataset.phase).toBe('loading'));
    expect(callCard().dataset.state).toBe('ringing');
    await waitFor(() => expect(usePhoneStore.getState().ringtone).toBe('ringing'));
    act(() => bridge.heldCalls('customers:lookupCaller').forEach((call) => call.release()));
    await waitFor(() => expect(screen.getByTestId('screen-pop').dataset.phase).toBe('found'));
    expect(screen.getByTestId('screen-pop-customer-code').textContent).toBe('C-000101');
  });

  it('counts calls not shown yet against the limit of live calls, and loses none of them', async () => {
    const { bridge, engine } = await startPhone();
    bridge.hold('customers:lookupCaller');
    const rung: Array<{ id: string; decision: string }> = [];
    act(() => {
      for (const n of [1, 2, 3]) rung.push(engine.ring({ from: YAMADA_FROM }, { sipCallId: `burst-${n}`, announced: true }));
    });
    // Two live calls at most: the third is refused as busy although neither is on screen yet.
    expect(rung.map((call) => call.decision)).toEqual(['ring', 'ring', 'busy']);
    // The first caller gives up before their call was shown: it is recorded as missed.
    act(() => engine.ended(rung[0]!.id));
    await waitFor(() => expect(bridge.telephony.callEvents.map((e) => [e.callId, e.event])).toContainEqual(['burst-1', 'missed']));
    act(() => bridge.heldCalls('customers:lookupCaller').forEach((call) => call.release()));
    await waitFor(() => expect(screen.getAllByTestId('screen-pop').map((pop) => [pop.dataset.callId, pop.dataset.phase])).toEqual([['burst-2', 'found']]));
    expect(Object.keys(useScreenPopStore.getState().pops)).toEqual([rung[1]!.id]);
    expect(usePhoneStore.getState().calls.map((call) => call.sipCallId)).toEqual(['burst-2']);
  });
});

describe('refreshes while a call is ringing (issue 13 item 7)', () => {
  it("holds the history and calls-for-you refreshes asked while a pop is pending until its card is painted, then runs each once", async () => {
    const { bridge, engine } = await startPhone();
    await waitFor(() => expect(bridge.callsTo('callsForYou:counts').length).toBeGreaterThan(0));
    const historyBefore = bridge.callsTo('calls:history').length;
    const badgeBefore = bridge.callsTo('calls:historyCounts').length;
    const callsForYouBefore = bridge.callsTo('callsForYou:counts').length;
    const paints = observePaints();
    bridge.hold('customers:lookupCaller');
    const rung: Array<{ id: string }> = [];
    act(() => {
      for (const n of [1, 2]) rung.push(engine.ring({ from: YAMADA_FROM }, { sipCallId: `pending-${n}`, announced: true }));
    });
    // The first caller gives up (a missed call refreshes the history) and a sync pass brings
    // new data (calls for you), both while the second call's pop is pending.
    act(() => engine.ended(rung[0]!.id));
    await waitFor(() => expect(bridge.telephony.callEvents.map((e) => [e.callId, e.event])).toContainEqual(['pending-1', 'missed']));
    act(() => bridge.setStatus({ lastSyncedAt: '2026-12-07T12:00:00.000Z' }));
    act(() => bridge.setStatus({ lastSyncedAt: '2026-12-07T12:00:01.000Z' }));
    expect(bridge.callsTo('calls:historyCounts')).toHaveLength(badgeBefore);
    expect(bridge.callsTo('callsForYou:counts')).toHaveLength(callsForYouBefore);
    expect(useSyncStore.getState().status?.lastSyncedAt).not.toBe('2026-12-07T12:00:01.000Z');

    act(() => bridge.heldCalls('customers:lookupCaller').forEach((call) => call.release()));
    await waitFor(() => expect(paints.details().map((detail) => detail.callId)).toContain('pending-2'));
    await waitFor(() => expect(bridge.callsTo('calls:historyCounts')).toHaveLength(badgeBefore + 1));
    // The history is not on screen: its badge is refreshed, its list is not fetched.
    expect(bridge.callsTo('calls:history')).toHaveLength(historyBefore);
    await waitFor(() => expect(bridge.callsTo('callsForYou:counts')).toHaveLength(callsForYouBefore + 1));
    expect(useSyncStore.getState().status?.lastSyncedAt).toBe('2026-12-07T12:00:01.000Z');
    expect(screen.getByTestId('screen-pop').dataset.phase).toBe('found');
  });
});

describe('a caller the branch rep cannot see', () => {
  it('says "not one of your customers", never "unregistered caller", to a rep of one branch', async () => {
    const { engine } = await startPhone({ branch: '渋谷支店', mayHandleUnregisteredCallers: false });
    act(() => {
      engine.ring({ from: '<sip:0399990000@trunk>;tag=1' });
    });
    const panel = await screen.findByTestId('unknown-caller');
    expect(within(panel).getByRole('heading', { level: 2 }).textContent).toBe('Not one of your customers');
    expect(screen.getByTestId('screen-pop-unknown').textContent).toContain('Not one of your customers');
    expect(screen.queryByText('Unregistered caller')).toBeNull();
  });
});

describe('a call from ring to wrap-up', () => {
  it('answers, times the call, hangs up, and saves the wrap-up as a pending contact', async () => {
    const { bridge, engine } = await startPhone();
    const id = await ringFromYamada(engine);
    fireEvent.click(within(callCard()).getByRole('button', { name: 'Answer' }));
    await waitFor(() => expect(callCard().dataset.state).toBe('connected'));
    expect(engine.callsTo('answer')).toEqual([[id]]);
    expect(screen.getByTestId('call-timer').textContent).toMatch(/^0:0\d$/);
    await waitFor(() => expect(bridge.telephony.statuses).toContain('on_call'));

    fireEvent.click(within(callCard()).getByRole('button', { name: 'Hang up' }));
    const form = await screen.findByTestId('wrap-up');
    expect(screen.queryByTestId('call-card')).toBeNull();
    expect(usePhoneStore.getState().status).toBe('after_call_work');
    expect((within(form).getByRole('radio', { name: '配送の遅延' }) as HTMLInputElement).checked).toBe(true);

    fireEvent.click(within(form).getByRole('button', { name: 'Save wrap-up' }));
    expect(within(form).getByRole('alert').textContent).toContain('Summary');
    fireEvent.change(within(form).getByLabelText('Summary'), { target: { value: '配送日を再確認' } });
    fireEvent.change(within(form).getByLabelText('Disposition'), { target: { value: 'callback' } });
    fireEvent.click(within(form).getByLabelText('Callback needed'));
    fireEvent.click(within(form).getByRole('button', { name: 'Save wrap-up' }));

    await waitFor(() => expect(screen.queryByTestId('wrap-up')).toBeNull());
    expect(bridge.telephony.wrapUps).toEqual([
      expect.objectContaining({
        callId: 'yamada-call',
        customerId: 'cust-yamada',
        incidentId: 'inc-new',
        newIncidentTitle: null,
        direction: 'inbound',
        summary: '配送日を再確認',
        disposition: 'callback',
        callbackNeeded: true,
        remote: '+81312345678',
      }),
    ]);
    const pending = await screen.findAllByTestId('contact');
    expect(pending.some((contact) => contact.dataset.pending === 'true' && contact.textContent?.includes('配送日を再確認'))).toBe(true);
    // Online, the confirmation says it is being sent (not "when the server is reachable"), then that it was.
    expect(screen.getByTestId('delivery-notice').textContent).toBe('Wrap-up saved. Sending…');
    act(() => bridge.deliverOutbox('2024-05-02T00:00:00Z'));
    expect(screen.getByTestId('delivery-notice').textContent).toBe('Wrap-up sent.');
    expect(usePhoneStore.getState().status).toBe('available');
    expect(bridge.telephony.callEvents.map((e) => e.event)).toEqual(['ringing', 'answered', 'ended']);
    expect(bridge.telephony.statuses).toEqual(['available', 'on_call', 'after_call_work', 'available']);
  });

  it('asks when to call back: one hour by default, a preset, or a time that must not be past', async () => {
    const { bridge, engine } = await startPhone();
    const id = await ringFromYamada(engine);
    await act(() => usePhoneStore.getState().answer(id));
    act(() => engine.ended(id));
    const form = await screen.findByTestId('wrap-up');
    fireEvent.change(within(form).getByLabelText('Summary'), { target: { value: '折り返し' } });
    expect(within(form).queryByLabelText('Call back')).toBeNull();
    fireEvent.click(within(form).getByLabelText('Callback needed'));
    const when = within(form).getByLabelText('Call back') as HTMLSelectElement;
    expect(when.value).toBe('1h');

    fireEvent.change(when, { target: { value: 'custom' } });
    fireEvent.click(within(form).getByRole('button', { name: 'Save wrap-up' }));
    expect(within(form).getByRole('alert').textContent).toContain('Call back at');
    fireEvent.change(within(form).getByLabelText('Call back at'), { target: { value: '2020-01-01T10:00' } });
    fireEvent.click(within(form).getByRole('button', { name: 'Save wrap-up' }));
    expect(within(form).getByRole('alert').textContent).toBe('The callback time is in the past.');
    expect(bridge.telephony.wrapUps).toEqual([]);

    fireEvent.change(when, { target: { value: 'tomorrowMorning' } });
    fireEvent.click(within(form).getByRole('button', { name: 'Save wrap-up' }));
    await waitFor(() => expect(screen.queryByTestId('wrap-up')).toBeNull());
    const today = new Date();
    const tomorrowAtNine = new Date(today.getFullYear(), today.getMonth(), today.getDate() + 1, 9, 0).toISOString();
    expect(bridge.telephony.wrapUps).toEqual([expect.objectContaining({ callbackNeeded: true, callbackDueAt: tomorrowAtNine })]);
  });

  it('opens a new incident from the wrap-up when asked', async () => {
    const { bridge, engine } = await startPhone();
    const id = await ringFromYamada(engine);
    await act(() => usePhoneStore.getState().answer(id));
    act(() => engine.ended(id));
    const form = await screen.findByTestId('wrap-up');
    // Default dispositions in the window's language (English here), not the tenant's Japanese.
    const options = [...(within(form).getByLabelText('Disposition') as HTMLSelectElement).options].map((o) => o.textContent);
    expect(options).toEqual(['Resolved', 'Callback planned']);
    fireEvent.click(within(form).getByRole('radio', { name: 'New incident' }));
    fireEvent.change(within(form).getByLabelText('Title of the new incident'), { target: { value: '住所変更' } });
    fireEvent.change(within(form).getByLabelText('Summary'), { target: { value: '新住所を伺った' } });
    fireEvent.click(within(form).getByRole('button', { name: 'Save wrap-up' }));
    await waitFor(() => expect(bridge.telephony.wrapUps).toHaveLength(1));
    expect(bridge.telephony.wrapUps[0]).toMatchObject({ incidentId: null, newIncidentTitle: '住所変更', disposition: 'resolved' });
    await waitFor(() => expect(within(screen.getByTestId('incident-tree')).getAllByTestId('incident').map((i) => i.textContent)).toContainEqual(expect.stringContaining('住所変更')));
  });

  it('refuses calls with 486 while the operator is not available', async () => {
    const { bridge, engine } = await startPhone();
    fireEvent.change(screen.getByLabelText('Status'), { target: { value: 'break' } });
    let decision = '';
    act(() => {
      decision = engine.ring({ from: YAMADA_FROM }).decision;
    });
    expect(decision).toBe('busy');
    expect(screen.queryByTestId('call-card')).toBeNull();
    await waitFor(() => expect(bridge.telephony.callEvents.map((e) => e.event)).toEqual(['rejected']));
    expect(bridge.telephony.statuses).toContain('break');
  });

  it('rings a second call softly while connected, and holds the first when it is answered', async () => {
    const { engine } = await startPhone();
    const first = await ringFromYamada(engine);
    await act(() => usePhoneStore.getState().answer(first));
    let second = '';
    act(() => {
      second = engine.ring({ from: '<sip:0664561234@trunk>;tag=2' }).id;
    });
    await waitFor(() => expect(screen.getAllByTestId('call-card')).toHaveLength(2));
    const waitingCard = screen.getAllByTestId('call-card')[1]!;
    expect(waitingCard.dataset.waiting).toBe('true');
    expect(usePhoneStore.getState().ringtone).not.toBe('ringing');
    // The conversation stays in front until the second call is taken.
    expect(screen.getByTestId('customer-code').textContent).toBe('C-000101');

    fireEvent.click(within(waitingCard).getByRole('button', { name: 'Answer' }));
    await waitFor(() => expect(screen.getAllByTestId('call-card').map((card) => card.dataset.state)).toEqual(['held', 'connected']));
    const order = engine.commands.map((c) => c.name).filter((name) => name === 'setHold' || name === 'answer');
    expect(order).toEqual(['answer', 'setHold', 'answer']);
    expect(engine.callsTo('setHold')).toEqual([[first, true]]);
    await waitFor(() => expect(screen.getByTestId('customer-code').textContent).toBe('C-000102'));
    void second;
  });

  it('sends DTMF from the keypad, holds and mutes', async () => {
    const { engine } = await startPhone();
    const id = await ringFromYamada(engine);
    await act(() => usePhoneStore.getState().answer(id));
    fireEvent.click(within(callCard()).getByRole('button', { name: 'Keypad' }));
    fireEvent.click(within(screen.getByTestId('keypad')).getByRole('button', { name: 'Send 5' }));
    fireEvent.click(within(screen.getByTestId('keypad')).getByRole('button', { name: 'Send #' }));
    expect(engine.callsTo('sendDtmf')).toEqual([
      [id, '5'],
      [id, '#'],
    ]);
    fireEvent.click(within(callCard()).getByRole('button', { name: 'Hold' }));
    await waitFor(() => expect(callCard().dataset.state).toBe('held'));
    fireEvent.click(within(callCard()).getByRole('button', { name: 'Resume' }));
    await waitFor(() => expect(callCard().dataset.state).toBe('connected'));
    fireEvent.click(within(callCard()).getByRole('button', { name: 'Mute' }));
    expect(within(callCard()).getByRole('button', { name: 'Unmute' })).toBeTruthy();
    expect(engine.callsTo('setHold')).toEqual([
      [id, true],
      [id, false],
    ]);
  });

  it('stays connected and says so when the PBX refuses the hold', async () => {
    const { engine } = await startPhone();
    const id = await ringFromYamada(engine);
    await act(() => usePhoneStore.getState().answer(id));
    engine.refuse.add('setHold');
    fireEvent.click(within(callCard()).getByRole('button', { name: 'Hold' }));
    expect((await screen.findByTestId('phone-problem')).dataset.code).toBe('refused');
    expect(callCard().dataset.state).toBe('connected');
    expect(within(callCard()).getByRole('button', { name: 'Hold' })).toHaveProperty('disabled', false);
  });

  it('transfers blind to a colleague and records the transfer', async () => {
    const { bridge, engine } = await startPhone();
    const id = await ringFromYamada(engine);
    await act(() => usePhoneStore.getState().answer(id));
    fireEvent.click(within(callCard()).getByRole('button', { name: 'Transfer' }));
    const form = screen.getByTestId('transfer-form');
    fireEvent.change(within(form).getByLabelText('Transfer to (extension or number)'), { target: { value: 'agent2' } });
    fireEvent.click(within(form).getByRole('button', { name: 'Blind transfer' }));
    await waitFor(() => expect(screen.queryByTestId('call-card')).toBeNull());
    expect(engine.callsTo('blindTransfer')).toEqual([[id, 'sip:agent2@tsunagu.test']]);
    await waitFor(() => expect(bridge.telephony.callEvents.at(-1)).toMatchObject({ event: 'transferred', transferTarget: 'agent2', customerId: 'cust-yamada' }));
    expect(await screen.findByTestId('wrap-up')).toBeTruthy();
  });

  it('consults a colleague, then completes the attended transfer', async () => {
    const { engine } = await startPhone();
    const id = await ringFromYamada(engine);
    await act(() => usePhoneStore.getState().answer(id));
    fireEvent.click(within(callCard()).getByRole('button', { name: 'Transfer' }));
    fireEvent.change(screen.getByLabelText('Transfer to (extension or number)'), { target: { value: 'agent2' } });
    fireEvent.click(within(screen.getByTestId('transfer-form')).getByRole('button', { name: 'Consult' }));
    await waitFor(() => expect(screen.getAllByTestId('call-card')).toHaveLength(2));
    expect(engine.callsTo('setHold')).toEqual([[id, true]]);
    const [dialled] = engine.callsTo('dial');
    expect(dialled).toEqual(['sip:agent2@tsunagu.test']);
    const consultId = usePhoneStore.getState().calls[1]!.id;
    act(() => engine.established(consultId));
    fireEvent.click(within(screen.getAllByTestId('call-card')[1]!).getByRole('button', { name: 'Complete transfer' }));
    await waitFor(() => expect(screen.queryByTestId('call-card')).toBeNull());
    expect(engine.callsTo('attendedTransfer')).toEqual([[id, consultId]]);
    // One wrap-up: for the customer's call, not for the consultation.
    expect(screen.getAllByTestId('wrap-up')).toHaveLength(1);
  });
});

describe('outbound calls', () => {
  it('calls a number from the customer panel', async () => {
    const { bridge, engine } = await startPhone();
    fireEvent.change(screen.getByRole('combobox', { name: 'Search customers' }), { target: { value: '山田' } });
    fireEvent.click((await screen.findAllByTestId('search-result'))[0]!);
    fireEvent.click(await screen.findByRole('button', { name: 'Call 03-1234-5678' }));
    await waitFor(() => expect(callCard().dataset.direction).toBe('outbound'));
    expect(engine.callsTo('dial')).toEqual([['sip:+81312345678@tsunagu.test']]);
    await waitFor(() => expect(screen.getByTestId('screen-pop').dataset.phase).toBe('found'));
    expect(bridge.callsTo('customers:lookupCaller').at(-1)).toEqual({ phone: '+81312345678', customerId: 'cust-yamada' });
  });

  it('refuses to dial what is not a number or extension', async () => {
    const { engine } = await startPhone();
    fireEvent.change(screen.getByLabelText('Number or extension'), { target: { value: 'call me maybe' } });
    fireEvent.click(screen.getByRole('button', { name: 'Call' }));
    expect((await screen.findByTestId('phone-problem')).dataset.code).toBe('invalid_target');
    expect(engine.callsTo('dial')).toEqual([]);
  });
});

describe('hotkeys', () => {
  it('answers with the default hotkey, and with a new one after rebinding it in the settings', async () => {
    const { engine } = await startPhone();
    const first = await ringFromYamada(engine);
    fireEvent.keyDown(window, { code: 'KeyA', key: 'a', ctrlKey: true, altKey: true });
    await waitFor(() => expect(engine.callsTo('answer')).toEqual([[first]]));
    fireEvent.keyDown(window, { code: 'KeyE', key: 'e', ctrlKey: true, altKey: true });
    await waitFor(() => expect(engine.callsTo('hangup')).toEqual([[first]]));
    // After-call work would refuse the next call: the operator makes themselves available.
    fireEvent.change(screen.getByLabelText('Status'), { target: { value: 'available' } });

    fireEvent.click(screen.getByRole('button', { name: 'Phone settings' }));
    const dialog = screen.getByRole('dialog', { name: 'Phone settings' });
    const change = within(dialog).getByRole('button', { name: 'Change the hotkey for Answer' });
    fireEvent.click(change);
    fireEvent.keyDown(change, { code: 'F9', key: 'F9' });
    const row = within(dialog).getAllByTestId('hotkey-row').find((r) => r.dataset.action === 'answer')!;
    expect(within(row).getByTestId('hotkey-combo').textContent).toBe('F9');
    fireEvent.keyDown(dialog, { key: 'Escape', code: 'Escape' });
    expect(screen.queryByRole('dialog')).toBeNull();

    act(() => {
      engine.ring({ from: YAMADA_FROM }, { sipCallId: 'second' });
    });
    await waitFor(() => expect(screen.getByTestId('call-card').dataset.state).toBe('ringing'));
    fireEvent.keyDown(window, { code: 'KeyA', key: 'a', ctrlKey: true, altKey: true });
    expect(engine.callsTo('answer')).toHaveLength(1);
    fireEvent.keyDown(window, { code: 'F9', key: 'F9' });
    await waitFor(() => expect(engine.callsTo('answer')).toHaveLength(2));
  });

  it('asks the shell for system-wide hotkeys and acts on a global press as on a key in the window', async () => {
    const { bridge, engine } = await startPhone();
    await waitFor(() => expect(bridge.callsTo('system:globalShortcuts').length).toBeGreaterThan(0));
    expect(bridge.callsTo('system:globalShortcuts').at(-1)).toEqual({
      bindings: [
        { action: 'answer', combo: 'Ctrl+Alt+KeyA' },
        { action: 'hangup', combo: 'Ctrl+Alt+KeyE' },
        { action: 'hold', combo: 'Ctrl+Alt+KeyH' },
        { action: 'mute', combo: 'Ctrl+Alt+KeyM' },
      ],
    });
    const id = await ringFromYamada(engine);
    act(() => bridge.emit('system:shortcut', { action: 'answer' }));
    await waitFor(() => expect(engine.callsTo('answer')).toEqual([[id]]));
  });

  it('re-registers when the shell says the computer woke up', async () => {
    const { bridge, engine } = await startPhone();
    expect(engine.callsTo('recoverConnection')).toHaveLength(0);
    act(() => bridge.emit('system:resumed', { reason: 'resume' }));
    expect(engine.callsTo('recoverConnection')).toHaveLength(1);
  });

  it('refuses a hotkey already bound to another action, naming it', async () => {
    await startPhone();
    fireEvent.click(screen.getByRole('button', { name: 'Phone settings' }));
    const dialog = screen.getByRole('dialog', { name: 'Phone settings' });
    const change = within(dialog).getByRole('button', { name: 'Change the hotkey for Mute / unmute' });
    fireEvent.click(change);
    fireEvent.keyDown(change, { code: 'KeyH', key: 'h', ctrlKey: true, altKey: true });
    expect(within(dialog).getByRole('alert').textContent).toBe('Already used for Hold / resume.');
  });
});

describe('operator status reaching the server (issue 8 item 1)', () => {
  it('says when the server does not have the status yet, and drops the mark once the core reports it arrived', async () => {
    const { bridge } = await startPhone();
    bridge.telephony.statusAnswer = 'offline';
    fireEvent.change(screen.getByLabelText('Status'), { target: { value: 'break' } });
    expect((await screen.findByTestId('agent-status-unconfirmed')).textContent).toContain('Not on the server yet');
    const hint = document.getElementById(screen.getByLabelText('Status').getAttribute('aria-describedby') ?? '');
    expect(hint?.textContent).toContain('has not reached the server yet');

    act(() => bridge.emit('agent:status', bridge.telephony.confirmWaitingStatus()));
    await waitFor(() => expect(screen.queryByTestId('agent-status-unconfirmed')).toBeNull());
    expect(screen.getByTestId('agent-status').dataset.confirmed).toBe('true');
  });

  it('shows a refused status with the reason and sends it again on Retry', async () => {
    const { bridge } = await startPhone();
    bridge.telephony.statusAnswer = { code: 'internal', message: 'the presence table is locked' };
    fireEvent.change(screen.getByLabelText('Status'), { target: { value: 'break' } });
    const refused = await screen.findByTestId('agent-status-refused');
    expect(refused.textContent).toContain('The status could not be recorded on the server.');
    expect(refused.textContent).toContain('the presence table is locked');

    bridge.telephony.statusAnswer = 'confirm';
    const sent = bridge.telephony.statuses.length;
    fireEvent.click(within(refused).getByRole('button', { name: 'Retry' }));
    await waitFor(() => expect(screen.queryByTestId('agent-status-refused')).toBeNull());
    expect(bridge.telephony.statuses.slice(sent)).toEqual(['break']);
  });

  it('shows a call event the core refused instead of only logging it, with Retry', async () => {
    const { bridge, engine } = await startPhone();
    bridge.failNext('calls:event', { code: 'invalid_input', message: 'remote: too long' });
    await ringFromYamada(engine);
    const problem = await screen.findByTestId('phone-problem');
    expect(problem.dataset.code).toBe('call_not_recorded');
    expect(problem.textContent).toContain('remote: too long');
    fireEvent.click(within(problem).getByRole('button', { name: 'Retry' }));
    await waitFor(() => expect(bridge.telephony.callEvents.map((e) => e.event)).toEqual(['ringing']));
  });

  it('raises a desktop notification for a missed call while the window is in the background; clicking it opens the history', async () => {
    const shown: { title: string; body: string; tag: string; onclick: (() => void) | null; close(): void }[] = [];
    class StandInNotification {
      static permission = 'granted';
      static requestPermission = () => Promise.resolve('granted');
      onclick: (() => void) | null = null;
      constructor(
        readonly title: string,
        readonly options: { body: string; tag: string },
      ) {
        shown.push(Object.assign(this, { body: options.body, tag: options.tag }) as never);
      }
      close() {
        closed.push((this as unknown as { tag: string }).tag);
      }
    }
    const closed: string[] = [];
    const realNotification = Object.getOwnPropertyDescriptor(window, 'Notification');
    const realHasFocus = document.hasFocus.bind(document);
    Object.defineProperty(window, 'Notification', { configurable: true, writable: true, value: StandInNotification });
    document.hasFocus = () => false;
    try {
      const { engine } = await startPhone();
      const id = await ringFromYamada(engine);
      act(() => engine.ended(id, 'cancelled'));
      await screen.findByTestId('missed-notice');
      const missed = shown.find((n) => n.tag === 'missed-yamada-call');
      expect(missed?.title).toBe('Missed call');
      expect(missed?.body).toBe('山田 太郎');
      // One missed-call notification at a time, like the in-app notice: the next closes it
      // (each stays until closed, and the page keeps every one shown alive).
      let second = '';
      act(() => {
        second = engine.ring({ from: YAMADA_FROM }, { sipCallId: 'yamada-again' }).id;
      });
      await waitFor(() => expect(screen.getByTestId('screen-pop').dataset.callId).toBe('yamada-again'));
      act(() => engine.ended(second, 'cancelled'));
      await waitFor(() => expect(shown.map((n) => n.tag)).toContain('missed-yamada-again'));
      expect(closed).toEqual(['missed-yamada-call']);
      act(() => shown.find((n) => n.tag === 'missed-yamada-again')!.onclick?.());
      await screen.findByTestId('call-history');
    } finally {
      if (realNotification) Object.defineProperty(window, 'Notification', realNotification);
      else delete (window as { Notification?: unknown }).Notification;
      document.hasFocus = realHasFocus;
    }
  });

  it('lists call records the server refused later, and sends one again or discards it', async () => {
    const { bridge } = await startPhone();
    const refusal = (id: string, event: 'missed' | 'ended') => ({
      id,
      input: { callId: 'c1@test', event, direction: 'inbound' as const, remote: '+81312345678', customerId: null, at: '2026-12-02T01:30:00.000Z' },
      code: 'invalid_input',
      message: 'body.remote: not accepted',
      refusedAt: '2026-12-02T01:31:00.000Z',
    });
    bridge.telephony.refusedCallEvents.push(refusal('6f1c1a52-3f0e-4f43-9d0b-1d1f1d7c0001', 'missed'), refusal('6f1c1a52-3f0e-4f43-9d0b-1d1f1d7c0002', 'ended'));
    act(() => bridge.emit('calls:refused', { refused: [...bridge.telephony.refusedCallEvents] }));
    const list = await screen.findByTestId('refused-calls');
    expect(list.textContent).toContain('The server did not accept 2 call records');
    const [first, second] = within(list).getAllByTestId('refused-call');
    expect(first!.textContent).toContain('Missed call');
    expect(first!.textContent).toContain('body.remote: not accepted');

    fireEvent.click(within(first!).getByRole('button', { name: 'Send again' }));
    await waitFor(() => expect(within(screen.getByTestId('refused-calls')).getAllByTestId('refused-call')).toHaveLength(1));
    expect(bridge.telephony.callEvents.map((e) => e.event)).toEqual(['missed']);

    fireEvent.click(within(second!).getByRole('button', { name: 'Discard' }));
    await waitFor(() => expect(screen.queryByTestId('refused-calls')).toBeNull());
    expect(bridge.telephony.callEvents.map((e) => e.event)).toEqual(['missed']);
  });
});

describe('what ended calls leave behind (issue 13 item 7, memory)', () => {
  it('keeps no ended call and no screen pop after a run of missed calls, ended before or after their pop arrived', async () => {
    const { engine } = await startPhone();
    for (let n = 0; n < 30; n++) {
      let id = '';
      act(() => {
        id = engine.ring({ from: YAMADA_FROM }, { sipCallId: `missed-${n}` }).id;
      });
      // Every other caller gives up while the core's answer is still on its way.
      if (n % 2 === 0) await waitFor(() => expect(useScreenPopStore.getState().pops[id]?.phase).toBe('found'));
      act(() => engine.ended(id));
      await waitFor(() => expect(usePhoneStore.getState().calls).toEqual([]));
    }
    // A lookup answered after its call ended must not bring the pop back: once a later call's
    // pop is in, every earlier lookup has been answered too.
    let last = '';
    act(() => {
      last = engine.ring({ from: YAMADA_FROM }, { sipCallId: 'last' }).id;
    });
    await waitFor(() => expect(useScreenPopStore.getState().pops[last]?.phase).toBe('found'));
    act(() => engine.ended(last));
    await waitFor(() => expect(usePhoneStore.getState().calls).toEqual([]));
    expect(useScreenPopStore.getState().pops).toEqual({});
    expect(usePhoneStore.getState().focusedCallId).toBeNull();
    expect(screen.queryByTestId('call-card')).toBeNull();
  });
});
