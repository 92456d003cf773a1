import { describe, expect, it } from 'vitest';
import { BranchCall, countCalls, listedSince, UNHANDLED_KEPT_DAYS } from '../../../shared/calls-for-you.js';
import type { Classification, Role, UserRights } from '../../../shared/domain.js';
import { callInScope, type CallsForYouScope } from '../../../shared/permissions.js';
import { createMemoryLogger } from '../logger.js';
import { useTempCaches } from '../testing/temp-caches.js';
import { CacheStore } from './cache-store.js';
import { CACHE_MIGRATIONS } from './migrations/index.js';

/**
 * "Calls for you" selected and counted in the cache's SQL (calls-for-you-sql.ts, the columns of
 * cache migration 005) against the shared rules they stand for (`callInScope`, `listedSince`).
 */

const { cacheFile, open } = useTempCaches('tsunagu-calls-sql-');

const SCOPES: CallsForYouScope[] = ['mine', 'branch', 'all', 'unregistered'];
const NOW = new Date('2026-12-07T09:00:00.000Z');
const SINCE = '2026-12-07T00:00:00.000Z';
const ME = 'rep-1';
const BRANCHES = [null, '渋谷支店', '池袋支店'];
const CLASSIFICATIONS: Classification[] = [1, 2, 3];
const HANDLED = { at: '2026-12-07T08:00:00.000Z', by: { id: 'rep-2', name: '営業 二郎' }, kind: 'contact' as const, contactId: null };

function daysAgo(days: number): string {
  return new Date(NOW.getTime() - days * 86_400_000).toISOString();
}

/** Every kind of call the scopes tell apart: customers, whose phones rang, when, handled or not. */
function everyCall(): BranchCall[] {
  const customers: BranchCall['customer'][] = [null];
  for (const classification of CLASSIFICATIONS) {
    for (const branch of BRANCHES) {
      for (const rep of [null, ME, 'rep-2']) {
        customers.push({
          id: `cust-${classification}-${branch ?? 'none'}-${rep ?? 'none'}`,
          code: 'C-1',
          name: '山田 太郎',
          branch,
          assignedRep: rep === null ? null : { id: rep, name: rep },
          classification,
        });
      }
    }
  }
  const receivers: BranchCall['receivedBy'][] = [
    [],
    [{ id: ME, name: 'me', branch: '渋谷支店' }],
    [{ id: 'rep-2', name: 'colleague', branch: '渋谷支店' }],
    [{ id: 'rep-9', name: 'away', branch: '池袋支店' }],
    [{ id: 'rep-3', name: 'central', branch: null }],
    [
      { id: 'rep-9', name: 'away', branch: '池袋支店' },
      { id: ME, name: 'me', branch: null },
    ],
  ];
  // Since the sign-in; before it within the window; before the window; a time with an offset.
  const times = [SINCE, '2026-12-07T17:30:00.000+09:00', daysAgo(3), daysAgo(UNHANDLED_KEPT_DAYS + 1), '2026-12-06T23:59:59.999Z'];
  const calls: BranchCall[] = [];
  let n = 0;
  for (const customer of customers) {
    for (const receivedBy of receivers) {
      for (const startedAt of times) {
        for (const handled of [null, HANDLED]) {
          n += 1;
          calls.push({ key: `call-${n}`, startedAt, outcome: 'missed', remote: '+81312345678', customer, answeredBy: null, receivedBy, handled });
        }
      }
    }
  }
  return calls;
}

function everyUser(): (UserRights & { id: string })[] {
  const roles: Role[] = ['agent', 'supervisor', 'admin', 'partner'];
  return roles.flatMap((role) =>
    BRANCHES.flatMap((branch) =>
      CLASSIFICATIONS.flatMap((customerLimitAuthority) =>
        [false, true].flatMap((mayHandleUnregisteredCallers) =>
          [false, true].map((callsAllBranches) => ({ id: ME, role, branch, customerLimitAuthority, mayHandleUnregisteredCallers, callsAllBranches })),
        ),
      ),
    ),
  );
}

