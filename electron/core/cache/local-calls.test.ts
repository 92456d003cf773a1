import { describe, expect, it } from 'vitest';
import type { CallEventInput } from '../../../shared/ipc.js';
import { createMemoryLogger } from '../logger.js';
import { useTempCaches } from '../testing/temp-caches.js';
import { CacheStore } from './cache-store.js';
import { LocalCalls } from './local-calls.js';
import { CACHE_MIGRATIONS } from './migrations/index.js';

/** The calls this computer saw, one row each (cache migration 004), and the list they replace. */

const { cacheFile, open } = useTempCaches('tsunagu-local-calls-');

const LIMITS = { keptSince: '2026-01-01T00:00:00.000Z', max: 1_000 };

function event(callId: string, kind: CallEventInput['event'], at: string, customerId: string | null = null): CallEventInput {
  return { callId, event: kind, direction: 'inbound', remote: '+81312345678', customerId, at };
}

function minute(n: number): string {
  return new Date(Date.UTC(2026, 11, 7, 9, 0) + n * 60_000).toISOString();
}

describe('local calls', () => {
  it('folds a call\'s events into its one row, as the list did', () => {
    const calls = new LocalCalls(open());
    calls.note(event('a', 'ringing', minute(0)), LIMITS);
    calls.note(event('a', 'answered', minute(1), 'cust-1'), LIMITS);
    // A late "ringing" never replaces "answered"; a second answer keeps the first time.
    calls.note(event('a', 'ringing', minute(2)), LIMITS);
    calls.note(event('a', 'answered', minute(3), 'cust-2'), LIMITS);
    calls.note(event('b', 'ringing', minute(4)), LIMITS);
    calls.note(event('b', 'missed', minute(5)), LIMITS);
    calls.note(event('b', 'ended', minute(6)), LIMITS);
    expect(calls.newest(10)).toEqual([
      { callId: 'b', direction: 'inbound', remote: '+81312345678', customerId: null, startedAt: minute(4), answeredAt: null, endedAt: minute(5), last: 'ended' },
      { callId: 'a', direction: 'inbound', remote: '+81312345678', customerId: 'cust-1', startedAt: minute(0), answeredAt: minute(1), endedAt: null, last: 'answered' },
    ]);
    expect(calls.byIds(['b', 'unknown']).map((call) => call.callId)).toEqual(['b']);
  });

  it('writes each event as one row of its own table, never the whole list as one stored value', () => {
    const db = open();
    const calls = new LocalCalls(db);
    for (let n = 0; n < 300; n++) calls.note(event(`call-${n}`, 'ringing', minute(n)), LIMITS);
    const changesBefore = db.prepare('SELECT total_changes()').pluck().get() as number;
    const bytesBefore = db.prepare("SELECT coalesce(sum(length(value)), 0) FROM meta").pluck().get() as number;
    calls.note(event('call-299', 'missed', minute(300)), LIMITS);
    // One row updated, nothing pruned (300 calls, a cap of 1,000), nothing stored in meta.
    expect((db.prepare('SELECT total_changes()').pluck().get() as number) - changesBefore).toBe(1);
    expect(db.prepare("SELECT coalesce(sum(length(value)), 0) FROM meta").pluck().get()).toBe(bytesBefore);
    expect(db.prepare("SELECT count(*) FROM meta WHERE key = 'desk.localCalls'").pluck().get()).toBe(0);
    expect(db.prepare('SELECT count(*) FROM local_calls').pluck().get()).toBe(300);
  });

  it('forgets the oldest calls beyond the cap and those older than kept', () => {
    const db = open();
    const calls = new LocalCalls(db);
    for (let n = 0; n < 8; n++) calls.note(event(`call-${n}`, 'ringing', minute(n)), { keptSince: minute(0), max: 5 });
    expect(calls.newest(100).map((call) => call.callId)).toEqual(['call-7', 'call-6', 'call-5', 'call-4', 'call-3']);
    calls.note(event('call-7', 'missed', minute(9)), { keptSince: minute(5), max: 5 });
    expect(calls.newest(100).map((call) => call.callId)).toEqual(['call-7', 'call-6', 'call-5']);
    expect(() => calls.note(event('x', 'ringing', minute(10)), { keptSince: minute(0), max: 0 })).toThrow(/max: must be a positive integer, got 0/);
  });

  it('reads only the newest calls asked for, from a time on, leaving out the ones named', () => {
    const calls = new LocalCalls(open());
    for (let n = 0; n < 10; n++) calls.note(event(`call-${n}`, 'ringing', minute(n)), LIMITS);
    expect(calls.newest(3).map((call) => call.callId)).toEqual(['call-9', 'call-8', 'call-7']);
    expect(calls.newest(3, { except: ['call-9', 'call-7'] }).map((call) => call.callId)).toEqual(['call-8', 'call-6', 'call-5']);
    expect(calls.newest(100, { since: minute(8) }).map((call) => call.callId)).toEqual(['call-9', 'call-8']);
    expect(() => calls.newest(-1)).toThrow(/limit: must be a non-negative integer, got -1/);
  });

  it('is emptied with the rest of the synced data (a reset sync, a sign-out keeping the outbox)', () => {
    const db = open();
    const calls = new LocalCalls(db);
    calls.note(event('a', 'ringing', minute(0)), LIMITS);
    new CacheStore(db, { logger: createMemoryLogger() }).clearSyncedData();
    expect(calls.newest(10)).toEqual([]);
  });
});

describe('cache migration 004', () => {
  it('carries the stored list of an existing cache into the table and drops the old value', () => {
    const file = cacheFile();
    const before = open(file, CACHE_MIGRATIONS.slice(0, 3));
    const stored = [
      { callId: 'old-1', direction: 'inbound', remote: '+81311112222', customerId: 'cust-1', startedAt: minute(0), answeredAt: null, endedAt: minute(1), last: 'missed' },
      { callId: 'old-2', direction: 'outbound', remote: '0312345678', customerId: null, startedAt: minute(2), answeredAt: minute(3), endedAt: minute(4), last: 'ended' },
      // Not a call's shape: left behind, the rest carried over.
      { callId: 'bad', direction: 'sideways', remote: '', customerId: null, startedAt: minute(5), answeredAt: null, endedAt: null, last: 'ringing' },
      { callId: 'no-remote', direction: 'inbound', customerId: null, startedAt: minute(6), answeredAt: null, endedAt: null, last: 'ringing' },
    ];
    before.prepare("INSERT INTO meta (key, value) VALUES ('desk.localCalls', ?)").run(JSON.stringify(stored));
    before.close();

    const after = open(file);
    expect(after.prepare("SELECT count(*) FROM meta WHERE key = 'desk.localCalls'").pluck().get()).toBe(0);
    expect(new LocalCalls(after).newest(10)).toEqual([stored[1], stored[0]]);
  });

  it('opens a cache whose stored list is unreadable, with no local calls', () => {
    const file = cacheFile();
    const before = open(file, CACHE_MIGRATIONS.slice(0, 3));
    before.prepare("INSERT INTO meta (key, value) VALUES ('desk.localCalls', '[{\"callId\": ')").run();
    before.close();

    const after = open(file);
    expect(after.prepare("SELECT count(*) FROM meta WHERE key = 'desk.localCalls'").pluck().get()).toBe(0);
    expect(new LocalCalls(after).newest(10)).toEqual([]);
  });
});
