import { fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { SessionInfo } from '../../../shared/ipc.js';
import { emptyFigures, type ReportPage, type ReportRow } from '../../../shared/reports.js';
import { useSessionStore } from '../stores/session.js';
import { AGENT_SESSION } from '../test/fixtures.js';
import { installSignedInBridge, registerRendererCleanup } from '../test/harness.js';
import { ReportsView } from './ReportsView.js';
import { resetReportsStore } from './store.js';

registerRendererCleanup();
afterEach(() => {
  resetReportsStore();
  vi.restoreAllMocks();
});

const SUPERVISOR: SessionInfo = { ...AGENT_SESSION, user: { ...AGENT_SESSION.user, id: 'user-sv', role: 'supervisor' } };

const BUCKETS = [
  { key: '2026-01-10', start: '2026-01-09T15:00:00.000Z', end: '2026-01-10T15:00:00.000Z' },
  { key: '2026-01-11', start: '2026-01-10T15:00:00.000Z', end: '2026-01-11T15:00:00.000Z' },
];

function row(bucket: string, group: string, change: (r: ReportRow) => void): ReportRow {
  const r: ReportRow = { bucket, group, ...emptyFigures() };
  change(r);
  return r;
}

const FIRST: ReportPage = {
  timeZone: 'Asia/Tokyo',
  period: 'day',
  groupBy: 'operator',
  buckets: BUCKETS,
  groups: [
    { key: '', name: null },
    { key: 'u-suzuki', name: '鈴木 一郎' },
  ],
  rows: [
    row('2026-01-10', '', (r) => {
      r.calls.abandoned = 1;
      r.mails.received = 2;
    }),
    row('2026-01-10', 'u-suzuki', (r) => {
      r.calls = { answered: 2, missed: 0, abandoned: 0, avgHandleSeconds: 200, avgWaitSeconds: 15 };
      r.mails.replied = 1;
      r.mails.avgReviewSeconds = 3725;
      r.callbacks.overdue = 1;
    }),
    row('2026-01-11', 'u-suzuki', (r) => {
      r.calls.missed = 1;
    }),
  ],
  nextCursor: 'page-2',
};

const SECOND: ReportPage = {
  ...FIRST,
  groups: [{ key: 'u-osaka', name: '大阪 次郎' }],
  rows: [row('2026-01-10', 'u-osaka', (r) => (r.calls.answered = 1))],
  nextCursor: null,
};

function signIn(session: SessionInfo = SUPERVISOR) {
  const bridge = installSignedInBridge();
  bridge.session = session;
  useSessionStore.setState({ phase: 'signedIn', session });
  return bridge;
}

describe('ReportsView', () => {
  it('shows each operator’s figures per day, totals in the chart, and pages through the operators', async () => {
    const bridge = signIn();
    bridge.reportPages = { '': FIRST, 'page-2': SECOND };
    render(<ReportsView />);

    await waitFor(() => expect(screen.getAllByTestId('report-row')).toHaveLength(3));
    const suzuki = screen.getAllByTestId('report-row').find((r) => r.dataset.group === 'u-suzuki' && r.dataset.bucket === '2026-01-10')!;
    expect(within(suzuki).getByText('鈴木 一郎')).toBeTruthy();
    const cell = (r: HTMLElement, column: string) => r.querySelector(`[data-column="${column}"]`)?.textContent;
    expect(cell(suzuki, 'answered')).toBe('2');
    expect(cell(suzuki, 'handle')).toBe('3:20');
    expect(cell(suzuki, 'wait')).toBe('0:15');
    expect(cell(suzuki, 'review')).toBe('1:02:05');
    expect(cell(suzuki, 'callbacksOverdue')).toBe('1');
    const nobody = screen.getAllByTestId('report-row').find((r) => r.dataset.group === '')!;
    expect(within(nobody).getByText('Nobody (queue, mail in)')).toBeTruthy();
    expect(cell(nobody, 'abandoned')).toBe('1');
    expect(screen.getByRole('status').textContent).toContain('Asia/Tokyo');

    const totals = JSON.parse(screen.getByTestId('report-chart').dataset.totals ?? '[]') as Array<Record<string, unknown>>;
    expect(totals).toEqual([
      { bucket: '2026-01-10', answered: 2, missed: 0, abandoned: 1, received: 2, replied: 1 },
      { bucket: '2026-01-11', answered: 0, missed: 1, abandoned: 0, received: 0, replied: 0 },
    ]);

    fireEvent.click(screen.getByTestId('report-next'));
    await waitFor(() => expect(screen.getAllByTestId('report-row')).toHaveLength(1));
    expect(screen.getByText('大阪 次郎')).toBeTruthy();
    expect(bridge.reportQueries.at(-1)).toMatchObject({ cursor: 'page-2', limit: 20 });
    fireEvent.click(screen.getByTestId('report-previous'));
    await waitFor(() => expect(screen.getAllByTestId('report-row')).toHaveLength(3));
    expect(bridge.reportQueries.at(-1)).not.toHaveProperty('cursor');
  });

  it('asks for the chosen period and grouping, exports it and prints the daily report', async () => {
    const bridge = signIn();
    bridge.reportPages = { '': FIRST };
    const createObjectURL = vi.fn(() => 'blob:report');
    Object.assign(URL, { createObjectURL, revokeObjectURL: vi.fn() });
    const print = vi.spyOn(window, 'print').mockImplementation(() => undefined);
    render(<ReportsView />);
    await waitFor(() => expect(bridge.reportQueries).toHaveLength(1));

    fireEvent.change(screen.getByTestId('report-period'), { target: { value: 'week' } });
    fireEvent.change(screen.getByTestId('report-group'), { target: { value: 'branch' } });
    fireEvent.change(screen.getByTestId('report-from'), { target: { value: '2026-01-05' } });
    fireEvent.change(screen.getByTestId('report-to'), { target: { value: '2026-01-11' } });
    fireEvent.click(screen.getByTestId('report-show'));
    await waitFor(() => expect(bridge.reportQueries).toHaveLength(2));
    expect(bridge.reportQueries[1]).toEqual({ period: 'week', groupBy: 'branch', from: '2026-01-05', to: '2026-01-11', limit: 20 });

    fireEvent.click(screen.getByTestId('report-export'));
    await waitFor(() => expect(createObjectURL).toHaveBeenCalled());
    expect(bridge.reportExports).toEqual([{ period: 'week', groupBy: 'branch', from: '2026-01-05', to: '2026-01-11' }]);

    fireEvent.click(screen.getByTestId('report-print'));
    await waitFor(() => expect(print).toHaveBeenCalledTimes(1));
    expect(bridge.reportQueries.at(-1)).toEqual({ period: 'day', groupBy: 'operator', from: '2026-01-11', to: '2026-01-11', limit: 100 });
    expect((screen.getByTestId('report-period') as HTMLSelectElement).value).toBe('day');
  });

  it('shows the backend refusing an agent', async () => {
    signIn(AGENT_SESSION);
    render(<ReportsView />);
    await waitFor(() => expect(screen.getByText(/only admins and supervisors/)).toBeTruthy());
    expect(screen.queryAllByTestId('report-row')).toHaveLength(0);
  });
});
