import type { Statement } from 'better-sqlite3-multiple-ciphers';
import type { CallEventInput } from '../../../shared/ipc.js';
import type { CacheDb } from './open-cache.js';

/**
 * The calls this computer saw, one row each in `local_calls` (cache migration 004), folded from
 * the call events the renderer reports: the call history's part that works offline and shows
 * calls the backend has not confirmed yet (electron/core/desk.ts).
 *
 * Each event is one row written and one bounded prune; reads take the newest calls only. The
 * list used to be one JSON value rewritten whole at every event, which made each call cost the
 * core more the more calls were kept (bench:memory, issue 13 item 7).
 */

/** One call as this computer saw it. */
export interface LocalCall {
  callId: string;
  direction: 'inbound' | 'outbound';
  remote: string;
  customerId: string | null;
  startedAt: string;
  answeredAt: string | null;
  endedAt: string | null;
  /** The latest event, except that a late "ringing" never replaces "answered". */
  last: CallEventInput['event'];
}

export interface LocalCallLimits {
  /** Calls that started before this (ISO time) are forgotten. */
  keptSince: string;
  /** At most this many calls are kept, the newest by start. */
  max: number;
}

interface LocalCallRow {
  call_id: string;
  direction: LocalCall['direction'];
  remote: string;
  customer_id: string | null;
  started_at: string;
  answered_at: string | null;
  ended_at: string | null;
  last: LocalCall['last'];
}

const COLUMNS = 'call_id, direction, remote, customer_id, started_at, answered_at, ended_at, last';

export class LocalCalls {
  readonly #db: CacheDb;
  readonly #s: { fold: Statement; prune: Statement; newest: Statement; byIds: Statement };

  constructor(db: CacheDb) {
    this.#db = db;
    this.#s = {
      // The first event of a call makes its row; later ones fill what was still unknown.
      fold: db.prepare(`INSERT INTO local_calls (${COLUMNS})
        VALUES (@callId, @direction, @remote, @customerId, @at, @answeredAt, @endedAt, @event)
        ON CONFLICT (call_id) DO UPDATE SET
          last = CASE WHEN local_calls.last = 'answered' AND excluded.last = 'ringing' THEN local_calls.last ELSE excluded.last END,
          answered_at = coalesce(local_calls.answered_at, excluded.answered_at),
          ended_at = coalesce(local_calls.ended_at, excluded.ended_at),
          customer_id = coalesce(local_calls.customer_id, excluded.customer_id)`),
      // The index on (started_at, call_id) walks `max` entries from the newest: bounded by the
      // cap, not by what is stored.
      prune: db.prepare(`DELETE FROM local_calls WHERE started_at < @keptSince OR call_id IN (
        SELECT call_id FROM local_calls ORDER BY started_at DESC, call_id DESC LIMIT -1 OFFSET @max)`),
      newest: db.prepare(`SELECT ${COLUMNS} FROM local_calls
        WHERE started_at >= ? AND call_id NOT IN (SELECT value FROM json_each(?))
        ORDER BY started_at DESC, call_id DESC LIMIT ?`),
      byIds: db.prepare(`SELECT ${COLUMNS} FROM local_calls WHERE call_id IN (SELECT value FROM json_each(?))`),
    };
  }

  /** Folds one call event into its call's row and forgets what is beyond the limits. */
  note(event: CallEventInput, limits: LocalCallLimits): void {
    if (!Number.isSafeInteger(limits.max) || limits.max < 1) throw new RangeError(`max: must be a positive integer, got ${limits.max}`);
    const ends = event.event !== 'ringing' && event.event !== 'answered';
    this.#db.transaction(() => {
      this.#s.fold.run({
        callId: event.callId,
        direction: event.direction,
        remote: event.remote,
        customerId: event.customerId,
        at: event.at,
        answeredAt: event.event === 'answered' ? event.at : null,
        endedAt: ends ? event.at : null,
        event: event.event,
      });
      this.#s.prune.run({ keptSince: limits.keptSince, max: limits.max });
    })();
  }

  /**
   * The newest `limit` calls, newest first, that started at or after `since` (ISO time; '' for
   * any) and are not among `except` (the calls the backend's page has already).
   */
  newest(limit: number, options: { since?: string; except?: readonly string[] } = {}): LocalCall[] {
    if (!Number.isSafeInteger(limit) || limit < 0) throw new RangeError(`limit: must be a non-negative integer, got ${limit}`);
    const rows = this.#s.newest.all(options.since ?? '', JSON.stringify(options.except ?? []), limit) as LocalCallRow[];
    return rows.map(toLocalCall);
  }

  /** The calls among `callIds` this computer saw. */
  byIds(callIds: readonly string[]): LocalCall[] {
    if (callIds.length === 0) return [];
    return (this.#s.byIds.all(JSON.stringify(callIds)) as LocalCallRow[]).map(toLocalCall);
  }
}

function toLocalCall(row: LocalCallRow): LocalCall {
  return {
    callId: row.call_id,
    direction: row.direction,
    remote: row.remote,
    customerId: row.customer_id,
    startedAt: row.started_at,
    answeredAt: row.answered_at,
    endedAt: row.ended_at,
    last: row.last,
  };
}
