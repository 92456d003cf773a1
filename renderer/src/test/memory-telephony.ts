import type { AgentStatus } from '../../../shared/api.js';
import type { Customer, Incident } from '../../../shared/domain.js';
import type {
  AgentStatusState,
  CachedContact,
  CallEventInput,
  CallWrapUpInput,
  IpcHandlerTable,
  RefusedCallEvent,
  SessionInfo,
  SipCredentials,
  TelephonySettings,
} from '../../../shared/ipc.js';
import { mayCreateCustomerFromCall } from '../../../shared/permissions.js';
import { isMobileNumber, toE164 } from '../../../shared/phone.js';
import { CodedError, type AppError } from '../../../shared/result.js';

/**
 * The telephony channels of the in-memory core (renderer tests only): SIP credentials and
 * settings, call events and operator statuses as recorded, the wrap-up as a pending call
 * contact in the customer's tree, and "create customer". MemoryBridge checks every payload
 * and result against the shared schemas like every other channel.
 */

type TelephonyChannel =
  | 'sip:credentials'
  | 'telephony:settings'
  | 'calls:event'
  | 'calls:refused'
  | 'calls:resendRefused'
  | 'calls:discardRefused'
  | 'calls:wrapUp'
  | 'agent:setStatus'
  | 'agent:status'
  | 'customers:create';

export interface TelephonyCustomerRecord {
  customer: Customer;
  incidents: Incident[];
  contacts: CachedContact[];
}

export interface MemoryTelephonyHost {
  session(): SessionInfo | null;
  customers: Map<string, TelephonyCustomerRecord>;
  /** A write went to the outbox (the sync status counts it). */
  queuedWrite(): void;
}

export const TEST_SIP_CREDENTIALS: SipCredentials = {
  wsUrl: 'ws://127.0.0.1:5066',
  aor: 'sip:sato@tsunagu.test',
  username: '1893456000:sato',
  password: 'not-a-real-password',
  expiresAt: '2030-01-01T00:00:00.000Z',
  displayName: '佐藤 花子',
};

export const TEST_TELEPHONY_SETTINGS: Omit<TelephonySettings, 'defaultRegion'> = {
  dispositions: [
    { code: 'resolved', label: '解決済み' },
    { code: 'callback', label: '折り返し予定' },
  ],
  customerIdHeader: 'X-Customer-Id',
  afterCallWorkSeconds: 120,
  dtmfMode: 'rfc4733',
  ringSeconds: 15,
};

export class MemoryTelephony {
  credentials: SipCredentials = TEST_SIP_CREDENTIALS;
  /** When set, 'sip:credentials' fails with it (a user without a SIP account, the backend down). */
  credentialsError: AppError | null = null;
  settings: Omit<TelephonySettings, 'defaultRegion'> = TEST_TELEPHONY_SETTINGS;
  readonly callEvents: CallEventInput[] = [];
  /** Call events the "backend" refused; tests fill it and emit `calls:refused`. */
  readonly refusedCallEvents: RefusedCallEvent[] = [];
  readonly statuses: AgentStatus[] = [];
  /** The core's view of the status; `statusAnswer` says what the backend does with the next choice. */
  statusState: AgentStatusState | null = null;
  statusAnswer: 'confirm' | 'offline' | AppError = 'confirm';
  readonly wrapUps: CallWrapUpInput[] = [];
  #sequence = 0;

  constructor(private readonly host: MemoryTelephonyHost) {}

