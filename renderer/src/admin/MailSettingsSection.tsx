import { useEffect, useId, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { MailAddressInput, MailSettingsUpdate, type MailAddress } from '../../../shared/api.js';
import type { AppError } from '../../../shared/result.js';
import { invoke } from '../api.js';
import { ErrorText } from '../components/ErrorText.js';
import { FieldError, fieldAria } from './FieldError.js';
import { checkForm, fieldErrorsFromError, type FieldErrors } from './field-errors.js';

function Problem({ error }: { error: AppError | null }) {
  if (!error) return null;
  return (
    <p className="error" role="alert">
      <ErrorText error={error} />
    </p>
  );
}

/** The tenant's support and fax addresses (where inbound mail and faxes arrive), and the mail queue's settings. */
export function MailSettingsSection() {
  const { t } = useTranslation();
  return (
    <section aria-labelledby="admin-mail-settings-heading" data-testid="admin-mail-settings">
      <h3 id="admin-mail-settings-heading">{t('admin.mailSettings.heading')}</h3>
      <Addresses />
      <QueueSettings />
    </section>
  );
}

function Addresses() {
  const { t } = useTranslation();
  const id = useId();
  const [addresses, setAddresses] = useState<MailAddress[] | null>(null);
  const [address, setAddress] = useState('');
  const [kind, setKind] = useState<MailAddress['kind']>('support');
  const [errors, setErrors] = useState<FieldErrors>({});
  const [problem, setProblem] = useState<AppError | null>(null);

  const load = () =>
    invoke('admin:mailAddresses', undefined).then((result) => {
      if (result.ok) setAddresses(result.value);
      else setProblem(result.error);
    });
  useEffect(() => {
    void invoke('admin:mailAddresses', undefined).then((result) => (result.ok ? setAddresses(result.value) : setProblem(result.error)));
  }, []);

  async function add(event: FormEvent) {
    event.preventDefault();
    const checked = checkForm(MailAddressInput, { address: address.trim(), kind });
    if (!checked.ok) return setErrors(checked.errors);
    setErrors({});
    const result = await invoke('admin:addMailAddress', checked.value);
    if (!result.ok) {
      setErrors(fieldErrorsFromError(result.error));
      return setProblem(result.error);
    }
    setProblem(null);
    setAddress('');
    await load();
  }

  async function remove(entry: MailAddress) {
    const result = await invoke('admin:removeMailAddress', { address: entry.address });
    if (!result.ok) return setProblem(result.error);
    await load();
  }

  return (
    <div data-testid="admin-mail-addresses">
      <h4>{t('admin.mailSettings.addresses')}</h4>
      <ul className="admin-list">
        {addresses?.map((entry) => (
          <li key={entry.address} data-testid="admin-mail-address" data-kind={entry.kind}>
            <span>
              {entry.address} — {t(`admin.mailSettings.kind.${entry.kind}`)}
            </span>
            <button type="button" className="quiet" onClick={() => void remove(entry)} aria-label={t('admin.mailSettings.removeNamed', { address: entry.address })}>
              {t('admin.mailSettings.remove')}
            </button>
          </li>
        ))}
      </ul>
      <form className="admin-form" onSubmit={(e) => void add(e)} noValidate aria-label={t('admin.mailSettings.add')}>
        <label>
          {t('admin.mailSettings.address')}
          <input type="email" value={address} onChange={(e) => setAddress(e.target.value)} {...fieldAria(`${id}-a`, errors, 'address')} />
        </label>
        <FieldError id={`${id}-a`} errors={errors} field="address" />
        <label>
          {t('admin.mailSettings.kindLabel')}
          <select value={kind} onChange={(e) => setKind(e.target.value === 'fax' ? 'fax' : 'support')}>
            <option value="support">{t('admin.mailSettings.kind.support')}</option>
            <option value="fax">{t('admin.mailSettings.kind.fax')}</option>
          </select>
        </label>
        <div className="form-actions">
          <button type="submit">{t('admin.mailSettings.add')}</button>
        </div>
        <Problem error={problem} />
      </form>
    </div>
  );
}

/** Empty means "the backend's default" (null in MailSettingsUpdate). */
const numberOrNull = (text: string) => (text.trim() === '' ? null : Number(text));

function QueueSettings() {
  const { t } = useTranslation();
  const id = useId();
  const [leaseSeconds, setLeaseSeconds] = useState('');
  const [busyCallsPerAgent, setBusyCallsPerAgent] = useState('');
  const [errors, setErrors] = useState<FieldErrors>({});
  const [problem, setProblem] = useState<AppError | null>(null);
  const [saved, setSaved] = useState(false);

  useEffect(() => {
    void invoke('admin:mailSettings', undefined).then((result) => {
      if (!result.ok) return setProblem(result.error);
      setLeaseSeconds(String(result.value.leaseSeconds));
      setBusyCallsPerAgent(String(result.value.busyCallsPerAgent));
    });
  }, []);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setSaved(false);
    const checked = checkForm(MailSettingsUpdate, { leaseSeconds: numberOrNull(leaseSeconds), busyCallsPerAgent: numberOrNull(busyCallsPerAgent) });
    if (!checked.ok) return setErrors(checked.errors);
    setErrors({});
    const result = await invoke('admin:saveMailSettings', checked.value);
    if (!result.ok) {
      setErrors(fieldErrorsFromError(result.error));
      return setProblem(result.error);
    }
    setProblem(null);
    setLeaseSeconds(String(result.value.leaseSeconds));
    setBusyCallsPerAgent(String(result.value.busyCallsPerAgent));
    setSaved(true);
  }

  return (
    <form className="admin-form" aria-labelledby={`${id}-heading`} onSubmit={(e) => void submit(e)} noValidate>
      <h4 id={`${id}-heading`}>{t('admin.mailSettings.queue')}</h4>
      <label>
        {t('admin.mailSettings.leaseSeconds')}
        <input inputMode="numeric" value={leaseSeconds} onChange={(e) => setLeaseSeconds(e.target.value)} {...fieldAria(`${id}-l`, errors, 'leaseSeconds')} />
      </label>
      <FieldError id={`${id}-l`} errors={errors} field="leaseSeconds" />
      <label>
        {t('admin.mailSettings.busyCallsPerAgent')}
        <input inputMode="decimal" value={busyCallsPerAgent} onChange={(e) => setBusyCallsPerAgent(e.target.value)} {...fieldAria(`${id}-b`, errors, 'busyCallsPerAgent')} />
      </label>
      <FieldError id={`${id}-b`} errors={errors} field="busyCallsPerAgent" />
      <div className="form-actions">
        <button type="submit" className="primary">
          {t('admin.save')}
        </button>
        {saved && <span role="status">{t('admin.saved')}</span>}
      </div>
      <Problem error={problem} />
    </form>
  );
}
