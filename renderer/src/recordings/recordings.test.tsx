import { act, configure, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import type { CachedContact } from '../../../shared/ipc.js';
import type { Recording } from '../../../shared/recordings.js';
import { HelpButton } from '../help/HelpButton.js';
import { installSignedInBridge, registerRendererCleanup } from '../test/harness.js';
import { YAMADA } from '../test/fixtures.js';
import type { MemoryBridge } from '../test/memory-bridge.js';
import { CallRecordingControl } from './CallRecordingControl.js';
import { ContactRecordings } from './ContactRecordings.js';
import { computePeaks } from './waveform.js';

registerRendererCleanup();
// The machine running the suite may be busy: waiting on the UI is bounded, never timed.
configure({ asyncUtilTimeout: 10_000 });

const CALL_CONTACT: CachedContact = { ...YAMADA.contacts[0]!, pending: false };
const RECORDING: Recording = {
  id: 'rec-1',
  callId: 'sip-call-1',
  customerId: YAMADA.customer.id,
  startedAt: '2024-04-20T01:05:10Z',
  durationMs: 20_000,
  sizeBytes: 80_000,
  sha256: 'a'.repeat(64),
  mimeType: 'audio/ogg',
  pauses: [{ fromMs: 5_000, toMs: 9_000 }],
  legalHold: false,
  legalHoldReason: null,
};

let bridge: MemoryBridge;
beforeEach(() => {
  bridge = installSignedInBridge();
  // jsdom plays nothing: play() resolves and reports the "play" event as a browser would.
  vi.spyOn(HTMLMediaElement.prototype, 'play').mockImplementation(function (this: HTMLMediaElement) {
    this.dispatchEvent(new Event('play'));
    return Promise.resolve();
  });
  vi.spyOn(HTMLMediaElement.prototype, 'pause').mockImplementation(function (this: HTMLMediaElement) {
    this.dispatchEvent(new Event('pause'));
  });
});
afterEach(() => {
  vi.restoreAllMocks();
});

describe('the waveform', () => {
  it('is the loudest sample of each stretch, over every channel, scaled to the loudest', () => {
    const left = new Float32Array([0, 0.125, -0.5, 0.25, 0, 0, 0.0625, -0.0625]);
    const right = new Float32Array([0, 0, 0, 0, 0.25, -0.125, 0, 0]);
    expect(computePeaks([left, right], 4)).toEqual([0.25, 1, 0.5, 0.125]);
    expect(computePeaks([new Float32Array(8)], 2)).toEqual([0, 0]);
    expect(computePeaks([], 3)).toEqual([0, 0, 0]);
  });
});

describe('recordings of a call contact', () => {
  it('lists the recording and, once opened, plays it with a waveform, the pause on the timeline, seeking and speed', async () => {
    bridge.recordings.byContact.set(CALL_CONTACT.id, [RECORDING]);
    bridge.recordings.audioUrl = 'http://127.0.0.1:8740/api/recording-audio/rec-1?ticket=abc';
    const loadPeaks = vi.fn(async (_url: string, bars: number) => Array.from({ length: bars }, (_, i) => (i % 10) / 10));
    render(<ContactRecordings contact={CALL_CONTACT} loadPeaks={loadPeaks} />);
    const section = await screen.findByTestId('contact-recordings');
    expect(within(section).getByTestId('recording').textContent).toContain('00:20');
    expect(screen.queryByTestId('recording-player')).toBeNull();
    expect(bridge.callsTo('recordings:ticket')).toEqual([]);

    fireEvent.click(within(section).getByRole('button', { name: 'Play recording' }));
    const player = await screen.findByTestId('recording-player');
    expect(bridge.callsTo('recordings:ticket')).toEqual([{ recordingId: 'rec-1', purpose: 'play' }]);
    const audio = within(player).getByTestId<HTMLAudioElement>('recording-audio');
    expect(audio.getAttribute('src')).toBe('http://127.0.0.1:8740/api/recording-audio/rec-1?ticket=abc');
    await waitFor(() => expect(loadPeaks).toHaveBeenCalledWith('http://127.0.0.1:8740/api/recording-audio/rec-1?ticket=abc', expect.any(Number)));
    const waveform = await within(player).findByTestId('recording-waveform');
    expect(waveform.querySelectorAll('rect').length).toBeGreaterThan(100);

    // The operator's pause: 5 s to 9 s of 20 s.
    const pause = within(player).getByTestId('recording-pause');
    expect(pause.style.left).toBe('25%');
    expect(pause.style.width).toBe('20%');
    expect(player.textContent).toContain('00:05–00:09');

    fireEvent.click(within(player).getByRole('button', { name: 'Play' }));
    expect(within(player).getByTestId('recording-play').getAttribute('aria-pressed')).toBe('true');
    expect(within(player).getByRole('button', { name: 'Pause' })).toBeTruthy();

    const timeline = within(player).getByRole('slider', { name: 'Position in the recording' });
    fireEvent.keyDown(timeline, { key: 'ArrowRight' });
    expect(audio.currentTime).toBe(5);
    expect(timeline.getAttribute('aria-valuenow')).toBe('5');
    fireEvent.keyDown(timeline, { key: 'End' });
    expect(audio.currentTime).toBe(20);
    fireEvent.keyDown(timeline, { key: 'Home' });
    expect(audio.currentTime).toBe(0);
    vi.spyOn(timeline, 'getBoundingClientRect').mockReturnValue({ left: 100, width: 400, top: 0, height: 64, right: 500, bottom: 64, x: 100, y: 0, toJSON: () => ({}) });
    fireEvent.click(timeline, { clientX: 200 });
    expect(audio.currentTime).toBe(5);

    fireEvent.change(within(player).getByLabelText('Speed'), { target: { value: '1.5' } });
    expect(audio.playbackRate).toBe(1.5);
    expect([...within(player).getByLabelText<HTMLSelectElement>('Speed').options].map((o) => o.value)).toEqual(['0.75', '1', '1.25', '1.5', '2']);
  });

  it('asks for a fresh ticket when audio that played fails (its ticket expired), and shows a source that never loaded as failed', async () => {
    bridge.recordings.byContact.set(CALL_CONTACT.id, [RECORDING]);
    bridge.recordings.audioUrl = 'http://127.0.0.1:8740/api/recording-audio/rec-1?ticket=first';
    render(<ContactRecordings contact={CALL_CONTACT} loadPeaks={async () => [0.5]} />);
    fireEvent.click(await screen.findByRole('button', { name: 'Play recording' }));
    const audio = await screen.findByTestId<HTMLAudioElement>('recording-audio');
    fireEvent(audio, new Event('loadedmetadata'));
    bridge.recordings.audioUrl = 'http://127.0.0.1:8740/api/recording-audio/rec-1?ticket=second';
    fireEvent.error(audio);
    await waitFor(() => expect(audio.getAttribute('src')).toBe('http://127.0.0.1:8740/api/recording-audio/rec-1?ticket=second'));
    expect(bridge.callsTo('recordings:ticket')).toHaveLength(2);
    expect(screen.queryByRole('alert')).toBeNull();
    fireEvent.error(audio);
    expect((await screen.findByRole('alert')).textContent).toContain('could not be played');
    expect(bridge.callsTo('recordings:ticket')).toHaveLength(2);
  });

  it('shows nothing at all, neither list nor player, to a user the backend refuses (403)', async () => {
    bridge.recordings.byContact.set(CALL_CONTACT.id, [RECORDING]);
    bridge.recordings.forbiddenContacts.add(CALL_CONTACT.id);
    const { container } = render(<ContactRecordings contact={CALL_CONTACT} />);
    await waitFor(() => expect(bridge.callsTo('recordings:list')).toHaveLength(1));
    await act(async () => {});
    expect(container.innerHTML).toBe('');
    expect(screen.queryByTestId('recording-player')).toBeNull();
  });

  it('downloads with a download ticket and saves the file under the recording\'s name; a failure is said', async () => {
    bridge.recordings.byContact.set(CALL_CONTACT.id, [RECORDING]);
    const fetched: string[] = [];
    vi.spyOn(globalThis, 'fetch').mockImplementation(async (input) => {
      fetched.push(String(input));
      return new Response(new Uint8Array([1, 2, 3]), { status: 200, headers: { 'content-type': 'audio/ogg' } });
    });
    const saved: { name: string; href: string }[] = [];
    // jsdom has no object URLs: put stand-ins in for this test only.
    const { createObjectURL, revokeObjectURL } = URL;
    URL.createObjectURL = vi.fn(() => 'blob:test/1');
    URL.revokeObjectURL = vi.fn();
    onTestFinished(() => {
      URL.createObjectURL = createObjectURL;
      URL.revokeObjectURL = revokeObjectURL;
    });
    vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (this: HTMLAnchorElement) {
      saved.push({ name: this.download, href: this.href });
    });
    render(<ContactRecordings contact={CALL_CONTACT} />);
    fireEvent.click(await screen.findByRole('button', { name: /^Download the recording of/ }));
    await waitFor(() => expect(saved).toEqual([{ name: 'recording-rec-1.ogg', href: 'blob:test/1' }]));
    expect(bridge.callsTo('recordings:ticket')).toEqual([{ recordingId: 'rec-1', purpose: 'download' }]);
    expect(fetched).toEqual([bridge.recordings.audioUrl]);
    expect(screen.getByTestId('recording-download-status').textContent).toContain('recording-rec-1.ogg');

    vi.mocked(globalThis.fetch).mockImplementation(async () => new Response('gone', { status: 500 }));
    fireEvent.click(screen.getByRole('button', { name: /^Download the recording of/ }));
    expect((await screen.findByRole('alert')).textContent).toContain('could not be downloaded');
    expect(saved).toHaveLength(1);
  });

  it('says recordings need the connection when the backend cannot be reached', async () => {
    bridge.failNext('recordings:list', { code: 'offline', message: 'backend unreachable' });
    render(<ContactRecordings contact={CALL_CONTACT} />);
    expect((await screen.findByTestId('contact-recordings')).textContent).toContain('only while the app is online');
  });
});

