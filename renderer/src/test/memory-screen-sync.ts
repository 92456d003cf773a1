import type { IpcHandlerTable, ScreenSyncIpcChannel, SessionInfo } from '../../../shared/ipc.js';
import { CodedError } from '../../../shared/result.js';
import type { ScreenSyncFeed, ScreenSyncPointer, ScreenSyncView } from '../../../shared/screen-sync.js';

/** Screen sync's channels for renderer tests: one share waiting for `code`, its batches set by the test. */
export class MemoryScreenSync {
  code = '123456';
  batches: ScreenSyncFeed['batches'] = [];
  readonly pointers: ScreenSyncPointer[] = [];
  session: ScreenSyncView | null = null;

  constructor(private readonly requireSession: () => SessionInfo) {}

  readonly handlers: Pick<IpcHandlerTable, ScreenSyncIpcChannel> = {
    'screenSync:join': async ({ code }) => {
      this.requireSession();
      if (code !== this.code) throw new CodedError('forbidden', 'code: wrong or expired code');
      this.session = { id: 'share-1', state: 'active', endReason: null, callId: 'call-1', customerId: 'c-1', startedAt: new Date().toISOString(), endedAt: null };
      return this.session;
    },
    'screenSync:feed': async ({ after }) => {
      if (!this.session) throw new CodedError('not_found', 'no such screen share of yours');
      return { session: this.session, reset: after === 0 && this.batches.length > 0, batches: this.batches.filter((batch) => batch.seq > after) };
    },
    'screenSync:highlight': async ({ pointer }) => {
      if (!this.session) throw new CodedError('not_found', 'no such screen share of yours');
      this.pointers.push(pointer);
      return this.session;
    },
    'screenSync:stop': async () => {
      if (!this.session) throw new CodedError('not_found', 'no such screen share of yours');
      this.session = { ...this.session, state: 'ended', endReason: 'operator_stopped', endedAt: new Date().toISOString() };
      return this.session;
    },
  };
}
