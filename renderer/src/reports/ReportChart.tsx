import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, Tooltip } from 'chart.js';
import { useEffect, useRef } from 'react';
import { useTranslation } from 'react-i18next';
import type { ReportPage } from '../../../shared/reports.js';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Legend, Tooltip);

/** Colours that stay apart for the common colour-vision deficiencies (Okabe–Ito). */
const SERIES = [
  { key: 'answered', colour: '#0072B2', read: (r: ReportPage['rows'][number]) => r.calls.answered },
  { key: 'missed', colour: '#D55E00', read: (r: ReportPage['rows'][number]) => r.calls.missed },
  { key: 'abandoned', colour: '#CC79A7', read: (r: ReportPage['rows'][number]) => r.calls.abandoned },
  { key: 'received', colour: '#E69F00', read: (r: ReportPage['rows'][number]) => r.mails.received },
  { key: 'replied', colour: '#009E73', read: (r: ReportPage['rows'][number]) => r.mails.replied },
] as const;

/** Each period's totals over the groups of this page. */
export function periodTotals(page: ReportPage): Array<{ bucket: string } & Record<(typeof SERIES)[number]['key'], number>> {
  return page.buckets.map((bucket) => {
    const rows = page.rows.filter((r) => r.bucket === bucket.key);
    return { bucket: bucket.key, ...Object.fromEntries(SERIES.map((s) => [s.key, rows.reduce((sum, r) => sum + s.read(r), 0)])) } as { bucket: string } & Record<
      (typeof SERIES)[number]['key'],
      number
    >;
  });
}

/**
 * Calls and mails per period, drawn with chart.js (no animation, updated in place). The table of
 * the report beside it carries the same figures for screen readers and exact reading.
 */
export function ReportChart({ page, describedBy }: { page: ReportPage; describedBy: string }) {
  const { t } = useTranslation();
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const chartRef = useRef<Chart<'bar'> | null>(null);

  useEffect(() => {
    const context = canvasRef.current?.getContext('2d');
    if (!context) return;
    const chart = new Chart(context, {
      type: 'bar',
      data: { labels: [], datasets: [] },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
        plugins: { legend: { position: 'bottom' } },
      },
    });
    chartRef.current = chart;
    return () => {
      chart.destroy();
      chartRef.current = null;
    };
  }, []);

  const totals = periodTotals(page);
  const labels = SERIES.map((s) => t(`reports.series.${s.key}`));
  useEffect(() => {
    const chart = chartRef.current;
    if (!chart) return;
    chart.data.labels = totals.map((row) => row.bucket);
    chart.data.datasets = SERIES.map((s, i) => ({ label: labels[i] ?? s.key, data: totals.map((row) => row[s.key]), backgroundColor: s.colour }));
    chart.update('none');
  });

  return (
    <figure className="report-chart" data-testid="report-chart" data-totals={JSON.stringify(totals)}>
      <figcaption>{t('reports.chartCaption', { timeZone: page.timeZone })}</figcaption>
      <div className="chart-box">
        <canvas ref={canvasRef} role="img" aria-label={t('reports.chartAlt')} aria-describedby={describedBy} />
      </div>
    </figure>
  );
}
