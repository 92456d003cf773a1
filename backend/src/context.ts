import type { PasswordChecker } from './auth/passwords.js';
import type { BackendConfig } from './config.js';
import type { DatabaseHandle } from './db/database.js';
import type { ChangeFeed } from './sync/feed.js';

/** What route modules share: the database, the settings, the change feed, the password checker. */
export interface BackendContext {
  handle: DatabaseHandle;
  config: BackendConfig;
  feed: ChangeFeed;
  passwords: PasswordChecker;
}
