import { useEffect, useId } from 'react';
import { useTranslation } from 'react-i18next';
import { REPORT_GROUPINGS, REPORT_PERIODS, type ReportFigures, type ReportGroup, type ReportPage } from '../../../shared/reports.js';
import { ErrorText } from '../components/ErrorText.js';
import { ReportChart } from './ReportChart.js';
import { useReportsStore, type ReportForm } from './store.js';
import './reports.css';

/** Seconds as m:ss (h:mm:ss from an hour); "—" without a figure. */
export function formatSeconds(seconds: number | null): string {
  if (seconds === null) return '—';
  const total = Math.round(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

type ColumnKey = 'answered' | 'missed' | 'abandoned' | 'handle' | 'wait' | 'received' | 'replied' | 'review' | 'returned' | 'handled' | 'unhandled' | 'callbacksDone' | 'callbacksOverdue';

const COLUMNS: ReadonlyArray<readonly [ColumnKey, (f: ReportFigures) => string]> = [
  ['answered', (f) => String(f.calls.answered)],
  ['missed', (f) => String(f.calls.missed)],
  ['abandoned', (f) => String(f.calls.abandoned)],
  ['handle', (f) => formatSeconds(f.calls.avgHandleSeconds)],
  ['wait', (f) => formatSeconds(f.calls.avgWaitSeconds)],
  ['received', (f) => String(f.mails.received)],
  ['replied', (f) => String(f.mails.replied)],
  ['review', (f) => formatSeconds(f.mails.avgReviewSeconds)],
  ['returned', (f) => String(f.mails.returned)],
  ['handled', (f) => String(f.branchCalls.handled)],
  ['unhandled', (f) => String(f.branchCalls.unhandled)],
  ['callbacksDone', (f) => String(f.callbacks.done)],
  ['callbacksOverdue', (f) => String(f.callbacks.overdue)],
];

function ReportTable({ page, id }: { page: ReportPage; id: string }) {
  const { t } = useTranslation();
  const groupName = (group: ReportGroup) => group.name ?? t(page.groupBy === 'operator' ? 'reports.nobody' : 'reports.noBranch');
  const names = new Map(page.groups.map((g) => [g.key, groupName(g)]));
  return (
    <table className="data-table report-table" id={id} data-testid="report-table">
      <caption className="visually-hidden">{t('reports.tableCaption')}</caption>
      <thead>
        <tr>
          <th scope="col">{t('reports.period')}</th>
          <th scope="col">{t(`reports.groupBy.${page.groupBy}`)}</th>
          {COLUMNS.map(([key]) => (
            <th scope="col" key={key}>
              {t(`reports.column.${key}`)}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {page.rows.map((row) => (
          <tr key={`${row.bucket}|${row.group}`} data-testid="report-row" data-bucket={row.bucket} data-group={row.group}>
            <td>{row.bucket}</td>
            <th scope="row">{names.get(row.group) ?? row.group}</th>
            {COLUMNS.map(([key, read]) => (
              <td key={key} data-column={key}>
                {read(row)}
              </td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/**
 * Reports for supervisors and admins (the backend decides): calls, mails, calls for you and
 * callbacks per operator or branch by day, week or month in the tenant's time zone, a chart of
 * the periods, the table, CSV of every group, and a printable daily report of every operator.
 */
export function ReportsView() {
  const { t } = useTranslation();
  const { form, page, cursors, loading, error } = useReportsStore();
  const headingId = useId();
  const tableId = useId();

  useEffect(() => {
    void useReportsStore.getState().load();
  }, []);

  const field = <K extends keyof ReportForm>(name: K, value: ReportForm[K]) => useReportsStore.getState().setForm({ ...form, [name]: value });
  const printDaily = async () => {
    if (await useReportsStore.getState().loadDaily(form.to)) window.print();
  };

  return (
    <section className="reports-view" aria-labelledby={headingId} data-testid="reports-view">
      <div className="area-head">
        <h2 id={headingId}>{t('reports.heading')}</h2>
      </div>
      <form
        className="report-form"
        aria-label={t('reports.formLabel')}
        onSubmit={(event) => {
          event.preventDefault();
          void useReportsStore.getState().load();
        }}
      >
        <label>
          {t('reports.periodLabel')}
          <select value={form.period} onChange={(e) => field('period', e.target.value as ReportForm['period'])} data-testid="report-period">
            {REPORT_PERIODS.map((period) => (
              <option key={period} value={period}>
                {t(`reports.periods.${period}`)}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t('reports.groupLabel')}
          <select value={form.groupBy} onChange={(e) => field('groupBy', e.target.value as ReportForm['groupBy'])} data-testid="report-group">
            {REPORT_GROUPINGS.map((grouping) => (
              <option key={grouping} value={grouping}>
                {t(`reports.groupBy.${grouping}`)}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t('reports.from')}
          <input type="date" required value={form.from} onChange={(e) => field('from', e.target.value)} data-testid="report-from" />
        </label>
        <label>
          {t('reports.to')}
          <input type="date" required value={form.to} onChange={(e) => field('to', e.target.value)} data-testid="report-to" />
        </label>
        <button type="submit" disabled={loading} data-testid="report-show">
          {t('reports.show')}
        </button>
        <button type="button" onClick={() => void useReportsStore.getState().exportCsv()} data-testid="report-export">
          {t('reports.export')}
        </button>
        <button type="button" disabled={loading} onClick={() => void printDaily()} data-testid="report-print">
          {t('reports.printDaily')}
        </button>
      </form>
      {error && <ErrorText error={error} />}
      <p role="status" className="muted">
        {loading ? t('reports.loading') : page ? t('reports.summary', { timeZone: page.timeZone, page: Math.max(1, cursors.length), count: page.rows.length }) : ''}
      </p>
      {page && (
        <div className="report-print" data-testid="report-print-area">
          <h3 className="print-only">
            {t('reports.printTitle', { from: page.buckets[0]?.key ?? '', to: page.buckets[page.buckets.length - 1]?.key ?? '', timeZone: page.timeZone })}
          </h3>
          <ReportChart page={page} describedBy={tableId} />
          <ReportTable page={page} id={tableId} />
          {page.rows.length === 0 && !loading && <p className="muted">{t('reports.empty')}</p>}
        </div>
      )}
      <nav className="report-pages" aria-label={t('reports.pagesLabel')}>
        <button type="button" disabled={loading || cursors.length <= 1} onClick={() => void useReportsStore.getState().previousPage()} data-testid="report-previous">
          {t('reports.previous')}
        </button>
        <button type="button" disabled={loading || !page?.nextCursor} onClick={() => void useReportsStore.getState().nextPage()} data-testid="report-next">
          {t('reports.next')}
        </button>
      </nav>
    </section>
  );
}
