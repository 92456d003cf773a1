import type { CacheMigration } from './index.js';

/**
 * "Calls for you" from the sync feed: one row per call (all its legs), as the backend last sent
 * it (`BranchCall` JSON), with the columns the list and the purges filter on. The per-scope
 * copies fetched at sign-in before this version are dropped.
 */
export const migration002: CacheMigration = {
  version: 2,
  name: 'branch_calls',
  up: `
    CREATE TABLE branch_calls (
      key TEXT PRIMARY KEY,
      customer_id TEXT,
      started_at TEXT NOT NULL,
      call_json TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX branch_calls_started ON branch_calls (started_at);
    CREATE INDEX branch_calls_customer ON branch_calls (customer_id);
    DELETE FROM meta WHERE key LIKE 'callsForYou.list.%';
  `,
};
