import type { CallbackTemplateResponse, CallForYou, Seminar } from '../../../shared/calls-for-you.js';
import type { CallsForYouIpcChannel, CallsForYouView, IpcHandlerTable, IpcRequest, SessionInfo } from '../../../shared/ipc.js';
import { mayHandleCallsForYou, mayListCallsForYou } from '../../../shared/permissions.js';
import { CodedError } from '../../../shared/result.js';

/** The "calls for you" channels of the memory core (renderer tests). */
export class MemoryCallsForYou {
  /** The calls per scope, as the backend would list them. */
  entries: Partial<Record<IpcRequest<'callsForYou:list'>['scope'], CallForYou[]>> = {};
  seminars: Seminar[] = [];
  handled: IpcRequest<'callsForYou:handle'>[] = [];
  template: CallbackTemplateResponse = { subject: '件名', body: '本文', placeholders: [], updatedAt: null };
  /** The customer's address each call's callback text offers to write to; none: no e-mail. */
  readonly addresses = new Map<string, string>();
  source: 'online' | 'cache' = 'online';

  constructor(private readonly options: { session: () => SessionInfo | null; queuedWrite: () => void }) {}

  private requireSession(): SessionInfo {
    const session = this.options.session();
    if (!session) throw new CodedError('unauthenticated', 'not signed in');
    return session;
  }

  private view(scope: IpcRequest<'callsForYou:list'>['scope']): CallsForYouView {
    const session = this.requireSession();
    const queued = new Map(this.handled.map((entry) => [entry.callKey, entry]));
    const entries = (this.entries[scope] ?? []).map((entry) => {
      const mine = queued.get(entry.key);
      return entry.handled === null && mine
        ? { ...entry, handled: { at: '2026-12-01T00:00:00.000Z', by: { id: session.user.id, name: session.user.displayName }, kind: mine.action.kind, contactId: null }, pending: true }
        : { ...entry, pending: false };
    });
    const unhandled = entries.filter((entry) => entry.handled === null).length;
    return { scope, since: '2026-11-30T00:00:00.000Z', entries, counts: { handled: entries.length - unhandled, unhandled }, source: this.source };
  }

  readonly handlers: Pick<IpcHandlerTable, CallsForYouIpcChannel> = {
    'callsForYou:list': async ({ scope }) => {
      if (!mayListCallsForYou(this.requireSession().user, scope)) throw new CodedError('forbidden', `scope: you may not list "${scope}" calls`);
      return this.view(scope);
    },
    'callsForYou:counts': async ({ scope }) => {
      if (!mayListCallsForYou(this.requireSession().user, scope)) throw new CodedError('forbidden', `scope: you may not list "${scope}" calls`);
      return this.view(scope).counts;
    },
    'callsForYou:handle': async (payload) => {
      if (!mayHandleCallsForYou(this.requireSession().user)) throw new CodedError('forbidden', 'you may view calls for you but not mark them handled');
      this.handled.push(payload);
      this.options.queuedWrite();
      return null;
    },
    'callsForYou:callbackText': async ({ callKey }) => ({ subject: this.template.subject, body: `${this.template.body} ${callKey}`, toAddress: this.addresses.get(callKey) ?? null }),
    'callsForYou:template': async () => this.template,
    'callsForYou:saveTemplate': async (input) => {
      this.template = { ...this.template, ...input, updatedAt: '2026-12-01T00:00:00.000Z' };
      return this.template;
    },
    'callsForYou:seminars': async () => this.seminars,
  };
}
