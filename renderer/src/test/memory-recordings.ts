import type { OwnHelpState } from '../../../shared/monitoring.js';
import type { IpcHandlerTable, RecordingIpcChannel, SessionInfo } from '../../../shared/ipc.js';
import type { CallRecordingState, Recording } from '../../../shared/recordings.js';
import { CodedError } from '../../../shared/result.js';

/** The recording and help channels of the memory core (renderer tests): what the backend would answer. */
export class MemoryRecordings {
  /** Recordings per contact id. */
  readonly byContact = new Map<string, Recording[]>();
  /** Contacts whose customer the user may not see: the backend answers 403. */
  readonly forbiddenContacts = new Set<string>();
  /** The URL a ticket resolves to (a test serves audio there, or not). */
  audioUrl = 'http://127.0.0.1:1/api/recording-audio/r?ticket=t';
  readonly callStates = new Map<string, CallRecordingState>();
  readonly help = new Map<string, OwnHelpState>();
  readonly controls: { callId: string; action: string }[] = [];

  constructor(private readonly options: { session: () => SessionInfo | null }) {}

  private requireSession(): SessionInfo {
    const session = this.options.session();
    if (!session) throw new CodedError('unauthenticated', 'not signed in');
    return session;
  }

  private recording(id: string): Recording {
    for (const [contactId, list] of this.byContact) {
      const found = list.find((r) => r.id === id);
      if (found && this.forbiddenContacts.has(contactId)) throw new CodedError('forbidden', 'you may not see this customer');
      if (found) return found;
    }
    throw new CodedError('not_found', 'no such recording');
  }

  readonly handlers: Pick<IpcHandlerTable, RecordingIpcChannel> = {
    'recordings:list': async ({ contactId }) => {
      this.requireSession();
      if (this.forbiddenContacts.has(contactId)) throw new CodedError('forbidden', 'you may not see this customer');
      return { recordings: this.byContact.get(contactId) ?? [] };
    },
    'recordings:ticket': async ({ recordingId }) => {
      this.requireSession();
      this.recording(recordingId);
      return { url: this.audioUrl, expiresAt: '2026-12-01T00:05:00.000Z' };
    },
    'recordings:callState': async ({ callId }) => {
      this.requireSession();
      return this.callStates.get(callId) ?? { state: 'off', mayRecord: false };
    },
    'recordings:control': async ({ callId, action }) => {
      this.requireSession();
      this.controls.push({ callId, action });
      const current = this.callStates.get(callId) ?? { state: 'off', mayRecord: false };
      const next: CallRecordingState =
        action === 'pause' ? { state: 'paused', mayRecord: false } : action === 'resume' || action === 'record' ? { state: 'recording', mayRecord: false } : current;
      this.callStates.set(callId, next);
      return next;
    },
    'help:state': async ({ sipCallId }) => {
      this.requireSession();
      return this.help.get(sipCallId) ?? { state: 'none', requestedAt: null };
    },
    'help:request': async ({ sipCallId }) => {
      this.requireSession();
      const state: OwnHelpState = { state: 'requested', requestedAt: '2026-12-01T00:00:00.000Z' };
      this.help.set(sipCallId, state);
      return state;
    },
  };
}
