import {
  EXCHANGE_API,
  ExchangeExportList,
  ExchangeExportSummary,
  ExchangePartners,
  ExchangePreview,
  type ExchangeDownload,
} from '../../shared/exchange.js';
import type { IpcHandlerTable } from '../../shared/ipc.js';
import type { BackendClient } from './backend-client.js';

/** Building an export reads and scrubs up to EXPORT_RECORD_LIMIT contacts on the backend. */
const BUILD_TIMEOUT_MS = 120_000;
const DOWNLOAD_TIMEOUT_MS = 60_000;

type ExchangeChannel = Extract<keyof IpcHandlerTable, `exchange:${string}`>;

/**
 * The exchange in the core: online only (nothing of it is cached), for admins and partner
 * users alike; the backend decides what each may do. `client` throws `unauthenticated` when
 * nobody is signed in.
 */
export function exchangeHandlers(client: () => BackendClient): Pick<IpcHandlerTable, ExchangeChannel> {
  return {
    'exchange:list': async () => (await client().request('GET', EXCHANGE_API.exports, ExchangeExportList)).exports,
    'exchange:partners': async () => (await client().request('GET', EXCHANGE_API.partners, ExchangePartners)).partners,
    'exchange:preview': (payload) => client().request('POST', EXCHANGE_API.preview, ExchangePreview, { body: payload, timeoutMs: BUILD_TIMEOUT_MS }),
    'exchange:create': (payload) => client().request('POST', EXCHANGE_API.exports, ExchangeExportSummary, { body: payload, timeoutMs: BUILD_TIMEOUT_MS }),
    'exchange:share': ({ exportId, partnerOrg }) =>
      client().request('POST', EXCHANGE_API.share.replace(':id', encodeURIComponent(exportId)), ExchangeExportSummary, { body: { partnerOrg }, idempotent: true }),
    'exchange:download': async ({ exportId, format }): Promise<ExchangeDownload> => {
      const path = `${EXCHANGE_API.download.replace(':id', encodeURIComponent(exportId))}?format=${format}`;
      const text = await client().getText(path, { timeoutMs: DOWNLOAD_TIMEOUT_MS });
      // fetch's text() drops the byte-order mark the backend puts first; spreadsheets need it to read UTF-8 CSV.
      const content = format === 'csv' && !text.startsWith('\ufeff') ? `\ufeff${text}` : text;
      return {
        fileName: `exchange-${exportId}.${format}`,
        mediaType: format === 'csv' ? 'text/csv;charset=utf-8' : 'application/json;charset=utf-8',
        content,
      };
    },
  };
}
