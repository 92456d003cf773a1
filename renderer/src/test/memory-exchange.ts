import { resolvePolicy, type ExchangeExportSummary, type ExchangeRecord } from '../../../shared/exchange.js';
import type { IpcHandlerTable, SessionInfo } from '../../../shared/ipc.js';
import { isPartnerUser, mayManageExchange } from '../../../shared/permissions.js';
import { CodedError } from '../../../shared/result.js';

type ExchangeChannel = Extract<keyof IpcHandlerTable, `exchange:${string}`>;

/** The exchange channels of the memory core (renderer tests): the backend's rules, in memory. */
export class MemoryExchange {
  exports: ExchangeExportSummary[] = [];
  partners: string[] = ['Partner A'];
  /** What a preview or an export holds, whatever the filter. */
  records: ExchangeRecord[] = [{ customerRef: 'CUST-ABCDEFGHJK', customerName: 'PERSON-ABCDEFGHJK', summary: '[PHONE] より入電' }];
  readonly downloads: { exportId: string; format: string }[] = [];

  constructor(private readonly options: { session: () => SessionInfo | null }) {}

  private user() {
    const session = this.options.session();
    if (!session) throw new CodedError('unauthenticated', 'not signed in');
    return session.user;
  }

  private requireAdmin(): void {
    if (!mayManageExchange(this.user())) throw new CodedError('forbidden', 'only admins manage the exchange');
  }

  private visible(): ExchangeExportSummary[] {
    const user = this.user();
    if (!isPartnerUser(user)) {
      this.requireAdmin();
      return this.exports;
    }
    return this.exports
      .filter((entry) => entry.sharedWith.includes(user.partnerOrg ?? ''))
      .map((entry) => ({ ...entry, sharedWith: [user.partnerOrg ?? ''] }));
  }

  readonly handlers: Pick<IpcHandlerTable, ExchangeChannel> = {
    'exchange:list': async () => this.visible(),
    'exchange:partners': async () => {
      this.requireAdmin();
      return this.partners;
    },
    'exchange:preview': async ({ policy, limit }) => {
      this.requireAdmin();
      const fields = Object.entries(resolvePolicy(policy)).flatMap(([field, action]) => (action === 'drop' ? [] : [field]));
      return { total: this.records.length, fields, records: this.records.slice(0, limit) };
    },
    'exchange:create': async ({ title, filter }) => {
      this.requireAdmin();
      const summary = { id: `export-${this.exports.length + 1}`, title, createdAt: '2026-12-01T00:00:00.000Z', createdBy: this.user().displayName, recordCount: this.records.length, filter, sharedWith: [] };
      this.exports = [summary, ...this.exports];
      return summary;
    },
    'exchange:share': async ({ exportId, partnerOrg }) => {
      this.requireAdmin();
      const found = this.exports.find((entry) => entry.id === exportId);
      if (!found) throw new CodedError('not_found', 'no such export');
      if (!found.sharedWith.includes(partnerOrg)) found.sharedWith = [...found.sharedWith, partnerOrg].sort();
      return found;
    },
    'exchange:download': async ({ exportId, format }) => {
      if (!this.visible().some((entry) => entry.id === exportId)) throw new CodedError('not_found', 'no such export');
      this.downloads.push({ exportId, format });
      return { fileName: `exchange-${exportId}.${format}`, mediaType: 'text/plain', content: JSON.stringify({ records: this.records }) };
    },
  };
}
