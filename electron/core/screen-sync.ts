import type { IpcHandlerTable, ScreenSyncIpcChannel } from '../../shared/ipc.js';
import { SCREEN_SYNC_API, ScreenSyncFeed, ScreenSyncView, screenSyncPath } from '../../shared/screen-sync.js';
import type { BackendClient } from './backend-client.js';

/**
 * Screen sync (issue 10 item 7) in the core: a thin, online-only pass to the backend, which
 * binds the share to this operator and this call. The replayed page never reaches the disk.
 */
export function screenSyncHandlers(client: () => BackendClient): Pick<IpcHandlerTable, ScreenSyncIpcChannel> {
  return {
    'screenSync:join': (payload) => client().request('POST', SCREEN_SYNC_API.join, ScreenSyncView, { body: payload }),
    'screenSync:feed': ({ sessionId, after }) => client().request('GET', `${screenSyncPath(SCREEN_SYNC_API.feed, sessionId)}?after=${after}`, ScreenSyncFeed),
    'screenSync:highlight': ({ sessionId, pointer }) =>
      client().request('POST', screenSyncPath(SCREEN_SYNC_API.highlight, sessionId), ScreenSyncView, { body: pointer, idempotent: true }),
    'screenSync:stop': ({ sessionId }) => client().request('POST', screenSyncPath(SCREEN_SYNC_API.stop, sessionId), ScreenSyncView, { body: {}, idempotent: true }),
  };
}
