import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The read-only folder and the full disk (issue 13 items 4 and 9) on a real file system: the
 * drill (testing/cache-folder-drill.ts) runs in its own mount namespace on a 4 MiB tmpfs,
 * filled until ENOSPC and later remounted read-only. As root, chmod does not stop writes, and
 * `PRAGMA max_page_count` is not a full disk, hence the mount. Needs root and `unshare -m`.
 */
const drill = fileURLToPath(new URL('../testing/cache-folder-drill.ts', import.meta.url));
const root = path.resolve(path.dirname(drill), '../../..');

function canMount(): boolean {
  if (process.getuid?.() !== 0) return false;
  return spawnSync('unshare', ['-m', 'true']).status === 0;
}

describe.skipIf(!canMount())('a cache folder that is full or read-only (real tmpfs, own mount namespace)', () => {
  it('refuses notes it cannot store with a clear error, keeps lookups, says what is wrong, sends what it stored once, and corrupts nothing', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsunagu-folder-drill-'));
    try {
      const script = `mount --make-rprivate / && mount -t tmpfs -o size=4m,mode=0700 tsunagu-drill "$1" && exec node --import tsx "$2" "$1"`;
      const output = execFileSync('unshare', ['-m', 'bash', '-c', script, '_', dir, drill], {
        cwd: root,
        encoding: 'utf8',
        maxBuffer: 16 * 1024 * 1024,
        timeout: 240_000,
      });
      const line = output.split('\n').find((each) => each.startsWith('DRILL '));
      expect(line, output).toBeDefined();
      const seen = JSON.parse(line!.slice('DRILL '.length)) as Record<string, unknown>;
      expect(seen.failed, String(seen.failed)).toBeUndefined();

      // Full disk: some notes fit, then one is refused saying why; none of the stored is lost.
      expect(seen.notesStored).toBeGreaterThan(0);
      expect(seen.refusal).toMatchObject({ code: 'cache_unwritable', message: expect.stringMatching(/disk .*full/i) });
      expect(seen.pendingWhileFull).toBe(seen.notesStored);
      expect(seen.searchWhileFull).toBe(1);
      expect(seen.lookupWhileFull).not.toBeNull();
      expect(seen.fullStatus).toMatchObject({ cacheProblem: 'disk_full', lastError: expect.stringMatching(/disk .*full/i) });
      // Space again: every stored note reached the server exactly once, the refused one never.
      expect(seen.recoveredProblem).toBeNull();
      expect(seen.notesOnServer).toBe(seen.notesStored);
      expect(seen.distinctNotesOnServer).toBe(seen.notesStored);
      expect(seen.storedNotesOnServer).toBe(seen.notesStored);

      // Read-only folder at start: the cache opens read only, lookups work, notes are refused.
      expect(seen.readOnlyStatus).toMatchObject({ cacheProblem: 'read_only' });
      expect((seen.readOnlyStatus as { cachedCustomers: number }).cachedCustomers).toBe(seen.cachedCustomers);
      expect(seen.readOnlySearch).toEqual({ source: 'cache', found: 1 });
      expect(seen.readOnlyNote).toMatchObject({ code: 'cache_unwritable', message: expect.stringMatching(/read-only/) });
      expect(seen.readOnlyAfterPass).toBe('read_only');

      // Nothing corrupted, nothing left unsent.
      expect(seen.quickCheck).toBe('ok');
      expect(seen.customersAfter).toBe(seen.cachedCustomers);
      expect(seen.outboxAfter).toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