describe('the recording in the call card', () => {
  it('shows "Recording", pauses and resumes it through the backend', async () => {
    bridge.recordings.callStates.set('sip-1', { state: 'recording', mayRecord: false });
    render(<CallRecordingControl sipCallId="sip-1" />);
    const control = await screen.findByTestId('call-recording');
    await waitFor(() => expect(control.dataset.state).toBe('recording'));
    expect(within(control).getByRole('status').textContent).toBe('Recording');
    fireEvent.click(within(control).getByRole('button', { name: 'Pause recording' }));
    await waitFor(() => expect(control.dataset.state).toBe('paused'));
    expect(within(control).getByRole('status').textContent).toBe('Recording paused');
    fireEvent.click(within(control).getByRole('button', { name: 'Resume recording' }));
    await waitFor(() => expect(control.dataset.state).toBe('recording'));
    expect(bridge.recordings.controls).toEqual([
      { callId: 'sip-1', action: 'pause' },
      { callId: 'sip-1', action: 'resume' },
    ]);
  });

  it('tells the operator "Not recording" when the recorder is down, with no pause button', async () => {
    bridge.recordings.callStates.set('sip-2', { state: 'unavailable', mayRecord: false });
    render(<CallRecordingControl sipCallId="sip-2" />);
    const control = await screen.findByTestId('call-recording');
    await waitFor(() => expect(control.dataset.state).toBe('unavailable'));
    expect(within(control).getByRole('status').textContent).toContain('Not recording: the recorder is down');
    expect(within(control).queryByRole('button')).toBeNull();
  });

  it('offers "Record this call" under the on-demand policy, and picks up a recorder that went down mid-call', async () => {
    bridge.recordings.callStates.set('sip-3', { state: 'off', mayRecord: true });
    render(<CallRecordingControl sipCallId="sip-3" pollMs={20} />);
    const control = await screen.findByTestId('call-recording');
    fireEvent.click(await within(control).findByRole('button', { name: 'Record this call' }));
    await waitFor(() => expect(control.dataset.state).toBe('recording'));
    bridge.recordings.callStates.set('sip-3', { state: 'unavailable', mayRecord: false });
    await waitFor(() => expect(control.dataset.state).toBe('unavailable'));
  });
});

