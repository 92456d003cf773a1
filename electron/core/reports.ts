import type { IpcHandlerTable } from '../../shared/ipc.js';
import { REPORTS_API, ReportPage } from '../../shared/reports.js';
import { queryString } from './audit.js';
import type { BackendClient } from './backend-client.js';

type ReportHandlerTable = Pick<IpcHandlerTable, 'reports:page' | 'reports:exportCsv'>;

/** The reports' channels, straight to the backend (which decides who may see them). */
export function reportHandlers(client: () => BackendClient): ReportHandlerTable {
  return {
    'reports:page': (query) => client().request('GET', `${REPORTS_API.page}${queryString(query)}`, ReportPage),
    'reports:exportCsv': async (query) => {
      const file = await client().download(`${REPORTS_API.exportCsv}${queryString(query)}`);
      return { filename: file.filename ?? `report-${query.period}-${query.from}-${query.to}.csv`, csv: file.bytes.toString('utf8') };
    },
  };
}
