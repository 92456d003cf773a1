import path from 'node:path';
import type { ReplyDraftRequest } from '../../shared/api.js';
import type { LocalReplyDraft } from '../../shared/ipc.js';
import { CodedError } from '../../shared/result.js';
import { openDatabaseFile, type SqliteDb } from './cache/encrypted-database.js';

/**
 * Reply drafts saved while the backend could not be reached, kept on this computer until it
 * takes them (the mail channel's part of the outbox). They live in their own small database
 * beside the user's cache.db rather than in the cache's outbox: the backend's sync push knows
 * notes and call logs, while a draft goes to its own idempotent route (PUT reply/:id), and the
 * cache's migrations stay the cache's.
 *
 * The same numbered-migration rules as the cache apply: `PRAGMA user_version` is the schema
 * version, migrations are append-only, and a file from a newer app version is refused. The
 * file is encrypted with the cache's key, like the cache (encrypted-database.ts).
 */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE pending_reply_drafts (
     reply_id TEXT PRIMARY KEY,
     request_json TEXT NOT NULL,
     saved_at TEXT NOT NULL,
     -- Bumped by every save: a push only removes the draft it actually sent.
     revision INTEGER NOT NULL,
     -- Set when the backend refused the draft: it is kept for the operator and no longer sent.
     error TEXT
   ) WITHOUT ROWID;`,
];

export const MAIL_DRAFTS_FILE = 'mail-drafts.db';

interface DraftRow {
  reply_id: string;
  request_json: string;
  saved_at: string;
  revision: number;
  error: string | null;
}

export interface StoredDraft {
  replyId: string;
  request: ReplyDraftRequest;
  revision: number;
  view: LocalReplyDraft;
}

export class MailDraftStore {
  readonly #db: SqliteDb;

  /** `key` is the cache's key; only tests open drafts without one. */
  constructor(userDir: string, key?: Buffer) {
    const file = path.join(userDir, MAIL_DRAFTS_FILE);
    const db = openDatabaseFile(file, { key, label: 'The local drafts' });
    try {
      db.pragma('busy_timeout = 5000');
      const current = db.pragma('user_version', { simple: true }) as number;
      if (current > MIGRATIONS.length) {
        throw new CodedError(
          'cache_too_new',
          `The local drafts at ${file} were written by a newer version of Tsunagu (schema ${current}, this version knows ${MIGRATIONS.length})`,
        );
      }
      db.pragma('journal_mode = WAL');
      MIGRATIONS.slice(current).forEach((up, index) => {
        db.transaction(() => {
          db.exec(up);
          db.pragma(`user_version = ${current + index + 1}`);
        }).immediate();
      });
    } catch (error) {
      db.close();
      throw error;
    }
    this.#db = db;
  }

  /**
   * Keeps a draft (merged with what is already waiting for the same reply: a later save only
   * changes the fields it gives), clearing an earlier refusal since the operator edited it.
   */
  save(replyId: string, request: ReplyDraftRequest, savedAt: string): StoredDraft {
    return this.#db.transaction(() => {
      const existing = this.get(replyId);
      const merged: ReplyDraftRequest = { ...existing?.request };
      for (const [key, value] of Object.entries(request) as [keyof ReplyDraftRequest, unknown][]) {
        if (value !== undefined) (merged as Record<string, unknown>)[key] = value;
      }
      const revision = (existing?.revision ?? 0) + 1;
      this.#db
        .prepare(
          `INSERT INTO pending_reply_drafts (reply_id, request_json, saved_at, revision, error) VALUES (?, ?, ?, ?, NULL)
           ON CONFLICT (reply_id) DO UPDATE SET request_json = excluded.request_json, saved_at = excluded.saved_at,
             revision = excluded.revision, error = NULL`,
        )
        .run(replyId, JSON.stringify(merged), savedAt, revision);
      return this.get(replyId)!;
    })();
  }

  get(replyId: string): StoredDraft | null {
    const row = this.#db.prepare('SELECT * FROM pending_reply_drafts WHERE reply_id = ?').get(replyId) as DraftRow | undefined;
    return row ? toStored(row) : null;
  }

  /** Drafts still to send, oldest first. */
  waiting(): StoredDraft[] {
    const rows = this.#db.prepare('SELECT * FROM pending_reply_drafts WHERE error IS NULL ORDER BY saved_at, reply_id').all() as DraftRow[];
    return rows.map(toStored);
  }

  all(): LocalReplyDraft[] {
    const rows = this.#db.prepare('SELECT * FROM pending_reply_drafts ORDER BY saved_at, reply_id').all() as DraftRow[];
    return rows.map((row) => toStored(row).view);
  }

  /** Removes the draft if it is still the revision that was sent (a newer save stays). */
  sent(replyId: string, revision: number): void {
    this.#db.prepare('DELETE FROM pending_reply_drafts WHERE reply_id = ? AND revision = ?').run(replyId, revision);
  }

  refused(replyId: string, revision: number, error: string): void {
    this.#db.prepare('UPDATE pending_reply_drafts SET error = ? WHERE reply_id = ? AND revision = ?').run(error, replyId, revision);
  }

  discard(replyId: string): void {
    this.#db.prepare('DELETE FROM pending_reply_drafts WHERE reply_id = ?').run(replyId);
  }

  close(): void {
    this.#db.close();
  }

  /** Every later write fails with SQLITE_READONLY (the core's "cannot be saved here" error). */
  refuseWrites(): void {
    this.#db.pragma('query_only = ON');
  }
}

function toStored(row: DraftRow): StoredDraft {
  const request = JSON.parse(row.request_json) as ReplyDraftRequest;
  return {
    replyId: row.reply_id,
    request,
    revision: row.revision,
    view: {
      replyId: row.reply_id,
      mailId: request.mailId ?? null,
      callKey: request.callKey ?? null,
      subject: request.subject ?? null,
      body: request.body ?? null,
      templateId: request.templateId ?? null,
      savedAt: row.saved_at,
      error: row.error,
    },
  };
}
