import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import type { Customer } from '../../../shared/domain.js';
import type { AppError } from '../../../shared/result.js';
import { invoke } from '../api.js';
import { useCustomerStore } from '../stores/customer.js';
import { ErrorText } from './ErrorText.js';

const lines = (text: string) =>
  text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '');

/**
 * The customer's own details, edited from the panel (online: the backend normalises the
 * numbers and keeps the customer number unique). Classification, branch and rep decide who
 * may see the customer and stay with supervisors (shared `mayChangeCustomerVisibility`).
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
