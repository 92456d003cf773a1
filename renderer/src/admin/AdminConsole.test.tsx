import { fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import type { AdminUser } from '../../../shared/admin.js';
import type { SessionInfo } from '../../../shared/ipc.js';
import { useSessionStore } from '../stores/session.js';
import { AGENT_SESSION, YAMADA } from '../test/fixtures.js';
import { installSignedInBridge, registerRendererCleanup } from '../test/harness.js';
import type { MemoryBridge } from '../test/memory-bridge.js';
import { AdminConsole } from './AdminConsole.js';

registerRendererCleanup();

const ADMIN: SessionInfo = { ...AGENT_SESSION, user: { ...AGENT_SESSION.user, id: 'user-admin', login: 'admin', role: 'admin' } };
const SUPERVISOR: SessionInfo = { ...AGENT_SESSION, user: { ...AGENT_SESSION.user, id: 'user-super', login: 'super1', role: 'supervisor' } };

const AGENT_ROW: AdminUser = {
  id: '50000000-0000-4000-8000-000000000099',
  tenantId: 'tenant-demo',
  login: 'agent1',
  displayName: '佐藤 一郎',
  role: 'agent',
  branch: null,
  customerLimitAuthority: 2,
  mayHandleUnregisteredCallers: false,
  callsViewOnly: false,
  callsAllBranches: false,
  disabled: false,
  sipUser: 'agent1.demo',
  createdAt: '2024-05-01T00:00:00.000Z',
  updatedAt: '2024-05-01T00:00:00.000Z',
};

function signIn(session: SessionInfo): MemoryBridge {
  const bridge = installSignedInBridge();
  bridge.session = session;
  useSessionStore.setState({ phase: 'signedIn', session });
  bridge.admin.users.push({ ...AGENT_ROW });
  return bridge;
}

/** The error shown beside a field, found by the field it names. */
const fieldError = (container: HTMLElement, field: string) => container.querySelector<HTMLElement>(`[data-testid="field-error"][data-field="${field}"]`);

describe('AdminConsole', () => {
  it('shows supervisors only the users and customers sections, admins every section', async () => {
    signIn(SUPERVISOR);
    const { unmount } = render(<AdminConsole />);
    expect(screen.getAllByRole('tab').map((tab) => tab.dataset.testid)).toEqual(['admin-tab-users', 'admin-tab-customers']);
    await waitFor(() => expect(screen.getAllByTestId('admin-user-row')).toHaveLength(1));
    expect(screen.queryByTestId('admin-create-user')).toBeNull();
    unmount();

    signIn(ADMIN);
    render(<AdminConsole />);
    expect(screen.getAllByRole('tab')).toHaveLength(6);
    expect(screen.getByTestId('admin-create-user')).toBeTruthy();
  });

  it('names every wrong field of a new user before sending, and lists the user once created', async () => {
    const bridge = signIn(ADMIN);
    render(<AdminConsole />);
    const form = screen.getByTestId('admin-create-user');
    const input = (name: RegExp) => within(form).getByLabelText(name);
    fireEvent.change(input(/^Login/), { target: { value: 'bad login!' } });
    fireEvent.change(input(/Initial password/), { target: { value: 'short' } });
    fireEvent.click(within(form).getByRole('button', { name: 'Create user' }));

    await waitFor(() => expect(fieldError(form, 'login')).not.toBeNull());
    expect(fieldError(form, 'displayName')).not.toBeNull();
    expect(fieldError(form, 'password')?.textContent).toMatch(/at least 10/);
    expect(input(/^Login/).getAttribute('aria-invalid')).toBe('true');
    expect(input(/^Login/).getAttribute('aria-describedby')).toBe(fieldError(form, 'login')?.id);
    expect(bridge.admin.users).toHaveLength(1);

    fireEvent.change(input(/^Login/), { target: { value: 'newrep' } });
    fireEvent.change(input(/^Name/), { target: { value: '新人 花子' } });
    fireEvent.change(input(/Initial password/), { target: { value: 'long-enough-pass' } });
    fireEvent.change(input(/^Branch/), { target: { value: '渋谷支店' } });
    fireEvent.click(within(form).getByRole('button', { name: 'Create user' }));
    await waitFor(() => expect(screen.getAllByTestId('admin-user-row').map((row) => row.dataset.login)).toEqual(['agent1', 'newrep']));
    expect(bridge.admin.users.find((u) => u.login === 'newrep')).toMatchObject({ branch: '渋谷支店', role: 'agent' });

    // The backend's refusal of a taken login shows beside the login field too.
    fireEvent.change(input(/^Login/), { target: { value: 'newrep' } });
    fireEvent.change(input(/^Name/), { target: { value: 'Another' } });
    fireEvent.change(input(/Initial password/), { target: { value: 'long-enough-pass' } });
    fireEvent.click(within(form).getByRole('button', { name: 'Create user' }));
    await waitFor(() => expect(fieldError(form, 'login')?.textContent).toMatch(/already taken/));
  });

  it("changes a user's authority and the unregistered-callers right, sending only what changed", async () => {
    const bridge = signIn(ADMIN);
    render(<AdminConsole />);
    fireEvent.click(await screen.findByRole('button', { name: 'Edit agent1' }));
    const editor = screen.getByTestId('admin-user-editor');
    fireEvent.change(within(editor).getByLabelText('Customer-limit authority'), { target: { value: '3' } });
    fireEvent.click(within(editor).getByLabelText('May handle unregistered callers'));
    fireEvent.click(within(editor).getByRole('button', { name: 'Save rights' }));
    await waitFor(() => expect(bridge.admin.users[0]).toMatchObject({ customerLimitAuthority: 3, mayHandleUnregisteredCallers: true, branch: null }));
    expect(within(editor).getAllByRole('status').some((s) => s.textContent === 'Saved')).toBe(true);
    expect(screen.getAllByTestId('admin-user-row')[0]!.textContent).toContain('3');

    fireEvent.change(within(editor).getByLabelText('New password'), { target: { value: 'tiny' } });
    fireEvent.click(within(editor).getByRole('button', { name: 'Reset password' }));
    await waitFor(() => expect(fieldError(editor, 'password')).not.toBeNull());
    expect(bridge.admin.passwordResets).toEqual([]);
  });

  it('creates a partner user with an organisation and none of the staff fields, and shows it in the list', async () => {
    const bridge = signIn(ADMIN);
    render(<AdminConsole />);
    const form = screen.getByTestId('admin-create-user');
    const input = (name: RegExp) => within(form).getByLabelText(name);
    fireEvent.change(input(/^Login/), { target: { value: 'partner2' } });
    fireEvent.change(input(/^Name/), { target: { value: '協力 次郎' } });
    fireEvent.change(input(/Initial password/), { target: { value: 'partner2-password' } });
    expect(within(form).queryByLabelText(/^Partner organisation/)).toBeNull();
    fireEvent.change(input(/^Role/), { target: { value: 'partner' } });
    // The staff fields are not offered for a partner user.
    expect(within(form).queryByLabelText(/^Branch/)).toBeNull();
    expect(within(form).queryByLabelText('Customer-limit authority')).toBeNull();
    expect(within(form).queryByLabelText('May handle unregistered callers')).toBeNull();
    expect(within(form).queryByLabelText(/^SIP user/)).toBeNull();
    // The tenant's organisations are offered, and one must be given.
    await waitFor(() => expect([...form.querySelectorAll('datalist option')].map((o) => o.getAttribute('value'))).toEqual(['Partner A']));
    fireEvent.click(within(form).getByRole('button', { name: 'Create user' }));
    await waitFor(() => expect(fieldError(form, 'partnerOrg')?.textContent).toMatch(/partner organisation/));
    expect(input(/^Partner organisation/).getAttribute('aria-describedby')).toContain(fieldError(form, 'partnerOrg')!.id);

    fireEvent.change(input(/^Partner organisation/), { target: { value: 'Partner A' } });
    fireEvent.click(within(form).getByRole('button', { name: 'Create user' }));
    await waitFor(() => expect(screen.getAllByTestId('admin-user-row').map((row) => row.dataset.login)).toEqual(['agent1', 'partner2']));
    expect(bridge.admin.users.find((u) => u.login === 'partner2')).toMatchObject({ role: 'partner', partnerOrg: 'Partner A', branch: null, sipUser: null });
    const row = screen.getAllByTestId('admin-user-row')[1]!;
    expect(within(row).getByTestId('admin-user-org').textContent).toContain('Partner A');
    expect(within(row).getByTestId('admin-user-sip').textContent).toBe('No phone');

    // Its editor has no rights form, and its account form no role or SIP user.
    fireEvent.click(screen.getByRole('button', { name: 'Edit partner2' }));
    const editor = screen.getByTestId('admin-user-editor');
    expect(within(editor).queryByRole('button', { name: 'Save rights' })).toBeNull();
    const account = within(editor).getByTestId('admin-profile-form');
    expect(within(account).queryByLabelText(/^Role/)).toBeNull();
    expect(within(account).queryByLabelText(/^SIP user/)).toBeNull();
    fireEvent.click(within(account).getByLabelText(/^Disabled/));
    fireEvent.click(within(account).getByRole('button', { name: 'Save account' }));
    await waitFor(() => expect(bridge.admin.users.find((u) => u.login === 'partner2')?.disabled).toBe(true));
  });

  it("sets a user's SIP user, names a bad or taken one beside the field, and shows the new one in the list", async () => {
    const bridge = signIn(ADMIN);
    bridge.admin.users.push({ ...AGENT_ROW, id: '50000000-0000-4000-8000-000000000098', login: 'agent2', sipUser: '2001' });
    render(<AdminConsole />);
    fireEvent.click(await screen.findByRole('button', { name: 'Edit agent1' }));
    const account = within(screen.getByTestId('admin-user-editor')).getByTestId('admin-profile-form');
    const sipField = within(account).getByLabelText(/^SIP user/);
    expect((sipField as HTMLInputElement).value).toBe('agent1.demo');
    fireEvent.change(sipField, { target: { value: 'desk 2001' } });
    fireEvent.click(within(account).getByRole('button', { name: 'Save account' }));
    await waitFor(() => expect(fieldError(account, 'sipUser')?.textContent).toMatch(/SIP user part/));
    expect(bridge.admin.users[0]!.sipUser).toBe('agent1.demo');

    fireEvent.change(sipField, { target: { value: '2001' } });
    fireEvent.click(within(account).getByRole('button', { name: 'Save account' }));
    await waitFor(() => expect(fieldError(account, 'sipUser')?.textContent).toMatch(/already in use/));
    expect(sipField.getAttribute('aria-invalid')).toBe('true');

    fireEvent.change(sipField, { target: { value: 'Desk-2002' } });
    fireEvent.click(within(account).getByRole('button', { name: 'Save account' }));
    await waitFor(() => expect(bridge.admin.users[0]!.sipUser).toBe('desk-2002'));
    expect(within(screen.getAllByTestId('admin-user-row')[0]!).getByTestId('admin-user-sip').textContent).toBe('desk-2002');
  });

  it("sets the tenant's report time zone, and back to the deployment's", async () => {
    const bridge = signIn(ADMIN);
    render(<AdminConsole />);
    fireEvent.click(screen.getByTestId('admin-tab-tenant'));
    const zone = await screen.findByLabelText('Time zone of reports');
    expect((zone as HTMLSelectElement).value).toBe('');
    expect(within(zone).getByRole('option', { name: 'Deployment default (Asia/Tokyo)' })).toBeTruthy();
    fireEvent.change(zone, { target: { value: 'America/New_York' } });
    fireEvent.click(screen.getByRole('button', { name: 'Save tenant settings' }));
    await waitFor(() => expect(bridge.admin.tenantSettings.timeZone).toBe('America/New_York'));
    // The memory core stores the setting before the screen hears back: wait for the screen.
    expect((await screen.findByRole('status')).textContent).toBe('Saved');
    fireEvent.change(zone, { target: { value: '' } });
    fireEvent.click(screen.getByRole('button', { name: 'Save tenant settings' }));
    await waitFor(() => expect(bridge.admin.tenantSettings.timeZone).toBeNull());
  });

  it("changes a customer's classification and type", async () => {
    const bridge = signIn(ADMIN);
    render(<AdminConsole />);
    fireEvent.click(screen.getByTestId('admin-tab-customers'));
    fireEvent.change(screen.getByLabelText('Find a customer'), { target: { value: YAMADA.customer.code } });
    fireEvent.click(screen.getByRole('button', { name: 'Find' }));
    fireEvent.click(await screen.findByTestId('admin-customer-hit'));
    const form = await screen.findByTestId('admin-customer-form');
    fireEvent.change(within(form).getByLabelText('Classification'), { target: { value: '1' } });
    fireEvent.change(within(form).getByLabelText('Customer type'), { target: { value: 'dealer' } });
    fireEvent.click(within(form).getByRole('button', { name: 'Save customer' }));
    await waitFor(async () => {
      const record = await bridge.invoke('customers:get', { customerId: YAMADA.customer.id });
      expect(record.ok && record.value.customer).toMatchObject({ classification: 1, type: 'dealer' });
    });
  });

  it('previews a mail template with sample values and names a placeholder the backend would refuse', async () => {
    const bridge = signIn(ADMIN);
    render(<AdminConsole />);
    fireEvent.click(screen.getByTestId('admin-tab-templates'));
    const list = await screen.findByTestId('admin-mail-templates');
    fireEvent.click(within(list).getByRole('button', { name: 'New template' }));
    const form = screen.getByTestId('admin-mail-template-form');
    fireEvent.change(within(form).getByLabelText('Template name'), { target: { value: 'お礼' } });
    fireEvent.change(within(form).getByLabelText('Body'), { target: { value: '{{customerName}} 様\n担当 {{operatorName}} {{accountNo}}' } });
    expect(within(form).getByTestId('template-preview').textContent).toContain('山田 太郎 様');
    expect(within(form).getByTestId('template-preview').textContent).toContain('担当 鈴木 一郎 {{accountNo}}');
    fireEvent.click(within(form).getByRole('button', { name: 'Save template' }));
    await waitFor(() => expect(fieldError(form, 'body')?.textContent).toContain('{{accountNo}}'));
    const before = bridge.mail.templates.length;
    fireEvent.change(within(form).getByLabelText('Body'), { target: { value: '{{customerName}} 様' } });
    fireEvent.click(within(form).getByRole('button', { name: 'Save template' }));
    await waitFor(() => expect(bridge.mail.templates).toHaveLength(before + 1));
    await waitFor(() => expect(within(screen.getByTestId('admin-mail-templates')).getAllByTestId('admin-mail-template').some((li) => li.textContent?.includes('お礼'))).toBe(true));
  });

  it('names a wrong disposition code and after-call time, and saves the telephony settings once fixed', async () => {
    const bridge = signIn(ADMIN);
    render(<AdminConsole />);
    fireEvent.click(screen.getByTestId('admin-tab-telephony'));
    const form = await screen.findByTestId('admin-telephony-settings');
    await waitFor(() => expect(within(form).getAllByTestId('admin-disposition').length).toBeGreaterThan(0));
    fireEvent.change(within(form).getAllByLabelText('Code')[0]!, { target: { value: 'has space' } });
    fireEvent.change(within(form).getByLabelText('After-call work (seconds)'), { target: { value: '99999' } });
    fireEvent.click(within(form).getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(fieldError(form, 'dispositions.0.code')).not.toBeNull());
    expect(fieldError(form, 'afterCallWorkSeconds')).not.toBeNull();

    fireEvent.change(within(form).getAllByLabelText('Code')[0]!, { target: { value: 'done' } });
    fireEvent.change(within(form).getByLabelText('After-call work (seconds)'), { target: { value: '45' } });
    fireEvent.change(within(form).getByLabelText('DTMF mode'), { target: { value: 'info' } });
    fireEvent.click(within(form).getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(bridge.telephony.settings).toMatchObject({ afterCallWorkSeconds: 45, dtmfMode: 'info' }));
    expect(bridge.telephony.settings.dispositions[0]?.code).toBe('done');
  });
  it('sets the "call me" hours: says requests are taken around the clock until then, and names a closing time before the opening', async () => {
    const bridge = signIn(ADMIN);
    render(<AdminConsole />);
    fireEvent.click(screen.getByTestId('admin-tab-telephony'));
    const form = await screen.findByTestId('admin-callme-hours');
    await within(form).findByText(/around the clock/);
    fireEvent.click(within(form).getByLabelText('Sat'));
    fireEvent.change(within(form).getByLabelText('Opens at'), { target: { value: '18:00' } });
    fireEvent.change(within(form).getByLabelText('Closes at'), { target: { value: '09:30' } });
    fireEvent.click(within(form).getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(fieldError(form, 'closesAt')).not.toBeNull());
    expect(bridge.admin.callMeHours).toBeNull();

    fireEvent.change(within(form).getByLabelText('Opens at'), { target: { value: '08:30' } });
    fireEvent.click(within(form).getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(bridge.admin.callMeHours).toEqual({ timeZone: 'Asia/Tokyo', days: [1, 2, 3, 4, 5, 6], opensAt: '08:30', closesAt: '09:30' }));
    expect(within(form).queryByText(/around the clock/)).toBeNull();
    expect(within(form).getByRole('status').textContent).toBeTruthy();
  });
});
