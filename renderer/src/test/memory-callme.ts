import type { CALLME_IPC_CHANNELS, CallMeOffer, CallMeOutcome } from '../../../shared/callme.js';
import type { IpcEventPayload, IpcHandlerTable } from '../../../shared/ipc.js';
import { CodedError } from '../../../shared/result.js';

/** The backend's call-me routes as the renderer tests need them: one offer at a time, in memory. */
export class MemoryCallMe {
  offer: CallMeOffer | null = null;
  readonly accepted: string[] = [];
  readonly declined: string[] = [];
  readonly completed: { id: string; outcome: CallMeOutcome; callId: string | null }[] = [];

  constructor(private readonly emit: (payload: IpcEventPayload<'callme:offer'>) => void) {}

  /** The backend offers this request to the signed-in operator (null withdraws it), and the core says so. */
  push(offer: CallMeOffer | null): void {
    this.offer = offer;
    this.emit({ offer });
  }

  readonly handlers: Pick<IpcHandlerTable, keyof typeof CALLME_IPC_CHANNELS> = {
    'callme:offer': async () => ({ offer: this.offer }),
    'callme:accept': async ({ id }) => {
      const offer = this.offer;
      if (offer?.id !== id) throw new CodedError('conflict', 'this offer is no longer yours (it ran out or was passed on)');
      this.accepted.push(id);
      this.offer = null;
      return { id, customerId: offer.customerId, number: offer.number };
    },
    'callme:decline': async ({ id }) => {
      this.declined.push(id);
      if (this.offer?.id === id) this.offer = null;
      return {};
    },
    'callme:complete': async ({ id, outcome, callId }) => {
      this.completed.push({ id, outcome, callId });
      return {};
    },
  };
}
