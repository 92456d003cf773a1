import type { PasswordChecker } from './auth/passwords.js';
import type { LoginThrottle } from './auth/throttle.js';
import type { BackendConfig } from './config.js';
import type { DatabaseHandle } from './db/database.js';
import type { CallMeNotifier } from './callme/notifier.js';
import type { ChangeFeed } from './sync/feed.js';

/** What route modules share: the database, the settings, the change feed, the password checker and login throttle. */
export interface BackendContext {
  handle: DatabaseHandle;
  config: BackendConfig;
  feed: ChangeFeed;
  passwords: PasswordChecker;
  throttle: LoginThrottle;
  /** Tells an operator's event stream that their call-me offer changed (backend/src/callme). */
  callmeOffers?: CallMeNotifier;
}
