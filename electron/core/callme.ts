import { CALLME_API, CallMeAccepted, CallMeOfferResponse, callmePath, type CALLME_IPC_CHANNELS } from '../../shared/callme.js';
import type { IpcEventPayload, IpcHandlerTable } from '../../shared/ipc.js';
import type { BackendClient } from './backend-client.js';
import type { Logger } from './logger.js';

const REQUEST_TIMEOUT_MS = 10_000;

/**
 * "Call me" offers in the core: a thin, online-only pass to the backend, which decides whom a
 * request is offered to and refuses an accept that is no longer this operator's. Nothing is
 * cached: an offer is worth something only while the backend still holds it for this operator.
 */
export function callMeHandlers(client: () => BackendClient): Pick<IpcHandlerTable, keyof typeof CALLME_IPC_CHANNELS> {
  return {
    'callme:offer': () => client().request('GET', CALLME_API.offer, CallMeOfferResponse, { timeoutMs: REQUEST_TIMEOUT_MS }),
    'callme:accept': ({ id }) => client().request('POST', callmePath(CALLME_API.accept, id), CallMeAccepted, { timeoutMs: REQUEST_TIMEOUT_MS, idempotent: true }),
    'callme:decline': async ({ id }) => {
      await client().request('POST', callmePath(CALLME_API.decline, id), null, { timeoutMs: REQUEST_TIMEOUT_MS, idempotent: true });
      return {};
    },
    'callme:complete': async ({ id, outcome, callId }) => {
      await client().request('POST', callmePath(CALLME_API.complete, id), null, { body: { outcome, callId }, timeoutMs: REQUEST_TIMEOUT_MS, idempotent: true });
      return {};
    },
  };
}

/**
 * Asks for the operator's offer when the event stream says it changed, and tells the window.
 * Answers that overtake each other never show an older offer: only the latest question counts.
 */
export function callMeOfferFollower(client: BackendClient, logger: Logger, emit: (payload: IpcEventPayload<'callme:offer'>) => void): () => void {
  let asked = 0;
  return () => {
    const question = ++asked;
    client.request('GET', CALLME_API.offer, CallMeOfferResponse, { timeoutMs: REQUEST_TIMEOUT_MS }).then(
      (answer) => {
        if (question === asked) emit(answer);
      },
      (error: unknown) => logger.warn('call me: could not read the offer', { error: error instanceof Error ? error.message : String(error) }),
    );
  };
}
