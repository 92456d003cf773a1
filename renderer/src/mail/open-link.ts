import type { OpenExternalResult } from '../../../shared/ipc.js';
import type { Result } from '../../../shared/result.js';
import { invoke } from '../api.js';

/**
 * Opens a link the user confirmed, outside the app. The core checks the scheme (http(s) and
 * mailto only); Electron opens it in the system browser, the browser shell hands it back for a
 * new tab without a way back to this window. The app window itself is never navigated.
 */
export async function openConfirmedLink(url: string): Promise<Result<OpenExternalResult>> {
  const result = await invoke('shell:openExternal', { url });
  if (result.ok && !result.value.opened) window.open(result.value.url, '_blank', 'noopener,noreferrer');
  return result;
}
