import type { IpcHandlerTable, PortalIpcChannel, SessionInfo } from '../../../shared/ipc.js';
import { CodedError } from '../../../shared/result.js';
import { PortalPageInput, type CustomerPortalInfo, type PortalAdminPage } from '../../../shared/portal.js';

/** The backend's portal routes as the renderer tests need them: ranks, invitations and pages, in memory. */
export class MemoryPortal {
  readonly accounts = new Map<string, CustomerPortalInfo>();
  readonly pages: PortalAdminPage[] = [];
  invitations = 0;
  readonly media: { id: string; contentType: string; bytes: number }[] = [];

  constructor(private readonly session: () => SessionInfo) {}

  #account(customerId: string): CustomerPortalInfo {
    let account = this.accounts.get(customerId);
    if (!account) {
      account = { customerId, rank: 1, hasPassword: false, invitationPending: false, ownedProducts: [] };
      this.accounts.set(customerId, account);
    }
    return account;
  }

  readonly handlers: Pick<IpcHandlerTable, PortalIpcChannel> = {
    'portal:account': async ({ customerId }) => ({ ...this.#account(customerId) }),
    'portal:setRank': async ({ customerId, rank }) => {
      const { role } = this.session().user;
      if (role !== 'supervisor' && role !== 'admin') throw new CodedError('forbidden', 'only supervisors and admins set a customer’s portal rank');
      const account = this.#account(customerId);
      account.rank = rank;
      return { ...account };
    },
    'portal:invite': async ({ customerId }) => {
      this.invitations += 1;
      this.#account(customerId).invitationPending = true;
      return { url: `http://127.0.0.1:1/portal/demo/#/invite/token-${this.invitations}`, expiresAt: new Date(Date.now() + 7 * 86_400_000).toISOString() };
    },
    'portal:pages': async () => {
      if (this.session().user.role !== 'admin') throw new CodedError('forbidden', 'only admins edit the portal');
      return { pages: this.pages.map((page) => ({ ...page })) };
    },
    'portal:savePage': async ({ id, page }) => {
      if (this.session().user.role !== 'admin') throw new CodedError('forbidden', 'only admins edit the portal');
      const input = PortalPageInput.parse(page);
      const saved: PortalAdminPage = { id: id ?? `40000000-0000-4000-8000-${String(this.pages.length + 1).padStart(12, '0')}`, ...input, updatedAt: new Date().toISOString() };
      const index = this.pages.findIndex((entry) => entry.id === saved.id);
      if (index >= 0) this.pages[index] = saved;
      else this.pages.push(saved);
      return saved;
    },
    'portal:deletePage': async ({ id }) => {
      if (this.session().user.role !== 'admin') throw new CodedError('forbidden', 'only admins edit the portal');
      const index = this.pages.findIndex((entry) => entry.id === id);
      if (index < 0) throw new CodedError('not_found', 'no such page');
      this.pages.splice(index, 1);
      return { deleted: true };
    },
    'portal:uploadMedia': async ({ contentType, data }) => {
      if (this.session().user.role !== 'admin') throw new CodedError('forbidden', 'only admins edit the portal');
      const id = `50000000-0000-4000-8000-${String(this.media.length + 1).padStart(12, '0')}`;
      this.media.push({ id, contentType, bytes: Math.floor((data.length * 3) / 4) });
      return { id, url: `/portal/demo/media/${id}` };
    },
  };
}
