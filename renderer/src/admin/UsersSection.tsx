import { useEffect, useId, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { NewPassword, StaffRole, UserCreate, UserUpdate, type AdminUser } from '../../../shared/admin.js';
import { RightsUpdate } from '../../../shared/api.js';
import { Classification, Role } from '../../../shared/domain.js';
import type { AppError } from '../../../shared/result.js';
import { invoke } from '../api.js';
import { ErrorText } from '../components/ErrorText.js';
import { useSessionStore } from '../stores/session.js';
import { FieldError, fieldAria } from './FieldError.js';
import { checkForm, fieldErrorsFromError, type FieldErrors } from './field-errors.js';
import { useAdminStore } from './store.js';

/** The yes/no rights of RightsUpdate (shared/api.ts); authority and branch have fields of their own. */
const RIGHT_FLAGS = ['mayHandleUnregisteredCallers', 'callsViewOnly', 'callsAllBranches'] as const;
type RightFlag = (typeof RIGHT_FLAGS)[number];

function Problem({ error }: { error: AppError | null }) {
  if (!error) return null;
  return (
    <p className="error" role="alert">
      <ErrorText error={error} />
    </p>
  );
}

/** Users: the list, and for the chosen one their rights (supervisors, admins), profile and password (admins). */
export function UsersSection() {
  const { t } = useTranslation();
  const users = useAdminStore((s) => s.users);
  const loaded = useAdminStore((s) => s.usersLoaded);
  const error = useAdminStore((s) => s.error);
  const isAdmin = useSessionStore((s) => s.session?.user.role === 'admin');
  const [selectedId, setSelectedId] = useState<string | null>(null);
  const selected = users.find((u) => u.id === selectedId) ?? null;

  useEffect(() => {
    void useAdminStore.getState().loadUsers();
  }, []);

  return (
    <section aria-labelledby="admin-users-heading" data-testid="admin-users">
      <h3 id="admin-users-heading">{t('admin.users.heading')}</h3>
      <Problem error={error} />
      {loaded && (
        <table className="admin-table">
          <caption className="visually-hidden">{t('admin.users.heading')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('admin.users.login')}</th>
              <th scope="col">{t('admin.users.displayName')}</th>
              <th scope="col">{t('admin.users.role')}</th>
              <th scope="col">{t('admin.users.branch')}</th>
              <th scope="col">{t('admin.users.authority')}</th>
              <th scope="col">{t('admin.accounts.sipUser')}</th>
              <th scope="col">{t('admin.users.state')}</th>
              <th scope="col">
                <span className="visually-hidden">{t('admin.users.edit')}</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {users.map((user) => (
              <tr key={user.id} data-testid="admin-user-row" data-login={user.login} aria-selected={user.id === selectedId}>
                <td>{user.login}</td>
                <td>{user.displayName}</td>
                <td>
                  {t(`admin.roles.${user.role}`)}
                  {user.role === 'partner' && <span data-testid="admin-user-org"> · {user.partnerOrg}</span>}
                </td>
                <td>{user.role === 'partner' ? t('admin.accounts.notApplicable') : (user.branch ?? t('admin.users.noBranch'))}</td>
                <td>{user.role === 'partner' ? t('admin.accounts.notApplicable') : user.customerLimitAuthority}</td>
                <td data-testid="admin-user-sip">{user.sipUser ?? t('admin.accounts.noSipUser')}</td>
                <td>{user.disabled ? t('admin.users.disabled') : t('admin.users.active')}</td>
                <td>
                  <button type="button" onClick={() => setSelectedId(user.id)} aria-label={t('admin.users.editNamed', { name: user.login })}>
                    {t('admin.users.edit')}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {selected && <UserEditor key={selected.id} user={selected} isAdmin={isAdmin} />}
      {isAdmin && <CreateUserForm />}
    </section>
  );
}

function UserEditor({ user, isAdmin }: { user: AdminUser; isAdmin: boolean }) {
  const { t } = useTranslation();
  return (
    <div className="admin-user-editor" data-testid="admin-user-editor" data-user-id={user.id}>
      <h4>{t('admin.users.editing', { name: `${user.displayName} (${user.login})` })}</h4>
      {user.role === 'partner' ? <p className="hint">{t('admin.accounts.partnerOnly')}</p> : <RightsForm user={user} />}
      {isAdmin && <ProfileForm user={user} />}
      {isAdmin && <PasswordForm user={user} />}
    </div>
  );
}

function RightsForm({ user }: { user: AdminUser }) {
  const { t } = useTranslation();
  const id = useId();
  const [authority, setAuthority] = useState<Classification>(user.customerLimitAuthority);
  const [branch, setBranch] = useState(user.branch ?? '');
  const [flags, setFlags] = useState<Record<RightFlag, boolean>>({
    mayHandleUnregisteredCallers: user.mayHandleUnregisteredCallers,
    callsViewOnly: user.callsViewOnly === true,
    callsAllBranches: user.callsAllBranches === true,
  });
  const [errors, setErrors] = useState<FieldErrors>({});
  const [problem, setProblem] = useState<AppError | null>(null);
  const [saved, setSaved] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setSaved(false);
    const nextBranch = branch.trim() === '' ? null : branch.trim();
    const changes = {
      ...(authority !== user.customerLimitAuthority ? { customerLimitAuthority: authority } : {}),
      ...(nextBranch !== user.branch ? { branch: nextBranch } : {}),
      ...Object.fromEntries(RIGHT_FLAGS.filter((flag) => flags[flag] !== (user[flag] === true)).map((flag) => [flag, flags[flag]])),
    };
    const checked = checkForm(RightsUpdate, changes);
    if (!checked.ok) return setErrors(checked.errors);
    setErrors({});
    const result = await invoke('admin:setRights', { userId: user.id, rights: checked.value });
    if (!result.ok) {
      setErrors(fieldErrorsFromError(result.error));
      return setProblem(result.error);
    }
    setProblem(null);
    useAdminStore.getState().putUser({ ...user, ...result.value });
    setSaved(true);
  }

  return (
    <form className="admin-form" aria-labelledby={`${id}-heading`} onSubmit={(e) => void submit(e)} noValidate>
      <h5 id={`${id}-heading`}>{t('admin.rights.heading')}</h5>
      <label>
        {t('admin.rights.authority')}
        <select value={authority} onChange={(e) => setAuthority(Classification.parse(Number(e.target.value)))} {...fieldAria(`${id}-a`, errors, 'customerLimitAuthority')}>
          {([1, 2, 3] as const).map((level) => (
            <option key={level} value={level}>
              {t('classification.badge', { level, name: t(`classification.name.${level}`) })}
            </option>
          ))}
        </select>
      </label>
      <FieldError id={`${id}-a`} errors={errors} field="customerLimitAuthority" />
      <label>
        {t('admin.rights.branch')}
        <input value={branch} maxLength={100} placeholder={t('admin.users.noBranch')} onChange={(e) => setBranch(e.target.value)} {...fieldAria(`${id}-b`, errors, 'branch')} />
      </label>
      <FieldError id={`${id}-b`} errors={errors} field="branch" />
      {RIGHT_FLAGS.map((flag) => (
        <label key={flag} className="checkbox">
          <input type="checkbox" checked={flags[flag]} onChange={(e) => setFlags({ ...flags, [flag]: e.target.checked })} />
          {t(`admin.rights.${flag}`)}
        </label>
      ))}
      <FieldError id={`${id}-root`} errors={errors} field="" />
      <div className="form-actions">
        <button type="submit" className="primary">
          {t('admin.rights.save')}
        </button>
        {saved && <span role="status">{t('admin.saved')}</span>}
      </div>
      <Problem error={problem} />
    </form>
  );
}

/** The account: name and state for everyone; role and SIP user for staff; the organisation for partner users. */
function ProfileForm({ user }: { user: AdminUser }) {
  const { t } = useTranslation();
  const id = useId();
  const isPartner = user.role === 'partner';
  const [displayName, setDisplayName] = useState(user.displayName);
  const [role, setRole] = useState<StaffRole>(user.role === 'partner' ? 'agent' : user.role);
  const [sipUser, setSipUser] = useState(user.sipUser ?? '');
  const [partnerOrg, setPartnerOrg] = useState(user.partnerOrg ?? '');
  const [disabled, setDisabled] = useState(user.disabled);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [problem, setProblem] = useState<AppError | null>(null);
  const [saved, setSaved] = useState(false);
  // Admins take no calls: the backend clears an admin's SIP user, so the field is not offered.
  const offersSipUser = !isPartner && role !== 'admin';

  async function submit(event: FormEvent) {
    event.preventDefault();
    setSaved(false);
    const nextSipUser = sipUser.trim() === '' ? null : sipUser.trim().toLowerCase();
    const changes = {
      ...(displayName !== user.displayName ? { displayName } : {}),
      ...(!isPartner && role !== user.role ? { role } : {}),
      ...(offersSipUser && nextSipUser !== user.sipUser ? { sipUser: nextSipUser } : {}),
      ...(isPartner && partnerOrg !== (user.partnerOrg ?? '') ? { partnerOrg } : {}),
      ...(disabled !== user.disabled ? { disabled } : {}),
    };
    const checked = checkForm(UserUpdate, changes);
    if (!checked.ok) return setErrors(checked.errors);
    setErrors({});
    const result = await invoke('admin:updateUser', { userId: user.id, changes: checked.value });
    if (!result.ok) {
      setErrors(fieldErrorsFromError(result.error));
      return setProblem(result.error);
    }
    setProblem(null);
    useAdminStore.getState().putUser(result.value);
    setSipUser(result.value.sipUser ?? '');
    setSaved(true);
  }

  return (
    <form className="admin-form" aria-labelledby={`${id}-heading`} onSubmit={(e) => void submit(e)} noValidate data-testid="admin-profile-form">
      <h5 id={`${id}-heading`}>{t('admin.profile.heading')}</h5>
      <label>
        {t('admin.users.displayName')}
        <input value={displayName} onChange={(e) => setDisplayName(e.target.value)} {...fieldAria(`${id}-n`, errors, 'displayName')} />
      </label>
      <FieldError id={`${id}-n`} errors={errors} field="displayName" />
      {isPartner ? (
        <PartnerOrgField id={`${id}-o`} value={partnerOrg} errors={errors} onChange={setPartnerOrg} />
      ) : (
        <>
          <label>
            {t('admin.users.role')}
            <select value={role} onChange={(e) => setRole(StaffRole.parse(e.target.value))} {...fieldAria(`${id}-r`, errors, 'role')}>
              {StaffRole.options.map((option) => (
                <option key={option} value={option}>
                  {t(`admin.roles.${option}`)}
                </option>
              ))}
            </select>
          </label>
          <FieldError id={`${id}-r`} errors={errors} field="role" />
        </>
      )}
      {offersSipUser && (
        <>
          <label>
            {t('admin.accounts.sipUser')}
            <input value={sipUser} autoComplete="off" spellCheck={false} onChange={(e) => setSipUser(e.target.value)} {...fieldAria(`${id}-s`, errors, 'sipUser', `${id}-sh`)} />
          </label>
          <p className="hint" id={`${id}-sh`}>
            {t('admin.accounts.sipUserEditHint')}
          </p>
          <FieldError id={`${id}-s`} errors={errors} field="sipUser" />
        </>
      )}
      <label className="checkbox">
        <input type="checkbox" checked={disabled} onChange={(e) => setDisabled(e.target.checked)} {...fieldAria(`${id}-d`, errors, 'disabled')} />
        {t('admin.profile.disabled')}
      </label>
      <FieldError id={`${id}-d`} errors={errors} field="disabled" />
      <FieldError id={`${id}-root`} errors={errors} field="" />
      <div className="form-actions">
        <button type="submit" className="primary">
          {t('admin.profile.save')}
        </button>
        {saved && <span role="status">{t('admin.saved')}</span>}
      </div>
      <Problem error={problem} />
    </form>
  );
}

/** The tenant's partner organisations (those that have users), for the organisation field's suggestions. */
function usePartnerOrgs(): string[] {
  const [orgs, setOrgs] = useState<string[]>([]);
  useEffect(() => {
    let live = true;
    void invoke('exchange:partners', undefined).then((result) => {
      // Without the list the admin can still type the organisation; nothing to report.
      if (live && result.ok) setOrgs(result.value);
    });
    return () => {
      live = false;
    };
  }, []);
  return orgs;
}

/** A partner organisation: one of the tenant's existing ones, or a new one typed in. */
function PartnerOrgField({ id, value, errors, onChange }: { id: string; value: string; errors: FieldErrors; onChange(value: string): void }) {
  const { t } = useTranslation();
  const orgs = usePartnerOrgs();
  return (
    <>
      <label>
        {t('admin.accounts.partnerOrg')}
        <input value={value} list={`${id}-list`} maxLength={100} autoComplete="off" onChange={(e) => onChange(e.target.value)} {...fieldAria(id, errors, 'partnerOrg', `${id}-hint`)} />
      </label>
      <datalist id={`${id}-list`} data-testid="admin-partner-orgs">
        {orgs.map((org) => (
          <option key={org} value={org} />
        ))}
      </datalist>
      <p className="hint" id={`${id}-hint`}>
        {t('admin.accounts.partnerOrgHint')}
      </p>
      <FieldError id={id} errors={errors} field="partnerOrg" />
    </>
  );
}

function PasswordForm({ user }: { user: AdminUser }) {
  const { t } = useTranslation();
  const id = useId();
  const [password, setPassword] = useState('');
  const [errors, setErrors] = useState<FieldErrors>({});
  const [problem, setProblem] = useState<AppError | null>(null);
  const [saved, setSaved] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setSaved(false);
    const checked = NewPassword.safeParse(password);
    if (!checked.success) return setErrors({ password: checked.error.issues[0]?.message ?? '' });
    setErrors({});
    const result = await invoke('admin:resetPassword', { userId: user.id, password: checked.data });
    if (!result.ok) {
      setErrors(fieldErrorsFromError(result.error));
      return setProblem(result.error);
    }
    setProblem(null);
    setPassword('');
    setSaved(true);
  }

  return (
    <form className="admin-form" aria-labelledby={`${id}-heading`} onSubmit={(e) => void submit(e)} noValidate>
      <h5 id={`${id}-heading`}>{t('admin.password.heading')}</h5>
      <label>
        {t('admin.password.new')}
        <input type="password" autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} {...fieldAria(`${id}-p`, errors, 'password')} />
      </label>
      <FieldError id={`${id}-p`} errors={errors} field="password" />
      <div className="form-actions">
        <button type="submit">{t('admin.password.reset')}</button>
        {saved && <span role="status">{t('admin.password.done')}</span>}
      </div>
      <Problem error={problem} />
    </form>
  );
}

const EMPTY_USER = {
  login: '',
  displayName: '',
  password: '',
  role: 'agent' as Role,
  partnerOrg: '',
  branch: '',
  customerLimitAuthority: 3 as Classification,
  mayHandleUnregisteredCallers: false,
  sipUser: '',
};
type NewUserForm = typeof EMPTY_USER;

/** What the form sends: a partner user takes its organisation and none of the staff fields (the backend refuses them). */
function newUserRequest(form: NewUserForm) {
  const account = { login: form.login, displayName: form.displayName, password: form.password, role: form.role };
  if (form.role === 'partner') return { ...account, ...(form.partnerOrg.trim() === '' ? {} : { partnerOrg: form.partnerOrg }) };
  return {
    ...account,
    branch: form.branch.trim() === '' ? null : form.branch,
    customerLimitAuthority: form.customerLimitAuthority,
    mayHandleUnregisteredCallers: form.mayHandleUnregisteredCallers,
    ...(form.role !== 'admin' && form.sipUser.trim() !== '' ? { sipUser: form.sipUser } : {}),
  };
}

function CreateUserForm() {
  const { t } = useTranslation();
  const id = useId();
  const [form, setForm] = useState(EMPTY_USER);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [problem, setProblem] = useState<AppError | null>(null);
  const [created, setCreated] = useState<string | null>(null);
  const isPartner = form.role === 'partner';

  async function submit(event: FormEvent) {
    event.preventDefault();
    setCreated(null);
    const checked = checkForm(UserCreate, newUserRequest(form));
    if (!checked.ok) return setErrors(checked.errors);
    setErrors({});
    const result = await invoke('admin:createUser', checked.value);
    if (!result.ok) {
      setErrors(fieldErrorsFromError(result.error));
      return setProblem(result.error);
    }
    setProblem(null);
    useAdminStore.getState().putUser(result.value);
    setCreated(result.value.login);
    setForm(EMPTY_USER);
  }

  const text = (field: 'login' | 'displayName' | 'password' | 'branch', type = 'text') => (
    <>
      <label>
        {t(`admin.create.${field}`)}
        <input
          type={type}
          value={form[field]}
          autoComplete={type === 'password' ? 'new-password' : 'off'}
          onChange={(e) => setForm({ ...form, [field]: e.target.value })}
          {...fieldAria(`${id}-${field}`, errors, field)}
        />
      </label>
      <FieldError id={`${id}-${field}`} errors={errors} field={field} />
    </>
  );

  return (
    <form className="admin-form" aria-labelledby={`${id}-heading`} onSubmit={(e) => void submit(e)} noValidate data-testid="admin-create-user">
      <h4 id={`${id}-heading`}>{t('admin.create.heading')}</h4>
      {text('login')}
      {text('displayName')}
      {text('password', 'password')}
      <label>
        {t('admin.users.role')}
        <select value={form.role} onChange={(e) => setForm({ ...form, role: Role.parse(e.target.value) })}>
          {Role.options.map((option) => (
            <option key={option} value={option}>
              {t(`admin.roles.${option}`)}
            </option>
          ))}
        </select>
      </label>
      {isPartner ? (
        <>
          <PartnerOrgField id={`${id}-partnerOrg`} value={form.partnerOrg} errors={errors} onChange={(partnerOrg) => setForm({ ...form, partnerOrg })} />
          <p className="hint">{t('admin.accounts.partnerOnly')}</p>
        </>
      ) : (
        <>
          {text('branch')}
          <label>
            {t('admin.rights.authority')}
            <select value={form.customerLimitAuthority} onChange={(e) => setForm({ ...form, customerLimitAuthority: Classification.parse(Number(e.target.value)) })}>
              {([1, 2, 3] as const).map((level) => (
                <option key={level} value={level}>
                  {t('classification.badge', { level, name: t(`classification.name.${level}`) })}
                </option>
              ))}
            </select>
          </label>
          <label className="checkbox">
            <input type="checkbox" checked={form.mayHandleUnregisteredCallers} onChange={(e) => setForm({ ...form, mayHandleUnregisteredCallers: e.target.checked })} />
            {t('admin.rights.mayHandleUnregisteredCallers')}
          </label>
          {form.role !== 'admin' && (
            <>
              <label>
                {t('admin.accounts.sipUser')}
                <input
                  value={form.sipUser}
                  autoComplete="off"
                  spellCheck={false}
                  onChange={(e) => setForm({ ...form, sipUser: e.target.value })}
                  {...fieldAria(`${id}-sipUser`, errors, 'sipUser', `${id}-sipUserHint`)}
                />
              </label>
              <p className="hint" id={`${id}-sipUserHint`}>
                {t('admin.accounts.sipUserCreateHint')}
              </p>
              <FieldError id={`${id}-sipUser`} errors={errors} field="sipUser" />
            </>
          )}
        </>
      )}
      <div className="form-actions">
        <button type="submit" className="primary">
          {t('admin.create.submit')}
        </button>
        {created && <span role="status">{t('admin.create.done', { login: created })}</span>}
      </div>
      <Problem error={problem} />
    </form>
  );
}