describe('help on a call', () => {
  it('offers the button on a just-answered call the backend still sees as not connected, and picks up a request already made', async () => {
    // The backend answers "ended" until the call event saying it was answered reaches it.
    bridge.recordings.help.set('sip-new', { state: 'ended', requestedAt: null });
    render(<HelpButton sipCallId="sip-new" />);
    await waitFor(() => expect(bridge.callsTo('help:state')).toEqual([{ sipCallId: 'sip-new' }]));
    const help = await screen.findByTestId('call-help');
    await act(async () => undefined);
    expect(help.dataset.state).toBe('none');
    expect(within(help).getByRole('button', { name: 'Ask for help' })).toBeTruthy();

    bridge.recordings.help.set('sip-shown-again', { state: 'requested', requestedAt: '2026-12-01T00:00:00.000Z' });
    render(<HelpButton sipCallId="sip-shown-again" />);
    const again = (await screen.findAllByTestId('call-help'))[1]!;
    await waitFor(() => expect(again.dataset.state).toBe('requested'));
  });

  it('asks for a supervisor once and shows "help requested" until one joins', async () => {
    render(<HelpButton sipCallId="sip-9" pollMs={20} />);
    const help = await screen.findByTestId('call-help');
    fireEvent.click(within(help).getByRole('button', { name: 'Ask for help' }));
    await waitFor(() => expect(help.dataset.state).toBe('requested'));
    expect(within(help).getByRole('status').textContent).toContain('Help requested');
    expect(within(help).queryByRole('button')).toBeNull();
    expect(bridge.callsTo('help:request')).toEqual([{ sipCallId: 'sip-9' }]);
    bridge.recordings.help.set('sip-9', { state: 'joined', requestedAt: '2026-12-01T00:00:00.000Z' });
    await waitFor(() => expect(help.dataset.state).toBe('joined'));
    expect(within(help).getByRole('status').textContent).toContain('A supervisor has taken your request');
  });

  it('shows why a request failed', async () => {
    bridge.failNext('help:request', { code: 'conflict', message: 'callId: the call is not connected' });
    render(<HelpButton sipCallId="sip-10" />);
    fireEvent.click(await screen.findByRole('button', { name: 'Ask for help' }));
    expect((await screen.findByRole('alert')).textContent).toContain('Help could not be requested.');
  });
});