  #requireSession(): SessionInfo {
    const session = this.host.session();
    if (!session) throw new CodedError('unauthenticated', 'not signed in');
    return session;
  }

  #answerStatus(state: AgentStatusState): AgentStatusState {
    if (this.statusAnswer === 'confirm') return { ...state, confirmed: true };
    if (this.statusAnswer === 'offline') return state;
    return { ...state, error: this.statusAnswer };
  }

  /** The backend took the waiting status (what the core's `agent:status` event then says). */
  confirmWaitingStatus(): AgentStatusState {
    if (!this.statusState) throw new Error('no status was chosen');
    this.statusAnswer = 'confirm';
    this.statusState = { ...this.statusState, confirmed: true, error: null };
    return this.statusState;
  }

  #takeRefused(id: string): RefusedCallEvent {
    const index = this.refusedCallEvents.findIndex((entry) => entry.id === id);
    if (index < 0) throw new CodedError('not_found', `refused call event ${id}: not on this computer`);
    return this.refusedCallEvents.splice(index, 1)[0]!;
  }

  #id(prefix: string): string {
    this.#sequence += 1;
    return `${prefix}-${String(this.#sequence).padStart(4, '0')}`;
  }

  readonly handlers: Pick<IpcHandlerTable, TelephonyChannel> = {
    'sip:credentials': async () => {
      this.#requireSession();
      if (this.credentialsError) throw new CodedError(this.credentialsError.code, this.credentialsError.message);
      return this.credentials;
    },
    'telephony:settings': async () => {
      const session = this.#requireSession();
      return { ...this.settings, defaultRegion: session.tenant.defaultRegion };
    },
    'calls:event': async (event) => {
      this.#requireSession();
      this.callEvents.push(event);
      return null;
    },
    'calls:refused': async () => {
      this.#requireSession();
      return [...this.refusedCallEvents];
    },
    'calls:resendRefused': async ({ id }) => {
      this.#requireSession();
      this.callEvents.push(this.#takeRefused(id).input);
      return [...this.refusedCallEvents];
    },
    'calls:discardRefused': async ({ id }) => {
      this.#requireSession();
      this.#takeRefused(id);
      return [...this.refusedCallEvents];
    },
    'agent:setStatus': async ({ status }) => {
      this.#requireSession();
      this.statuses.push(status);
      this.statusState = this.#answerStatus({ status, changedAt: new Date().toISOString(), confirmed: false, error: null });
      return this.statusState;
    },
    'agent:status': async () => {
      this.#requireSession();
      return this.statusState;
    },
    'calls:wrapUp': async (input) => {
      const session = this.#requireSession();
      const record = this.host.customers.get(input.customerId);
      if (!record) throw new CodedError('not_found', `customerId: customer ${input.customerId} is not in the cache`);
      let incidentId = input.incidentId;
      if (incidentId === null) {
        const now = new Date().toISOString();
        const incident: Incident = {
          id: this.#id('inc-call'),
          customerId: record.customer.id,
          title: input.newIncidentTitle ?? '',
          status: 'open',
          assigneeId: session.user.id,
          assigneeName: session.user.displayName,
          openedAt: now,
          closedAt: null,
          updatedAt: now,
        };
        record.incidents = [...record.incidents, incident];
        incidentId = incident.id;
      } else if (!record.incidents.some((incident) => incident.id === incidentId)) {
        throw new CodedError('not_found', `incidentId: incident ${incidentId} is not this customer's`);
      }
      this.wrapUps.push(input);
      const answered = input.answeredAt === null ? null : Date.parse(input.answeredAt);
      const contact: CachedContact = {
        id: `00000000-0000-4000-9000-${String(++this.#sequence).padStart(12, '0')}`,
        incidentId,
        customerId: record.customer.id,
        kind: 'call',
        direction: input.direction,
        occurredAt: input.startedAt,
        agentId: session.user.id,
        agentName: session.user.displayName,
        summary: input.summary,
        body: input.body,
        callMeta: {
          callId: input.callId,
          startedAt: input.startedAt,
          answeredAt: input.answeredAt,
          endedAt: input.endedAt,
          durationSeconds: answered === null ? 0 : Math.max(0, Math.round((Date.parse(input.endedAt) - answered) / 1000)),
          disposition: input.disposition,
          callbackNeeded: input.callbackNeeded,
        },
        pending: true,
      };
      record.contacts = [...record.contacts, contact];
      this.host.queuedWrite();
      return contact;
    },
    'customers:create': async (input) => {
      const session = this.#requireSession();
      if (!mayCreateCustomerFromCall(session.user)) {
        throw new CodedError('forbidden', 'this user may not create customers');
      }
      const region = session.tenant.defaultRegion === 'JP' ? 'JP' : undefined;
      const phones = input.phones.map((phone, index) => {
        const e164 = toE164(phone.number, region);
        if (!e164) throw new CodedError('invalid_input', `phones.${index}.number: not a phone number`);
        return { e164, kind: phone.kind ?? (isMobileNumber(e164) ? ('mobile' as const) : ('landline' as const)) };
      });
      const customer: Customer = {
        id: this.#id('cust-new'),
        code: input.code,
        name: input.name,
        nameKana: input.nameKana,
        phones,
        emails: input.emails,
        postalCode: input.postalCode,
        address: input.address,
        branch: input.branch ?? session.user.branch,
        assignedRepId: input.assignedRepId,
        assignedRepName: null,
        classification: input.classification,
        type: input.type,
        updatedAt: new Date().toISOString(),
      };
      this.host.customers.set(customer.id, { customer, incidents: [], contacts: [] });
      return { customer, incidents: [], contacts: [], source: 'online' as const };
    },
  };
}
