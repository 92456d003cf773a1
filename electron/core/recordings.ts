import { OWN_HELP_API, OwnHelpState } from '../../shared/monitoring.js';
import type { IpcHandlerTable, RecordingIpcChannel } from '../../shared/ipc.js';
import { CallRecordingState, RECORDING_API, RecordingListResponse, RecordingTicketResponse } from '../../shared/recordings.js';
import type { BackendClient } from './backend-client.js';

/**
 * Recordings and help on a call, in the core: thin, online-only calls to the backend, which
 * decides who may do what and audits it. Nothing here touches the cache: a recording's audio
 * streams from the backend into the renderer's <audio> element with a short-lived ticket
 * (shared/recordings.ts), so it never lands on the operator's disk.
 */

/** The call card asks often (every few seconds while a call runs): a short answer or none. */
const CALL_STATE_TIMEOUT_MS = 5_000;

export function recordingHandlers(client: () => BackendClient): Pick<IpcHandlerTable, RecordingIpcChannel> {
  return {
    'recordings:list': ({ contactId }) => client().request('GET', `${RECORDING_API.list}?${new URLSearchParams({ contactId })}`, RecordingListResponse),
    'recordings:ticket': async ({ recordingId, purpose }) => {
      const backend = client();
      const ticket = await backend.request('POST', RECORDING_API.ticket.replace(':id', encodeURIComponent(recordingId)), RecordingTicketResponse, { body: { purpose } });
      // The instance that issued the ticket is the one asked; tickets live in the shared database, so any instance serves them.
      return { url: `${backend.baseUrl}${ticket.path}`, expiresAt: ticket.expiresAt };
    },
    'recordings:callState': ({ callId }) =>
      client().request('GET', `${RECORDING_API.callState}?${new URLSearchParams({ callId })}`, CallRecordingState, { timeoutMs: CALL_STATE_TIMEOUT_MS }),
    'recordings:control': (payload) => client().request('POST', RECORDING_API.control, CallRecordingState, { body: payload }),
    'help:state': ({ sipCallId }) => client().request('GET', `${OWN_HELP_API}?${new URLSearchParams({ sipCallId })}`, OwnHelpState, { timeoutMs: CALL_STATE_TIMEOUT_MS }),
    'help:request': (payload) => client().request('POST', OWN_HELP_API, OwnHelpState, { body: payload }),
  };
}
