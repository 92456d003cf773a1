import { useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { EXCHANGE_FORMATS, type ExchangeExportSummary } from '../../../shared/exchange.js';
import { ErrorText } from '../components/ErrorText.js';
import { formatDateTime } from '../format.js';
import { useUiStore } from '../stores/ui.js';
import { useExchangeStore } from './store.js';

/**
 * The list of exports: for an admin every export of the tenant with sharing; for a partner
 * user the exports shared with its organisation, read-only. Both download JSON and CSV.
 */
export function ExchangeExports({ mode }: { mode: 'admin' | 'partner' }) {
  const { t } = useTranslation();
  const exports = useExchangeStore((s) => s.exports);
  const phase = useExchangeStore((s) => s.phase);
  const busy = useExchangeStore((s) => s.busy);
  const headingId = useId();
  return (
    <section className="exchange-exports" aria-labelledby={headingId} data-testid="exchange-exports" data-phase={phase}>
      <h2 id={headingId}>{mode === 'admin' ? t('exchange.list.title') : t('exchange.partner.title')}</h2>
      {phase === 'ready' && exports.length === 0 && <p>{mode === 'admin' ? t('exchange.list.empty') : t('exchange.partner.empty')}</p>}
      {exports.length > 0 && (
        <table className="exchange-table">
          <thead>
            <tr>
              <th scope="col">{t('exchange.list.name')}</th>
              <th scope="col">{t('exchange.list.created')}</th>
              <th scope="col">{t('exchange.list.records')}</th>
              <th scope="col">{t('exchange.list.sharedWith')}</th>
              <th scope="col">{t('exchange.list.actions')}</th>
            </tr>
          </thead>
          <tbody>
            {exports.map((entry) => (
              <ExportRow key={entry.id} entry={entry} mode={mode} busy={busy !== null} />
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function ExportRow({ entry, mode, busy }: { entry: ExchangeExportSummary; mode: 'admin' | 'partner'; busy: boolean }) {
  const { t } = useTranslation();
  const partners = useExchangeStore((s) => s.partners);
  const language = useUiStore((s) => s.language);
  const [partner, setPartner] = useState('');
  const selectId = useId();
  const unshared = partners.filter((org) => !entry.sharedWith.includes(org));
  return (
    <tr data-testid="exchange-export" data-export-id={entry.id}>
      <th scope="row">{entry.title}</th>
      <td>
        <time dateTime={entry.createdAt}>{formatDateTime(entry.createdAt, language)}</time>
        {mode === 'admin' && <span className="exchange-by"> · {entry.createdBy}</span>}
      </td>
      <td>{entry.recordCount}</td>
      <td data-testid="exchange-shared-with">{entry.sharedWith.length > 0 ? entry.sharedWith.join(', ') : t('exchange.list.notShared')}</td>
      <td className="exchange-actions">
        {EXCHANGE_FORMATS.map((format) => (
          <button
            key={format}
            type="button"
            disabled={busy}
            aria-label={t('exchange.list.downloadOf', { format: format.toUpperCase(), title: entry.title })}
            onClick={() => void useExchangeStore.getState().download(entry.id, format)}
          >
            {t('exchange.list.download', { format: format.toUpperCase() })}
          </button>
        ))}
        {mode === 'admin' && unshared.length > 0 && (
          <span className="exchange-share">
            <label htmlFor={selectId} className="visually-hidden">
              {t('exchange.list.partnerFor', { title: entry.title })}
            </label>
            <select id={selectId} value={partner} onChange={(event) => setPartner(event.target.value)}>
              <option value="">{t('exchange.list.choosePartner')}</option>
              {unshared.map((org) => (
                <option key={org} value={org}>
                  {org}
                </option>
              ))}
            </select>
            <button
              type="button"
              disabled={busy || partner === ''}
              onClick={() => {
                void useExchangeStore.getState().share(entry.id, partner);
                setPartner('');
              }}
            >
              {t('exchange.list.share')}
            </button>
          </span>
        )}
      </td>
    </tr>
  );
}

/** What the last action did, or why it failed: a live region both screens share. */
export function ExchangeStatus() {
  const { t } = useTranslation();
  const error = useExchangeStore((s) => s.error);
  const done = useExchangeStore((s) => s.done);
  const busy = useExchangeStore((s) => s.busy);
  return (
    <>
      <p role="status" className="exchange-status" data-testid="exchange-status" data-busy={busy ?? 'none'}>
        {busy ? t(`exchange.busy.${busy}`) : done ? t(`exchange.done.${done.kind}`, { title: done.title }) : ''}
      </p>
      {error && (
        <p role="alert" className="error" data-testid="exchange-error" data-code={error.code}>
          <ErrorText error={error} />
        </p>
      )}
    </>
  );
}
