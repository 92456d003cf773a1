import { useEffect, useId } from 'react';
import { useTranslation } from 'react-i18next';
import { AUDIT_ACTIONS } from '../../../shared/domain.js';
import { ErrorText } from '../components/ErrorText.js';
import { formatDateTime } from '../format.js';
import { useUiStore } from '../stores/ui.js';
import { useAuditStore, type AuditFilterForm } from './store.js';

/** Facts of an event as one short line (the details object is the backend's, shown as recorded). */
function detailsText(details: Record<string, unknown>): string {
  return Object.entries(details)
    .map(([key, value]) => `${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' · ');
}

/**
 * The audit log for admins and supervisors (the backend decides what each may see): who did
 * what to which customer and when, filtered by user, customer, action and time, newest first,
 * a page at a time; the same filter exports as CSV.
 */
export function AuditViewer() {
  const { t } = useTranslation();
  const language = useUiStore((s) => s.language);
  const { filter, entries, cursors, nextCursor, loading, error } = useAuditStore();
  const formId = useId();

  useEffect(() => {
    void useAuditStore.getState().search();
  }, []);

  const field = <K extends keyof AuditFilterForm>(name: K, value: AuditFilterForm[K]) => useAuditStore.getState().setFilter({ ...filter, [name]: value });

  return (
    <section className="audit-viewer" aria-labelledby={`${formId}-heading`} data-testid="audit-viewer">
      <div className="area-head">
        <h2 id={`${formId}-heading`}>{t('audit.heading')}</h2>
      </div>
      <form
        className="audit-filter"
        aria-label={t('audit.filterLabel')}
        onSubmit={(event) => {
          event.preventDefault();
          void useAuditStore.getState().search();
        }}
      >
        <label>
          {t('audit.user')}
          <input value={filter.userId} onChange={(e) => field('userId', e.target.value)} data-testid="audit-user" placeholder={t('audit.idPlaceholder')} />
        </label>
        <label>
          {t('audit.customer')}
          <input value={filter.customerId} onChange={(e) => field('customerId', e.target.value)} data-testid="audit-customer" placeholder={t('audit.idPlaceholder')} />
        </label>
        <label>
          {t('audit.action')}
          <select value={filter.action} onChange={(e) => field('action', e.target.value as AuditFilterForm['action'])} data-testid="audit-action">
            <option value="">{t('audit.anyAction')}</option>
            {AUDIT_ACTIONS.map((action) => (
              <option key={action} value={action}>
                {action}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t('audit.from')}
          <input type="datetime-local" value={filter.from} onChange={(e) => field('from', e.target.value)} data-testid="audit-from" />
        </label>
        <label>
          {t('audit.to')}
          <input type="datetime-local" value={filter.to} onChange={(e) => field('to', e.target.value)} data-testid="audit-to" />
        </label>
        <button type="submit" disabled={loading} data-testid="audit-search">
          {t('audit.search')}
        </button>
        <button type="button" onClick={() => void useAuditStore.getState().exportCsv()} data-testid="audit-export">
          {t('audit.export')}
        </button>
      </form>
      {error && <ErrorText error={error} />}
      <p role="status" className="muted">
        {loading ? t('audit.loading') : t('audit.page', { page: Math.max(1, cursors.length), count: entries.length })}
      </p>
      <table className="audit-table" data-testid="audit-table">
        <caption className="visually-hidden">{t('audit.heading')}</caption>
        <thead>
          <tr>
            <th scope="col">{t('audit.at')}</th>
            <th scope="col">{t('audit.user')}</th>
            <th scope="col">{t('audit.action')}</th>
            <th scope="col">{t('audit.customer')}</th>
            <th scope="col">{t('audit.details')}</th>
          </tr>
        </thead>
        <tbody>
          {entries.map((entry) => (
            <tr key={entry.id} data-testid="audit-row" data-action={entry.action} data-customer-id={entry.customerId ?? ''}>
              <td>
                <time dateTime={entry.at}>{formatDateTime(entry.at, language)}</time>
              </td>
              <td>{entry.userName ?? (entry.userId === null ? t('audit.system') : entry.userId)}</td>
              <td>{entry.action}</td>
              <td>{entry.customerName ?? entry.customerId ?? '—'}</td>
              <td className="audit-details">{detailsText(entry.details)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {entries.length === 0 && !loading && <p className="muted">{t('audit.empty')}</p>}
      <nav className="audit-pages" aria-label={t('audit.pagesLabel')}>
        <button type="button" disabled={loading || cursors.length <= 1} onClick={() => void useAuditStore.getState().previousPage()} data-testid="audit-newer">
          {t('audit.newer')}
        </button>
        <button type="button" disabled={loading || nextCursor === null} onClick={() => void useAuditStore.getState().nextPage()} data-testid="audit-older">
          {t('audit.older')}
        </button>
      </nav>
    </section>
  );
}
