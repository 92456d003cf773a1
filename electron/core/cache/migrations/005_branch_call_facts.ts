import type { CacheMigration } from './index.js';

/**
 * The facts "calls for you" lists and counts a cached call by, as columns of `branch_calls`
 * (electron/core/cache/calls-for-you-sql.ts): when it started in ms since the epoch, whether it
 * was handled, its customer's classification, branch and assigned rep, and whose phones rang
 * (`receivedBy`, a JSON array). Before this version every count read and parsed the JSON of
 * every cached call of the shift, each call costing the core more than the one before
 * (bench:memory, issue 13 item 7). Existing rows get their facts from their JSON; a row whose
 * JSON does not have a call's shape is removed (the old reader skipped it; the feed brings the
 * call again when it changes).
 */
export const migration005: CacheMigration = {
  version: 5,
  name: 'branch_call_facts',
  up: `
    DELETE FROM branch_calls
      WHERE CASE WHEN json_valid(call_json) THEN
        json_type(call_json, '$.startedAt') IS NOT 'text'
        OR julianday(call_json ->> '$.startedAt') IS NULL
        OR coalesce(json_type(call_json, '$.handled'), 'absent') NOT IN ('null', 'object')
        OR json_type(call_json, '$.receivedBy') IS NOT 'array'
        OR coalesce(json_type(call_json, '$.customer'), 'absent') NOT IN ('null', 'object')
      ELSE 1 END;
    ALTER TABLE branch_calls ADD COLUMN started_ms INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE branch_calls ADD COLUMN handled INTEGER NOT NULL DEFAULT 0 CHECK (handled IN (0, 1));
    ALTER TABLE branch_calls ADD COLUMN customer_classification INTEGER;
    ALTER TABLE branch_calls ADD COLUMN customer_branch TEXT;
    ALTER TABLE branch_calls ADD COLUMN assigned_rep_id TEXT;
    ALTER TABLE branch_calls ADD COLUMN received_by_json TEXT NOT NULL DEFAULT '[]';
    UPDATE branch_calls SET
      started_ms = CAST(round((julianday(call_json ->> '$.startedAt') - 2440587.5) * 86400000.0) AS INTEGER),
      handled = json_type(call_json, '$.handled') = 'object',
      customer_classification = call_json ->> '$.customer.classification',
      customer_branch = call_json ->> '$.customer.branch',
      assigned_rep_id = call_json ->> '$.customer.assignedRep.id',
      received_by_json = call_json -> '$.receivedBy';
    CREATE INDEX branch_calls_listed ON branch_calls (started_ms, handled);
  `,
};
