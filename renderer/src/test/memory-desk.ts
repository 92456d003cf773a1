import type { Assignee } from '../../../shared/api.js';
import type { Customer, Incident } from '../../../shared/domain.js';
import type { CachedContact, CallbackListView, CallHistoryView, DeskIpcChannel, IpcHandlerTable, SessionInfo } from '../../../shared/ipc.js';
import { CodedError } from '../../../shared/result.js';

type Records = Map<string, { customer: Customer; incidents: Incident[]; contacts: CachedContact[] }>;

/** The desk channels of the memory core (renderer tests): incidents, customer edits, call history. */
export class MemoryDesk {
  history: CallHistoryView = { calls: [], callbacks: [], missedUnseen: 0, seenAt: null, source: 'cache' };
  callbackList: CallbackListView = { mine: [], teamOverdue: [], source: 'cache' };
  assignees: Assignee[] = [];
  private seq = 0;

  constructor(
    private readonly options: { session: () => SessionInfo | null; customers: Records; queuedWrite: () => void },
  ) {}

  private requireSession(): SessionInfo {
    const session = this.options.session();
    if (!session) throw new CodedError('unauthenticated', 'not signed in');
    return session;
  }

  private recordOfIncident(incidentId: string) {
    const record = [...this.options.customers.values()].find((r) => r.incidents.some((i) => i.id === incidentId));
    if (!record) throw new CodedError('not_found', `incident ${incidentId} is not in the cache`);
    return record;
  }

  readonly handlers: Pick<IpcHandlerTable, DeskIpcChannel> = {
    'incidents:create': async ({ customerId, title, assigneeId }) => {
      this.requireSession();
      const record = this.options.customers.get(customerId);
      if (!record) throw new CodedError('not_found', `customer ${customerId} is not in the cache`);
      this.seq += 1;
      const at = new Date().toISOString();
      const incident: Incident = {
        id: `10000000-0000-4000-8000-${String(this.seq).padStart(12, '0')}`,
        customerId,
        title,
        status: 'open',
        assigneeId,
        assigneeName: this.assignees.find((a) => a.id === assigneeId)?.displayName ?? null,
        openedAt: at,
        closedAt: null,
        updatedAt: at,
      };
      record.incidents = [incident, ...record.incidents];
      this.options.queuedWrite();
      return incident;
    },
    'incidents:update': async ({ incidentId, title, status, assigneeId }) => {
      this.requireSession();
      const record = this.recordOfIncident(incidentId);
      const at = new Date().toISOString();
      let updated: Incident | null = null;
      record.incidents = record.incidents.map((incident) => {
        if (incident.id !== incidentId) return incident;
        updated = {
          ...incident,
          ...(title !== undefined ? { title } : {}),
          ...(status !== undefined ? { status, closedAt: status === 'closed' ? at : null } : {}),
          ...(assigneeId !== undefined
            ? { assigneeId, assigneeName: this.assignees.find((a) => a.id === assigneeId)?.displayName ?? null }
            : {}),
          updatedAt: at,
        };
        return updated;
      });
      this.options.queuedWrite();
      return updated!;
    },
    'contacts:move': async ({ contactId, incidentId }) => {
      this.requireSession();
      const record = this.recordOfIncident(incidentId);
      const contact = record.contacts.find((c) => c.id === contactId);
      if (!contact) throw new CodedError('invalid_input', 'incidentId: a contact moves only between incidents of its own customer');
      const moved = { ...contact, incidentId };
      record.contacts = record.contacts.map((c) => (c.id === contactId ? moved : c));
      this.options.queuedWrite();
      return moved;
    },
    'customers:assignees': async () => {
      this.requireSession();
      return this.assignees;
    },
    'customers:update': async ({ customerId, changes }) => {
      this.requireSession();
      const record = this.options.customers.get(customerId);
      if (!record) throw new CodedError('not_found', `customer ${customerId} is not in the cache`);
      const { phones, ...rest } = changes;
      record.customer = {
        ...record.customer,
        ...Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)),
        ...(phones ? { phones: phones.map((p) => ({ e164: p.number, kind: p.kind ?? 'landline' })) } : {}),
      } as Customer;
      return { ...record, source: 'online' as const };
    },
    'calls:history': async () => {
      this.requireSession();
      return this.history;
    },
    'calls:historyCounts': async () => {
      this.requireSession();
      return { missedUnseen: this.history.missedUnseen };
    },
    'calls:historySeen': async () => {
      this.requireSession();
      this.history = { ...this.history, missedUnseen: 0, seenAt: new Date().toISOString() };
      return this.history;
    },
    'callbacks:list': async () => {
      this.requireSession();
      return this.callbackList;
    },
    'callbacks:complete': async ({ callbackId }) => {
      this.requireSession();
      const at = new Date().toISOString();
      this.callbackList = {
        ...this.callbackList,
        mine: this.callbackList.mine.filter((c) => c.id !== callbackId),
        teamOverdue: this.callbackList.teamOverdue.filter((c) => c.id !== callbackId),
      };
      this.history = {
        ...this.history,
        callbacks: this.history.callbacks.map((c) => (c.id === callbackId ? { ...c, doneAt: at, doneReason: 'marked', pending: true } : c)),
      };
      this.options.queuedWrite();
      return null;
    },
  };
}
