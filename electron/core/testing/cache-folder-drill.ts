/**
 * The read-only folder and full disk drills (issue 13 items 4 and 9), run by
 * cache-folder-drills.test.ts inside its own mount namespace (`unshare -m`) with `dir` a small
 * tmpfs mounted there: a real full file system and a real read-only remount, which a root test
 * cannot get from chmod and which `PRAGMA max_page_count` only imitates. Prints one JSON line
 * of observations; the test asserts on them.
 *
 * Usage: node --import tsx cache-folder-drill.ts <tmpfs dir>
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { DEMO_PASSWORD } from '../../../backend/src/testing/fixtures.js';
import { startTestBackend } from '../../../backend/src/testing/harness.js';
import { FileCacheKeyStore } from '../cache/cache-keys.js';
import { quickCheckCache } from '../cache/cache-health.js';
import { openCache } from '../cache/open-cache.js';
import { CACHE_FILE } from '../cache/user-cache.js';
import { listenOn, startTestCore } from './core-harness.js';

const dir = process.argv[2] ?? '';
if (dir === '') throw new Error('usage: cache-folder-drill.ts <tmpfs dir>');
/** Notes tried while the disk fills; the drill stops at the first refusal. */
const MAX_NOTES = 400;

async function main(): Promise<Record<string, unknown>> {
  const seen: Record<string, unknown> = {};
  const backend = await startTestBackend('sqlite');
  const app = backend.secondInstance();
  const url = `http://127.0.0.1:${await listenOn(app)}`;
  const dataDir = path.join(dir, 'data');
  const tuning = { cacheProblemRetryMs: 50 };
  const filler = path.join(dir, 'filler');
  try {
    const core = startTestCore({ backendUrl: url, dataDir, syncTuning: tuning });
    const session = await core.value('session:login', { tenant: 'demo', login: 'supervisor', password: DEMO_PASSWORD });
    await core.waitForStatus((s) => s.phase === 'idle' && s.online, 'idle after the first sync');
    const userDir = path.join(dataDir, session.tenant.id, session.user.id);
    const cachedCustomers = (await core.value('sync:status', undefined)).cachedCustomers;
    seen.cachedCustomers = cachedCustomers;
    const detail = await core.value('customers:lookupCaller', { phone: '0312345678' });
    const incidentId = detail!.incidents[0]!.id;

    // ---- the disk fills up while the app runs ----
    // The backend goes away so that notes stay in the outbox (the disk, not the push, is tested).
    await app.close();
    await core.waitForStatus((s) => !s.online, 'offline');
    fillDisk(filler);
    const stored: string[] = [];
    let refusal: unknown = null;
    for (let i = 0; i < MAX_NOTES && refusal === null; i++) {
      const body = `disk-full drill note ${i} ${'x'.repeat(8000)}`;
      const result = await core.call('notes:add', { incidentId, body });
      if (result.ok) stored.push(body);
      else refusal = result.error;
    }
    seen.notesStored = stored.length;
    seen.refusal = refusal;
    const status = await core.value('sync:status', undefined);
    seen.pendingWhileFull = status.pendingOutbox;
    // Lookups still work from the cache.
    seen.searchWhileFull = (await core.value('customers:search', { query: '山田' })).customers.length;
    seen.lookupWhileFull = (await core.value('customers:lookupCaller', { phone: '0312345678' }))?.customer.id ?? null;

    // The backend is back while the disk is still full: the pass cannot record what it did.
    const again = backend.secondInstance();
    const port = Number(new URL(url).port);
    await listenOn(again, port);
    await core.value('sync:now', undefined);
    const full = await core.waitForStatus((s) => s.cacheProblem === 'disk_full', 'the full disk reported');
    seen.fullStatus = { phase: full.phase, cacheProblem: full.cacheProblem, lastError: full.lastError };

    // Space again: the next pass sends every stored note once.
    fs.rmSync(filler);
    await core.value('sync:now', undefined);
    const recovered = await core.waitForStatus((s) => s.phase === 'idle' && s.online && s.pendingOutbox === 0, 'idle with the notes sent');
    seen.recoveredProblem = recovered.cacheProblem ?? null;
    const onServer = await backend.handle.db.selectFrom('contacts').select('body').where('body', 'like', 'disk-full drill note %').execute();
    seen.notesOnServer = onServer.length;
    seen.distinctNotesOnServer = new Set(onServer.map((row) => row.body)).size;
    seen.storedNotesOnServer = stored.filter((body) => onServer.some((row) => row.body === body)).length;
    await core.dispose();

    // ---- the folder is read-only when the app starts ----
    execFileSync('mount', ['-o', 'remount,ro', dir]);
    const readOnly = startTestCore({ backendUrl: url, dataDir, tokenStore: core.tokenStore, syncTuning: tuning });
    const reopened = await readOnly.call('session:current', undefined);
    if (!reopened.ok) throw new Error(`${reopened.error.message}; log: ${JSON.stringify(readOnly.logger.entries.filter((e) => e.level === 'error'))}`);
    const roStatus = await readOnly.waitForStatus((s) => s.cacheProblem === 'read_only', 'the read-only folder reported');
    seen.readOnlyStatus = { cacheProblem: roStatus.cacheProblem, cachedCustomers: roStatus.cachedCustomers };
    const roSearch = await readOnly.value('customers:search', { query: '山田' });
    seen.readOnlySearch = { source: roSearch.source, found: roSearch.customers.length };
    const roNote = await readOnly.call('notes:add', { incidentId, body: 'read-only drill note' });
    seen.readOnlyNote = roNote.ok ? 'stored' : roNote.error;
    await readOnly.call('sync:now', undefined);
    seen.readOnlyAfterPass = (await readOnly.value('sync:status', undefined)).cacheProblem ?? null;
    await readOnly.dispose();
    execFileSync('mount', ['-o', 'remount,rw', dir]);

    // Nothing corrupted: the file passes its check and still holds the customers.
    const key = await new FileCacheKeyStore().load(userDir);
    const cacheFile = path.join(userDir, CACHE_FILE);
    const db = openCache(cacheFile, { key: key ?? undefined });
    try {
      seen.quickCheck = quickCheckCache(db, cacheFile) ?? 'ok';
      seen.customersAfter = db.prepare('SELECT count(*) FROM customers').pluck().get();
      seen.outboxAfter = db.prepare('SELECT count(*) FROM outbox').pluck().get();
    } finally {
      db.close();
    }
    seen.crashed = false;
    return seen;
  } finally {
    fs.rmSync(filler, { force: true });
    await app.close().catch(() => {});
    await backend.dispose();
  }
}

/** Writes until the file system says ENOSPC, in big then small pieces so no room is left. */
function fillDisk(file: string): void {
  const handle = fs.openSync(file, 'w');
  try {
    for (const size of [64 * 1024, 512]) {
      const chunk = Buffer.alloc(size, 1);
      for (;;) {
        try {
          fs.writeSync(handle, chunk);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw error;
        }
      }
    }
  } finally {
    fs.closeSync(handle);
  }
}

main().then(
  (seen) => {
    process.stdout.write(`DRILL ${JSON.stringify(seen)}\n`);
    process.exit(0);
  },
  (error: unknown) => {
    process.stdout.write(`DRILL ${JSON.stringify({ failed: error instanceof Error ? (error.stack ?? error.message) : String(error) })}\n`);
    process.exit(1);
  },
);