/** What the list showed before the SQL: every cached call filtered by the shared rules, newest first. */
function expectedListed(calls: readonly BranchCall[], user: UserRights & { id: string }, scope: CallsForYouScope, since: string): string[] {
  const listed = listedSince(since, NOW);
  return calls
    .filter((call) => callInScope(user, scope, call) && listed(call))
    .sort((a, b) => Date.parse(b.startedAt) - Date.parse(a.startedAt) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map((call) => call.key);
}

describe('calls for you in the cache SQL', () => {
  it('lists and counts exactly what callInScope and listedSince allow, for every rights, scope and call', () => {
    const db = open();
    const store = new CacheStore(db, { logger: createMemoryLogger(), region: 'JP' });
    const calls = everyCall();
    store.upsertBranchCalls(calls);
    // Calls marked handled on this computer count as handled whatever the cache says.
    const marked = new Set(calls.filter((call, i) => call.handled === null && i % 3 === 0).map((call) => call.key));
    let compared = 0;
    for (const user of everyUser()) {
      for (const scope of SCOPES) {
        const what = `${JSON.stringify(user)} ${scope}`;
        const expected = expectedListed(calls, user, scope, SINCE);
        expect(store.listedBranchCalls(user, scope, SINCE, NOW).map((call) => call.key), what).toEqual(expected);
        const byKey = new Map(calls.map((call) => [call.key, call]));
        const entries = expected.map((key) => {
          const call = byKey.get(key)!;
          return marked.has(key) ? { handled: HANDLED } : call;
        });
        expect(store.countListedBranchCalls(user, scope, SINCE, NOW, marked), what).toEqual(countCalls(entries));
        compared += expected.length;
      }
    }
    // The combinations list something in every scope (the comparison is not vacuous).
    expect(compared).toBeGreaterThan(10_000);
  });

  it('counts from the columns, reading no stored call', () => {
    const db = open();
    const store = new CacheStore(db, { logger: createMemoryLogger(), region: 'JP' });
    const calls = everyCall();
    store.upsertBranchCalls(calls);
    const user = { id: ME, role: 'agent' as const, branch: '渋谷支店', customerLimitAuthority: 2 as const, mayHandleUnregisteredCallers: true };
    const before = SCOPES.map((scope) => store.countListedBranchCalls(user, scope, SINCE, NOW, []));
    expect(before.some((counts) => counts.handled > 0 && counts.unhandled > 0)).toBe(true);
    // A count that read the calls' JSON (as the count did before migration 005) would fail on this.
    db.prepare("UPDATE branch_calls SET call_json = 'not a call'").run();
    expect(SCOPES.map((scope) => store.countListedBranchCalls(user, scope, SINCE, NOW, []))).toEqual(before);
  });

  it('refuses a "since" that is not a time, naming it', () => {
    const store = new CacheStore(open(), { logger: createMemoryLogger(), region: 'JP' });
    const user = { id: ME, role: 'agent' as const, branch: null, customerLimitAuthority: 1 as const, mayHandleUnregisteredCallers: false };
    expect(() => store.countListedBranchCalls(user, 'mine', 'yesterday', NOW, [])).toThrow(/since: "yesterday" is not a time/);
  });
});

describe('cache migration 005', () => {
  it("fills the facts of an existing cache's calls from their JSON and drops rows that are not calls", () => {
    const file = cacheFile();
    const before = open(file, CACHE_MIGRATIONS.slice(0, 4));
    const calls = everyCall();
    const insert = before.prepare('INSERT INTO branch_calls (key, customer_id, started_at, call_json) VALUES (?, ?, ?, ?)');
    for (const call of calls) insert.run(call.key, call.customer?.id ?? null, call.startedAt, JSON.stringify(call));
    insert.run('broken', null, SINCE, '{"key": ');
    insert.run('no-receivers', null, SINCE, JSON.stringify({ ...calls[0], receivedBy: undefined }));
    insert.run('bad-time', null, SINCE, JSON.stringify({ ...calls[0], startedAt: 'soon' }));
    before.close();

    const after = open(file);
    expect(after.pragma('user_version', { simple: true })).toBe(5);
    const keys = after.prepare('SELECT key FROM branch_calls').pluck().all() as string[];
    expect(keys.sort()).toEqual(calls.map((call) => call.key).sort());
    // The migrated columns are what the app writes for the same calls.
    const columns = 'key, started_ms, handled, customer_classification, customer_branch, assigned_rep_id, received_by_json';
    const migrated = after.prepare(`SELECT ${columns} FROM branch_calls ORDER BY key`).all();
    const fresh = open();
    new CacheStore(fresh, { logger: createMemoryLogger(), region: 'JP' }).upsertBranchCalls(calls);
    expect(migrated).toEqual(fresh.prepare(`SELECT ${columns} FROM branch_calls ORDER BY key`).all());

    const store = new CacheStore(after, { logger: createMemoryLogger(), region: 'JP' });
    for (const user of everyUser().filter((_, i) => i % 7 === 0)) {
      for (const scope of SCOPES) {
        const expected = expectedListed(calls, user, scope, SINCE);
        expect(store.listedBranchCalls(user, scope, SINCE, NOW).map((call) => call.key)).toEqual(expected);
      }
    }
  });
});
