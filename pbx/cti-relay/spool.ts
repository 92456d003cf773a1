/**
 * The call-event spool: every call event Kamailio hands the relay is written to a SQLite file
 * before the relay says it has it, and leaves the spool only when the backend took it. Events
 * are delivered one at a time in the order they arrived, so the backend sees a call's events
 * in order, and a relay that is killed and started again goes on where it stopped.
 */
import Database from 'better-sqlite3';

export interface SpoolLimits {
  /** Undelivered events kept at most; the oldest is dropped (and logged) to make room. */
  maxEvents: number;
  /** An undelivered event older than this is dropped (and logged). */
  maxAgeMs: number;
  /** Delivered events are remembered this long, so an event Kamailio sends twice is delivered once. */
  deliveredRetentionMs: number;
}

export const defaultSpoolLimits: SpoolLimits = {
  maxEvents: 100_000,
  maxAgeMs: 7 * 24 * 3600_000,
  deliveredRetentionMs: 24 * 3600_000,
};

export interface SpooledEvent {
  seq: number;
  body: string;
  callId: string;
  event: string;
  queuedAt: number;
}

/** What makes two events the same for the backend (POST /api/cti/events is idempotent per these). */
export interface EventKey {
  tenant: string;
  callId: string;
  event: string;
  agent: string | null;
}

export class EventSpool {
  private readonly db: Database.Database;
  private readonly insert: Database.Statement;
  private readonly countPending: Database.Statement;
  private readonly oldestPending: Database.Statement;
  private readonly nextPending: Database.Statement;
  private readonly markDelivered: Database.Statement;

  constructor(
    file: string,
    private readonly limits: SpoolLimits,
    private readonly log: (line: string) => void,
    private readonly now: () => number = Date.now,
  ) {
    this.db = new Database(file);
    // WAL + NORMAL: a committed event survives the relay being killed (the OS keeps the WAL).
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        tenant TEXT NOT NULL,
        call_id TEXT NOT NULL,
        event TEXT NOT NULL,
        agent TEXT NOT NULL,
        body TEXT NOT NULL,
        queued_at INTEGER NOT NULL,
        delivered_at INTEGER
      );
      CREATE UNIQUE INDEX IF NOT EXISTS events_key ON events (tenant, call_id, event, agent);
      CREATE INDEX IF NOT EXISTS events_pending ON events (delivered_at, seq);
    `);
    this.insert = this.db.prepare(
      'INSERT OR IGNORE INTO events (tenant, call_id, event, agent, body, queued_at) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.countPending = this.db.prepare('SELECT count(*) AS n FROM events WHERE delivered_at IS NULL');
    this.oldestPending = this.db.prepare(
      'SELECT seq, call_id AS callId, event, queued_at AS queuedAt FROM events WHERE delivered_at IS NULL ORDER BY seq LIMIT 1',
    );
    this.nextPending = this.db.prepare(
      'SELECT seq, body, call_id AS callId, event, queued_at AS queuedAt FROM events WHERE delivered_at IS NULL ORDER BY seq LIMIT 1',
    );
    this.markDelivered = this.db.prepare('UPDATE events SET delivered_at = ? WHERE seq = ?');
  }

  /** Stores an event; false when the same event (see EventKey) was stored before. */
  add(key: EventKey, body: string): boolean {
    return this.db.transaction(() => {
      while ((this.countPending.get() as { n: number }).n >= this.limits.maxEvents) {
        const oldest = this.oldestPending.get() as Omit<SpooledEvent, 'body'>;
        this.markDelivered.run(this.now(), oldest.seq);
        this.log(
          `spool full (${this.limits.maxEvents} events): dropped the oldest undelivered event (call ${oldest.callId}, ${oldest.event}, queued ${new Date(oldest.queuedAt).toISOString()})`,
        );
      }
      return this.insert.run(key.tenant, key.callId, key.event, key.agent ?? '', body, this.now()).changes === 1;
    })();
  }

  /** The oldest event the backend has not taken yet. */
  next(): SpooledEvent | undefined {
    return this.nextPending.get() as SpooledEvent | undefined;
  }

  delivered(seq: number): void {
    this.markDelivered.run(this.now(), seq);
  }

  pending(): number {
    return (this.countPending.get() as { n: number }).n;
  }

  /** Drops undelivered events past maxAge (logged) and forgets delivered ones past their retention. */
  prune(): void {
    const now = this.now();
    const expired = this.db
      .prepare('SELECT count(*) AS n, min(queued_at) AS oldest FROM events WHERE delivered_at IS NULL AND queued_at < ?')
      .get(now - this.limits.maxAgeMs) as { n: number; oldest: number | null };
    if (expired.n > 0) {
      this.db.prepare('UPDATE events SET delivered_at = ? WHERE delivered_at IS NULL AND queued_at < ?').run(now, now - this.limits.maxAgeMs);
      this.log(
        `dropped ${expired.n} undelivered event(s) older than ${Math.round(this.limits.maxAgeMs / 1000)} s (oldest queued ${new Date(expired.oldest ?? now).toISOString()})`,
      );
    }
    this.db.prepare('DELETE FROM events WHERE delivered_at IS NOT NULL AND delivered_at < ?').run(now - this.limits.deliveredRetentionMs);
  }

  close(): void {
    this.db.close();
  }
}
