import { useEffect, useId, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { CONTACT_KINDS, CUSTOMER_TYPES, INCIDENT_STATUSES, type ContactKind, type CustomerType, type IncidentStatus } from '../../../shared/domain.js';
import {
  EXCHANGE_FIELD_NAMES,
  EXCHANGE_FIELDS,
  ExchangeFilter,
  ExchangePolicyInput,
  type ExchangeField,
  type FieldAction,
} from '../../../shared/exchange.js';
import { describeZodError } from '../../../shared/validation.js';
import { ExchangeExports, ExchangeStatus } from './ExchangeExports.js';
import { useExchangeStore } from './store.js';

/** A date input's day as the start (or end) of that day in the user's time zone, as ISO. */
function dayBound(day: string, end: boolean): string | undefined {
  if (day === '') return undefined;
  const date = new Date(`${day}T${end ? '23:59:59.999' : '00:00:00.000'}`);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

function toggle<T>(list: T[], value: T, on: boolean): T[] {
  return on ? [...list, value] : list.filter((item) => item !== value);
}

/**
 * The admin's exchange screen: choose contacts by filter, set what each field becomes, preview
 * the first records exactly as they would leave, create the export, then share and download it.
 */
export function ExchangeAdmin() {
  const { t } = useTranslation();
  const preview = useExchangeStore((s) => s.preview);
  const busy = useExchangeStore((s) => s.busy);
  const [title, setTitle] = useState('');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [product, setProduct] = useState('');
  const [kinds, setKinds] = useState<ContactKind[]>([]);
  const [types, setTypes] = useState<CustomerType[]>([]);
  const [status, setStatus] = useState<IncidentStatus | ''>('');
  const [policy, setPolicy] = useState<Partial<Record<ExchangeField, FieldAction>>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const ids = { title: useId(), from: useId(), to: useId(), product: useId(), status: useId(), heading: useId(), policy: useId() };

  useEffect(() => {
    void useExchangeStore.getState().load({ partners: true });
  }, []);

  /** The form as the shared schemas see it; null (and the message shown) when it is not valid. */
  const parsedInput = () => {
    const filter = ExchangeFilter.safeParse({
      from: dayBound(from, false),
      to: dayBound(to, true),
      product: product.trim() === '' ? undefined : product,
      contactKinds: kinds.length > 0 ? kinds : undefined,
      customerTypes: types.length > 0 ? types : undefined,
      incidentStatus: status === '' ? undefined : status,
    });
    const fieldPolicy = ExchangePolicyInput.safeParse(policy);
    if (!filter.success) {
      setFormError(describeZodError(filter.error, 'filter'));
      return null;
    }
    if (!fieldPolicy.success) {
      setFormError(describeZodError(fieldPolicy.error, 'policy'));
      return null;
    }
    setFormError(null);
    return { filter: filter.data, policy: fieldPolicy.data };
  };

  const onPreview = () => {
    const input = parsedInput();
    if (input) void useExchangeStore.getState().previewExport(input.filter, input.policy);
  };
  const onCreate = async (event: FormEvent) => {
    event.preventDefault();
    const input = parsedInput();
    if (!input) return;
    if (title.trim() === '') {
      setFormError(t('exchange.form.titleRequired'));
      return;
    }
    if (await useExchangeStore.getState().createExport(title.trim(), input.filter, input.policy)) setTitle('');
  };

  return (
    <div className="exchange" data-testid="exchange-admin">
      <h2 id={ids.heading}>{t('exchange.title')}</h2>
      <p className="exchange-intro">{t('exchange.intro')}</p>
      <form className="exchange-form" aria-labelledby={ids.heading} onSubmit={(event) => void onCreate(event)}>
        <fieldset>
          <legend>{t('exchange.form.filter')}</legend>
          <label htmlFor={ids.from}>{t('exchange.form.from')}</label>
          <input id={ids.from} type="date" value={from} onChange={(event) => setFrom(event.target.value)} />
          <label htmlFor={ids.to}>{t('exchange.form.to')}</label>
          <input id={ids.to} type="date" value={to} onChange={(event) => setTo(event.target.value)} />
          <label htmlFor={ids.product}>{t('exchange.form.product')}</label>
          <input id={ids.product} type="text" maxLength={100} value={product} onChange={(event) => setProduct(event.target.value)} />
          <label htmlFor={ids.status}>{t('exchange.form.incidentStatus')}</label>
          <select id={ids.status} value={status} onChange={(event) => setStatus(event.target.value as IncidentStatus | '')}>
            <option value="">{t('exchange.form.any')}</option>
            {INCIDENT_STATUSES.map((value) => (
              <option key={value} value={value}>
                {t(`incident.status.${value}`)}
              </option>
            ))}
          </select>
          <fieldset className="exchange-choices">
            <legend>{t('exchange.form.contactKinds')}</legend>
            {CONTACT_KINDS.map((kind) => (
              <label key={kind}>
                <input type="checkbox" checked={kinds.includes(kind)} onChange={(event) => setKinds(toggle(kinds, kind, event.target.checked))} />
                {t(`contact.kind.${kind}`)}
              </label>
            ))}
          </fieldset>
          <fieldset className="exchange-choices">
            <legend>{t('exchange.form.customerTypes')}</legend>
            {CUSTOMER_TYPES.map((type) => (
              <label key={type}>
                <input type="checkbox" checked={types.includes(type)} onChange={(event) => setTypes(toggle(types, type, event.target.checked))} />
                {t(`customer.type.${type}`)}
              </label>
            ))}
          </fieldset>
        </fieldset>
        <fieldset>
          <legend id={ids.policy}>{t('exchange.form.policy')}</legend>
          <table className="exchange-policy">
            <thead>
              <tr>
                <th scope="col">{t('exchange.form.field')}</th>
                <th scope="col">{t('exchange.form.action')}</th>
              </tr>
            </thead>
            <tbody>
              {EXCHANGE_FIELD_NAMES.map((field) => (
                <PolicyRow
                  key={field}
                  field={field}
                  value={policy[field] ?? EXCHANGE_FIELDS[field].default}
                  onChange={(action) => setPolicy({ ...policy, [field]: action })}
                />
              ))}
            </tbody>
          </table>
        </fieldset>
        <label htmlFor={ids.title}>{t('exchange.form.name')}</label>
        <input id={ids.title} type="text" maxLength={200} value={title} onChange={(event) => setTitle(event.target.value)} />
        {formError && (
          <p role="alert" className="error" data-testid="exchange-form-error">
            {formError}
          </p>
        )}
        <div className="exchange-buttons">
          <button type="button" disabled={busy !== null} onClick={onPreview}>
            {t('exchange.form.preview')}
          </button>
          <button type="submit" disabled={busy !== null}>
            {t('exchange.form.create')}
          </button>
        </div>
      </form>
      <ExchangeStatus />
      {preview && <ExchangePreviewTable />}
      <ExchangeExports mode="admin" />
    </div>
  );
}

function PolicyRow({ field, value, onChange }: { field: ExchangeField; value: FieldAction; onChange: (action: FieldAction) => void }) {
  const { t } = useTranslation();
  const id = useId();
  return (
    <tr>
      <th scope="row">
        <label htmlFor={id}>{t(`exchange.field.${field}`)}</label>
      </th>
      <td>
        <select id={id} value={value} data-field={field} onChange={(event) => onChange(event.target.value as FieldAction)}>
          {EXCHANGE_FIELDS[field].allowed.map((action) => (
            <option key={action} value={action}>
              {t(`exchange.action.${action}`)}
            </option>
          ))}
        </select>
      </td>
    </tr>
  );
}

function ExchangePreviewTable() {
  const { t } = useTranslation();
  const preview = useExchangeStore((s) => s.preview);
  const headingId = useId();
  if (!preview) return null;
  const cell = (value: unknown) => (Array.isArray(value) ? value.join('; ') : value === null || value === undefined ? '' : String(value));
  return (
    <section className="exchange-preview" aria-labelledby={headingId} data-testid="exchange-preview" data-total={preview.total}>
      <h3 id={headingId}>{t('exchange.preview.title', { shown: preview.records.length, total: preview.total })}</h3>
      <div className="exchange-preview-scroll" tabIndex={0} role="region" aria-labelledby={headingId}>
        <table className="exchange-table">
          <thead>
            <tr>
              {preview.fields.map((field) => (
                <th key={field} scope="col">
                  {t(`exchange.field.${field as ExchangeField}`)}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {preview.records.map((record, index) => (
              <tr key={index} data-testid="exchange-preview-record">
                {preview.fields.map((field) => (
                  <td key={field}>{cell(record[field])}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
