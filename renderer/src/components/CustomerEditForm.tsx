import { useEffect, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import type { Assignee, CustomerUpdate } from '../../../shared/api.js';
import { Classification, type Customer } from '../../../shared/domain.js';
import { mayChangeCustomerVisibility } from '../../../shared/permissions.js';
import type { AppError } from '../../../shared/result.js';
import { invoke } from '../api.js';
import { useCustomerStore } from '../stores/customer.js';
import { useSessionStore } from '../stores/session.js';
import { ErrorText } from './ErrorText.js';

const lines = (text: string) =>
  text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '');

/**
 * The customer's own details, edited from the panel (online: the backend normalises the
 * numbers and keeps the customer number unique). Classification, branch and rep decide who
 * may see the customer: only users the shared `mayChangeCustomerVisibility` allows get those
 * fields (the backend refuses them from anyone else anyway), and only changed ones are sent.
 */
export function CustomerEditForm({ customer, onDone }: { customer: Customer; onDone(saved: boolean): void }) {
  const { t } = useTranslation();
  const [name, setName] = useState(customer.name);
  const [nameKana, setNameKana] = useState(customer.nameKana);
  const [phones, setPhones] = useState(customer.phones.map((phone) => phone.e164).join('\n'));
  const [emails, setEmails] = useState(customer.emails.join('\n'));
  const [postalCode, setPostalCode] = useState(customer.postalCode);
  const [address, setAddress] = useState(customer.address);
  const [error, setError] = useState<AppError | null>(null);
  const [saving, setSaving] = useState(false);
  const user = useSessionStore((s) => s.session?.user);
  const guards = user !== undefined && mayChangeCustomerVisibility(user);
  const [classification, setClassification] = useState<Classification>(customer.classification);
  const [branch, setBranch] = useState(customer.branch ?? '');
  const [assignedRepId, setAssignedRepId] = useState(customer.assignedRepId ?? '');
  const [reps, setReps] = useState<Assignee[] | null>(null);

  useEffect(() => {
    if (!guards) return;
    let current = true;
    void invoke('customers:assignees', { customerId: customer.id }).then((result) => {
      if (current) setReps(result.ok ? result.value : []);
    });
    return () => {
      current = false;
    };
  }, [guards, customer.id]);

  function visibilityChanges(): Partial<Pick<CustomerUpdate, 'classification' | 'branch' | 'assignedRepId'>> {
    if (!guards) return {};
    const nextBranch = branch.trim() === '' ? null : branch.trim();
    const nextRep = assignedRepId === '' ? null : assignedRepId;
    return {
      ...(classification !== customer.classification ? { classification } : {}),
      ...(nextBranch !== customer.branch ? { branch: nextBranch } : {}),
      ...(nextRep !== customer.assignedRepId ? { assignedRepId: nextRep } : {}),
    };
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    setSaving(true);
    setError(null);
    const previous = new Map(customer.phones.map((phone) => [phone.e164, phone.kind]));
    const result = await invoke('customers:update', {
      customerId: customer.id,
      changes: {
        name,
        nameKana,
        phones: lines(phones).map((number) => {
          const kind = previous.get(number);
          return kind ? { number, kind } : { number };
        }),
        emails: lines(emails),
        postalCode,
        address,
        ...visibilityChanges(),
      },
    });
    setSaving(false);
    if (!result.ok) {
      setError(result.error);
      return;
    }
    await useCustomerStore.getState().refresh();
    onDone(true);
  }

  return (
    <form className="customer-edit" data-testid="customer-edit" aria-labelledby="customer-edit-heading" onSubmit={(e) => void submit(e)}>
      <h3 id="customer-edit-heading">{t('customerEdit.heading')}</h3>
      <label>
        {t('customerEdit.name')}
        <input value={name} required maxLength={200} onChange={(e) => setName(e.target.value)} />
      </label>
      <label>
        {t('customerEdit.nameKana')}
        <input value={nameKana} maxLength={200} onChange={(e) => setNameKana(e.target.value)} />
      </label>
      <label>
        {t('customerEdit.phones')}
        <textarea value={phones} rows={2} onChange={(e) => setPhones(e.target.value)} />
      </label>
      <label>
        {t('customerEdit.emails')}
        <textarea value={emails} rows={2} onChange={(e) => setEmails(e.target.value)} />
      </label>
      <label>
        {t('customerEdit.postalCode')}
        <input value={postalCode} maxLength={20} onChange={(e) => setPostalCode(e.target.value)} />
      </label>
      <label>
        {t('customerEdit.address')}
        <input value={address} maxLength={400} onChange={(e) => setAddress(e.target.value)} />
      </label>
      {guards && (
        <fieldset className="customer-visibility" data-testid="customer-visibility">
          <legend>{t('customerEdit.visibility')}</legend>
          <label>
            {t('customerEdit.classification')}
            <select value={classification} onChange={(e) => setClassification(Classification.parse(Number(e.target.value)))}>
              {([1, 2, 3] as const).map((level) => (
                <option key={level} value={level}>
                  {t('classification.badge', { level, name: t(`classification.name.${level}`) })}
                </option>
              ))}
            </select>
          </label>
          <label>
            {t('customerEdit.branch')}
            <input value={branch} maxLength={100} placeholder={t('customerEdit.noBranch')} onChange={(e) => setBranch(e.target.value)} />
          </label>
          <label>
            {t('customerEdit.assignedRep')}
            <select value={assignedRepId} disabled={reps === null} onChange={(e) => setAssignedRepId(e.target.value)}>
              <option value="">{t('customerEdit.noRep')}</option>
              {/* The current rep stays choosable even when the server no longer lists them. */}
              {customer.assignedRepId && !reps?.some((rep) => rep.id === customer.assignedRepId) && (
                <option value={customer.assignedRepId}>{customer.assignedRepName ?? customer.assignedRepId}</option>
              )}
              {(reps ?? []).map((rep) => (
                <option key={rep.id} value={rep.id}>
                  {rep.displayName}
                </option>
              ))}
            </select>
          </label>
          <p className="hint">{t('customerEdit.visibilityHint')}</p>
        </fieldset>
      )}
      {error && (
        <p className="error" role="alert">
          <ErrorText error={error} />
        </p>
      )}
      <div className="form-actions">
        <button type="submit" disabled={saving}>
          {t('customerEdit.save')}
        </button>
        <button type="button" className="quiet" onClick={() => onDone(false)}>
          {t('customerEdit.cancel')}
        </button>
      </div>
    </form>
  );
}
