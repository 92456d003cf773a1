import { AUDIT_API, AuditPage } from '../../shared/api.js';
import type { IpcHandlerTable } from '../../shared/ipc.js';
import type { BackendClient } from './backend-client.js';

type AuditHandlerTable = Pick<IpcHandlerTable, 'audit:list' | 'audit:exportCsv'>;

/** A query object as `?a=1&b=2` (undefined values left out), or '' when empty. */
export function queryString(query: Record<string, unknown>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value !== undefined) params.set(name, String(value));
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

/** The audit viewer's channels, straight to the backend (which decides who may see what). */
export function auditHandlers(client: () => BackendClient): AuditHandlerTable {
  return {
    'audit:list': (query) => client().request('GET', `${AUDIT_API.list}${queryString(query)}`, AuditPage),
    'audit:exportCsv': async (filter) => {
      const file = await client().download(`${AUDIT_API.exportCsv}${queryString(filter)}`);
      return { filename: file.filename ?? 'audit.csv', csv: file.bytes.toString('utf8') };
    },
  };
}
