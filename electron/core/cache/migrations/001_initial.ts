import type { CacheMigration } from './index.js';

/**
 * The first cache schema.
 *
 * - customers keep an integer `rid` besides the backend's text id: the FTS table, the token
 *   table and the phone/e-mail tables refer to it, which keeps those indexes small.
 * - `search_tokens_json` remembers the exact tokens written to customer_tokens, so an update
 *   or delete removes exactly those rows even if a later version tokenises differently.
 * - customer_fts is contentless (the text lives in customers already) with
 *   contentless_delete so rows can be removed by rowid.
 * - contacts carry `pending` for notes written offline that still wait in the outbox.
 * - meta holds the customer count, kept current by every write (count(*) is slow at scale).
 */
export const migration001: CacheMigration = {
  version: 1,
  name: 'initial',
  up: `
    CREATE TABLE customers (
      rid INTEGER PRIMARY KEY,
      id TEXT NOT NULL UNIQUE,
      code TEXT NOT NULL,
      name TEXT NOT NULL,
      name_kana TEXT NOT NULL,
      phones_json TEXT NOT NULL,
      emails_json TEXT NOT NULL,
      postal_code TEXT NOT NULL,
      address TEXT NOT NULL,
      branch TEXT,
      assigned_rep_id TEXT,
      assigned_rep_name TEXT,
      classification INTEGER NOT NULL CHECK (classification IN (1, 2, 3)),
      type TEXT NOT NULL,
      updated_at TEXT NOT NULL,
      sort_kana TEXT NOT NULL,
      search_tokens_json TEXT NOT NULL
    );

    CREATE TABLE customer_phones (
      customer_rid INTEGER NOT NULL REFERENCES customers (rid) ON DELETE CASCADE,
      position INTEGER NOT NULL,
      e164 TEXT NOT NULL,
      kind TEXT NOT NULL,
      PRIMARY KEY (customer_rid, position)
    ) WITHOUT ROWID;
    CREATE INDEX customer_phones_e164 ON customer_phones (e164);

    CREATE TABLE customer_emails (
      customer_rid INTEGER NOT NULL REFERENCES customers (rid) ON DELETE CASCADE,
      position INTEGER NOT NULL,
      email TEXT NOT NULL,
      PRIMARY KEY (customer_rid, position)
    ) WITHOUT ROWID;
    CREATE INDEX customer_emails_email ON customer_emails (email);

    CREATE TABLE customer_tokens (
      token TEXT NOT NULL,
      customer_rid INTEGER NOT NULL,
      PRIMARY KEY (token, customer_rid)
    ) WITHOUT ROWID;

    CREATE VIRTUAL TABLE customer_fts USING fts5 (
      text,
      tokenize = 'trigram',
      content = '',
      contentless_delete = 1
    );

    CREATE TABLE incidents (
      id TEXT PRIMARY KEY,
      customer_id TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
      title TEXT NOT NULL,
      status TEXT NOT NULL,
      assignee_id TEXT,
      assignee_name TEXT,
      opened_at TEXT NOT NULL,
      closed_at TEXT,
      updated_at TEXT NOT NULL
    );
    CREATE INDEX incidents_customer ON incidents (customer_id);

    CREATE TABLE contacts (
      id TEXT PRIMARY KEY,
      incident_id TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
      customer_id TEXT NOT NULL,
      kind TEXT NOT NULL,
      direction TEXT NOT NULL,
      occurred_at TEXT NOT NULL,
      agent_id TEXT,
      agent_name TEXT,
      summary TEXT NOT NULL,
      body TEXT NOT NULL,
      call_meta_json TEXT,
      pending INTEGER NOT NULL DEFAULT 0 CHECK (pending IN (0, 1))
    );
    CREATE INDEX contacts_incident ON contacts (incident_id, occurred_at);

    CREATE TABLE meta (
      key TEXT PRIMARY KEY,
      value TEXT NOT NULL
    ) WITHOUT ROWID;
    INSERT INTO meta (key, value) VALUES ('cache.customerCount', '0');

    CREATE TABLE outbox (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      client_id TEXT NOT NULL UNIQUE,
      entry_json TEXT NOT NULL,
      status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'rejected')),
      error TEXT,
      attempts INTEGER NOT NULL DEFAULT 0,
      created_at TEXT NOT NULL
    );
  `,
};
