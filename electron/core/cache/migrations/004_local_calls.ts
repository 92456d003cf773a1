import type { CacheMigration } from './index.js';

/**
 * The calls this computer saw (the call history's offline part, electron/core/desk.ts): one row
 * per call, folded from its events. Before this version they were one JSON list in meta
 * (`desk.localCalls`, up to 1,000 calls) that every call event read and rewrote whole, so each
 * event cost more the more calls were kept (bench:memory, issue 13 item 7). The list's calls
 * are carried over; an entry that does not have a call's shape is left behind (the old reader
 * dropped the whole list for one), and the old value is removed.
 */
export const migration004: CacheMigration = {
  version: 4,
  name: 'local_calls',
  up: `
    CREATE TABLE local_calls (
      call_id TEXT PRIMARY KEY,
      direction TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),
      remote TEXT NOT NULL,
      customer_id TEXT,
      started_at TEXT NOT NULL,
      answered_at TEXT,
      ended_at TEXT,
      last TEXT NOT NULL CHECK (last IN ('ringing', 'answered', 'missed', 'rejected', 'transferred', 'ended'))
    );
    CREATE INDEX local_calls_started ON local_calls (started_at, call_id);

    INSERT OR IGNORE INTO local_calls (call_id, direction, remote, customer_id, started_at, answered_at, ended_at, last)
      SELECT
        json_extract(call.value, '$.callId'),
        json_extract(call.value, '$.direction'),
        json_extract(call.value, '$.remote'),
        json_extract(call.value, '$.customerId'),
        json_extract(call.value, '$.startedAt'),
        json_extract(call.value, '$.answeredAt'),
        json_extract(call.value, '$.endedAt'),
        json_extract(call.value, '$.last')
      FROM meta, json_each(CASE WHEN json_valid(meta.value) AND json_type(meta.value) = 'array' THEN meta.value ELSE '[]' END) AS call
      WHERE meta.key = 'desk.localCalls'
        AND call.type = 'object'
        AND json_type(call.value, '$.callId') = 'text'
        AND json_extract(call.value, '$.direction') IN ('inbound', 'outbound')
        AND json_type(call.value, '$.remote') = 'text'
        AND json_type(call.value, '$.customerId') IN ('text', 'null')
        AND json_type(call.value, '$.startedAt') = 'text'
        AND json_type(call.value, '$.answeredAt') IN ('text', 'null')
        AND json_type(call.value, '$.endedAt') IN ('text', 'null')
        AND json_extract(call.value, '$.last') IN ('ringing', 'answered', 'missed', 'rejected', 'transferred', 'ended');
    DELETE FROM meta WHERE key = 'desk.localCalls';
  `,
};
