import { useEffect, useId, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { CustomerUpdate } from '../../../shared/api.js';
import { Classification, CustomerType, type Customer } from '../../../shared/domain.js';
import type { SearchHit } from '../../../shared/ipc.js';
import { PORTAL_MAX_RANK, PORTAL_MIN_RANK } from '../../../shared/portal.js';
import type { AppError } from '../../../shared/result.js';
import { invoke } from '../api.js';
import { ErrorText } from '../components/ErrorText.js';
import { useSessionStore } from '../stores/session.js';
import { FieldError, fieldAria } from './FieldError.js';
import { checkForm, fieldErrorsFromError, type FieldErrors } from './field-errors.js';
import { useAdminStore } from './store.js';

/**
 * Customers' classification, type, branch, assigned rep and portal rank (supervisors, admins).
 * Saved through PATCH /api/customers/:id, which audits the change and writes the change log: a
 * raised classification makes every app that may no longer hold the customer delete it.
 */
export function CustomersSection() {
  const { t } = useTranslation();
  const id = useId();
  const [query, setQuery] = useState('');
  const [hits, setHits] = useState<SearchHit[] | null>(null);
  const [customer, setCustomer] = useState<Customer | null>(null);
  const [problem, setProblem] = useState<AppError | null>(null);

  useEffect(() => {
    if (!useAdminStore.getState().usersLoaded) void useAdminStore.getState().loadUsers();
  }, []);

  async function search(event: FormEvent) {
    event.preventDefault();
    const result = await invoke('customers:search', { query, limit: 20 });
    if (!result.ok) return setProblem(result.error);
    setProblem(null);
    setHits(result.value.customers);
  }

  async function open(customerId: string) {
    const result = await invoke('customers:get', { customerId });
    if (!result.ok) return setProblem(result.error);
    setProblem(null);
    setCustomer(result.value.customer);
  }

  return (
    <section aria-labelledby={`${id}-heading`} data-testid="admin-customers">
      <h3 id={`${id}-heading`}>{t('admin.customers.heading')}</h3>
      <form role="search" onSubmit={(e) => void search(e)}>
        <label>
          {t('admin.customers.search')}
          <input type="search" value={query} maxLength={200} onChange={(e) => setQuery(e.target.value)} />
        </label>
        <button type="submit">{t('admin.customers.find')}</button>
      </form>
      {hits && hits.length === 0 && <p role="status">{t('admin.customers.none')}</p>}
      {hits && hits.length > 0 && (
        <ul className="admin-hits">
          {hits.map((hit) => (
            <li key={hit.id}>
              <button type="button" data-testid="admin-customer-hit" aria-pressed={customer?.id === hit.id} onClick={() => void open(hit.id)}>
                {hit.code} {hit.name}
              </button>
            </li>
          ))}
        </ul>
      )}
      {problem && (
        <p className="error" role="alert">
          <ErrorText error={problem} />
        </p>
      )}
      {customer && <CustomerVisibilityForm key={customer.id} customer={customer} onSaved={setCustomer} />}
    </section>
  );
}

function CustomerVisibilityForm({ customer, onSaved }: { customer: Customer; onSaved(customer: Customer): void }) {
  const { t } = useTranslation();
  const id = useId();
  const users = useAdminStore((s) => s.users);
  const mayEditRank = useSessionStore((s) => s.session?.user.role === 'admin' || s.session?.user.role === 'supervisor');
  const [classification, setClassification] = useState<Classification>(customer.classification);
  const [type, setType] = useState<CustomerType>(customer.type);
  const [branch, setBranch] = useState(customer.branch ?? '');
  const [repId, setRepId] = useState(customer.assignedRepId ?? '');
  const [rank, setRank] = useState<number | null>(null);
  const [savedRank, setSavedRank] = useState<number | null>(null);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [problem, setProblem] = useState<AppError | null>(null);
  const [saved, setSaved] = useState(false);

  useEffect(() => {
    void invoke('portal:account', { customerId: customer.id }).then((result) => {
      if (result.ok) {
        setRank(result.value.rank);
        setSavedRank(result.value.rank);
      }
    });
  }, [customer.id]);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setSaved(false);
    const nextBranch = branch.trim() === '' ? null : branch.trim();
    const nextRep = repId === '' ? null : repId;
    const changes = {
      ...(classification !== customer.classification ? { classification } : {}),
      ...(type !== customer.type ? { type } : {}),
      ...(nextBranch !== customer.branch ? { branch: nextBranch } : {}),
      ...(nextRep !== customer.assignedRepId ? { assignedRepId: nextRep } : {}),
    };
    const rankChanged = rank !== null && rank !== savedRank;
    if (Object.keys(changes).length === 0 && !rankChanged) return setErrors({ '': t('admin.nothingChanged') });
    let current = customer;
    if (Object.keys(changes).length > 0) {
      const checked = checkForm(CustomerUpdate, changes);
      if (!checked.ok) return setErrors(checked.errors);
      const result = await invoke('customers:update', { customerId: customer.id, changes: checked.value });
      if (!result.ok) {
        setErrors(fieldErrorsFromError(result.error));
        return setProblem(result.error);
      }
      current = result.value.customer;
    }
    if (rankChanged) {
      const result = await invoke('portal:setRank', { customerId: customer.id, rank });
      if (!result.ok) {
        setErrors({ rank: result.error.message });
        return setProblem(result.error);
      }
      setSavedRank(result.value.rank);
    }
    setErrors({});
    setProblem(null);
    setSaved(true);
    onSaved(current);
  }

  const reps = users.filter((u) => u.role !== 'partner' && !u.disabled);
  return (
    <form className="admin-form" aria-labelledby={`${id}-heading`} onSubmit={(e) => void submit(e)} noValidate data-testid="admin-customer-form" data-customer-id={customer.id}>
      <h4 id={`${id}-heading`}>{t('admin.customers.editing', { code: customer.code, name: customer.name })}</h4>
      <label>
        {t('customerEdit.classification')}
        <select value={classification} onChange={(e) => setClassification(Classification.parse(Number(e.target.value)))} {...fieldAria(`${id}-c`, errors, 'classification')}>
          {([1, 2, 3] as const).map((level) => (
            <option key={level} value={level}>
              {t('classification.badge', { level, name: t(`classification.name.${level}`) })}
            </option>
          ))}
        </select>
      </label>
      <FieldError id={`${id}-c`} errors={errors} field="classification" />
      <label>
        {t('customer.typeLabel')}
        <select value={type} onChange={(e) => setType(CustomerType.parse(e.target.value))} {...fieldAria(`${id}-t`, errors, 'type')}>
          {CustomerType.options.map((option) => (
            <option key={option} value={option}>
              {t(`customer.type.${option}`)}
            </option>
          ))}
        </select>
      </label>
      <FieldError id={`${id}-t`} errors={errors} field="type" />
      <label>
        {t('customerEdit.branch')}
        <input value={branch} maxLength={100} placeholder={t('customerEdit.noBranch')} onChange={(e) => setBranch(e.target.value)} {...fieldAria(`${id}-b`, errors, 'branch')} />
      </label>
      <FieldError id={`${id}-b`} errors={errors} field="branch" />
      <label>
        {t('customerEdit.assignedRep')}
        <select value={repId} onChange={(e) => setRepId(e.target.value)} {...fieldAria(`${id}-r`, errors, 'assignedRepId')}>
          <option value="">{t('customerEdit.noRep')}</option>
          {customer.assignedRepId && !reps.some((u) => u.id === customer.assignedRepId) && (
            <option value={customer.assignedRepId}>{customer.assignedRepName ?? customer.assignedRepId}</option>
          )}
          {reps.map((user) => (
            <option key={user.id} value={user.id}>
              {user.displayName} ({user.login})
            </option>
          ))}
        </select>
      </label>
      <FieldError id={`${id}-r`} errors={errors} field="assignedRepId" />
      {mayEditRank && rank !== null && (
        <>
          <label>
            {t('admin.customers.rank')}
            <select value={rank} onChange={(e) => setRank(Number(e.target.value))} {...fieldAria(`${id}-k`, errors, 'rank')}>
              {Array.from({ length: PORTAL_MAX_RANK - PORTAL_MIN_RANK + 1 }, (_, i) => PORTAL_MIN_RANK + i).map((value) => (
                <option key={value} value={value}>
                  {value}
                </option>
              ))}
            </select>
          </label>
          <FieldError id={`${id}-k`} errors={errors} field="rank" />
        </>
      )}
      <p className="hint">{t('customerEdit.visibilityHint')}</p>
      <FieldError id={`${id}-root`} errors={errors} field="" />
      <div className="form-actions">
        <button type="submit" className="primary">
          {t('admin.customers.save')}
        </button>
        {saved && <span role="status">{t('admin.saved')}</span>}
      </div>
      {problem && (
        <p className="error" role="alert">
          <ErrorText error={problem} />
        </p>
      )}
    </form>
  );
}
