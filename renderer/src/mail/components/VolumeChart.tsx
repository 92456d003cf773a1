import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, Tooltip } from 'chart.js';
import { useEffect, useId, useRef } from 'react';
import { useTranslation } from 'react-i18next';
import type { SupervisorSummary } from '../../../../shared/api.js';

// Only what a grouped bar chart needs: chart.js leaves everything else out of the bundle.
Chart.register(BarController, BarElement, CategoryScale, LinearScale, Legend, Tooltip);

const CALLS_COLOUR = '#1d4ed8';
const MAILS_COLOUR = '#b45309';

type Hours = SupervisorSummary['today']['hours'];

/**
 * Today's calls and mails hour by hour, drawn with chart.js. The same figures are in the table
 * below it, for screen readers and for reading exact numbers. Updated in place when a new
 * summary is pushed (no re-creation, no animation).
 */
export function VolumeChart({ hours, date, timeZone }: { hours: Hours; date: string; timeZone: string }) {
  const { t } = useTranslation();
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const chartRef = useRef<Chart<'bar'> | null>(null);
  const tableId = useId();
  const callsLabel = t('mail.live.chartCalls');
  const mailsLabel = t('mail.live.chartMails');

  useEffect(() => {
    const canvas = canvasRef.current;
    const context = canvas?.getContext('2d');
    if (!canvas || !context) return;
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

  useEffect(() => {
    const chart = chartRef.current;
    if (!chart) return;
    chart.data.labels = hours.map((h) => String(h.hour));
    chart.data.datasets = [
      { label: callsLabel, data: hours.map((h) => h.calls), backgroundColor: CALLS_COLOUR },
      { label: mailsLabel, data: hours.map((h) => h.mails), backgroundColor: MAILS_COLOUR },
    ];
    chart.update('none');
  }, [hours, callsLabel, mailsLabel]);

  return (
    <figure className="volume-chart" data-testid="volume-chart">
      <figcaption>{t('mail.live.chartCaption', { date, timeZone })}</figcaption>
      <div className="chart-box">
        <canvas ref={canvasRef} role="img" aria-label={t('mail.live.chartAlt')} aria-describedby={tableId} />
      </div>
      <details>
        <summary>{t('mail.live.chartTable')}</summary>
        <table id={tableId} className="data-table" data-testid="volume-table">
          <thead>
            <tr>
              <th scope="col">{t('mail.live.hour')}</th>
              <th scope="col">{callsLabel}</th>
              <th scope="col">{mailsLabel}</th>
            </tr>
          </thead>
          <tbody>
            {hours.map((h) => (
              <tr key={h.hour}>
                <th scope="row">{`${String(h.hour).padStart(2, '0')}:00`}</th>
                <td>{h.calls}</td>
                <td>{h.mails}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}
