import { useId, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import type { CustomerDetail } from '../../../../shared/ipc.js';
import type { AppError } from '../../../../shared/result.js';
import { formatPhone } from '../../format.js';
import { useScreenPopStore } from '../../stores/screen-pop.js';
import { useSessionStore } from '../../stores/session.js';
import { ErrorText } from '../ErrorText.js';

/** A customer code nobody has to think up while the caller waits; editable. */
function provisionalCode(at: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `N-${at.getFullYear() % 100}${pad(at.getMonth() + 1)}${pad(at.getDate())}${pad(at.getHours())}${pad(at.getMinutes())}${pad(at.getSeconds())}`;
}

/** "Create customer" for an unregistered caller, prefilled with the number. */
export function CreateCustomerForm({ callId, e164, onCreated }: { callId: string; e164: string | null; onCreated: (detail: CustomerDetail) => void }) {
  const { t } = useTranslation();
  const createCustomer = useScreenPopStore((s) => s.createCustomer);
  const region = useSessionStore((s) => s.session?.tenant.defaultRegion);
  const [name, setName] = useState('');
  const [nameKana, setNameKana] = useState('');
  const [code, setCode] = useState(() => provisionalCode(new Date()));
  const [phone, setPhone] = useState(() => (e164 ? formatPhone(e164, region) : ''));
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<AppError | null>(null);
  const id = useId();

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!name.trim() || !code.trim() || saving) return;
    setSaving(true);
    setError(null);
    const result = await createCustomer(callId, {
      code: code.trim(),
      name: name.trim(),
      nameKana: nameKana.trim(),
      phones: phone.trim() ? [{ number: phone.trim() }] : [],
    });
    setSaving(false);
    if (result.ok) onCreated(result.value);
    else setError(result.error);
  }

  return (
    <form className="create-customer" data-testid="create-customer" onSubmit={(e) => void submit(e)} aria-labelledby={`${id}-heading`}>
      <h3 id={`${id}-heading`}>{t('phone.create.heading')}</h3>
      <label htmlFor={`${id}-name`}>{t('phone.create.name')}</label>
      <input id={`${id}-name`} required maxLength={200} value={name} onChange={(e) => setName(e.target.value)} />
      <label htmlFor={`${id}-kana`}>{t('phone.create.kana')}</label>
      <input id={`${id}-kana`} maxLength={200} value={nameKana} onChange={(e) => setNameKana(e.target.value)} lang="ja" />
      <label htmlFor={`${id}-phone`}>{t('phone.create.phone')}</label>
      <input id={`${id}-phone`} maxLength={64} value={phone} onChange={(e) => setPhone(e.target.value)} inputMode="tel" />
      <label htmlFor={`${id}-code`}>{t('phone.create.code')}</label>
      <input id={`${id}-code`} required maxLength={40} value={code} onChange={(e) => setCode(e.target.value)} />
      <div className="form-actions">
        <button type="submit" className="primary" disabled={saving || !name.trim() || !code.trim()}>
          {saving ? t('phone.create.saving') : t('phone.create.submit')}
        </button>
      </div>
      {error && (
        <p className="error" role="alert">
          <ErrorText error={error} />
        </p>
      )}
    </form>
  );
}
