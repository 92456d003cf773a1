import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { FALLBACK_AUTOCHECKPOINT_PAGES, startWalCheckpointer, type WalCheckpointer } from './wal-checkpointer.js';

describe('WAL checkpointer', () => {
  const opened: { sqlite: SQLite.Database; checkpointer: WalCheckpointer; dir: string }[] = [];
  afterEach(async () => {
    for (const { sqlite, checkpointer, dir } of opened.splice(0)) {
      await checkpointer.stop();
      if (sqlite.open) sqlite.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  function open(log: (message: string) => void = () => undefined) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsunagu-wal-'));
    const file = path.join(dir, 'backend.db');
    const sqlite = new SQLite(file);
    sqlite.pragma('journal_mode = WAL');
    sqlite.exec('create table notes (id integer primary key, body text not null)');
    const checkpointer = startWalCheckpointer(sqlite, file, log);
    opened.push({ sqlite, checkpointer, dir });
    return { sqlite, checkpointer };
  }

  it('takes the checkpoints off the connection and copies the WAL from its own thread', async () => {
    const { sqlite, checkpointer } = open();
    expect(sqlite.pragma('wal_autocheckpoint', { simple: true })).toBe(FALLBACK_AUTOCHECKPOINT_PAGES);
    const checkpointed = new Promise<{ checkpointed: number; log: number }>((resolve) => checkpointer.onCheckpoint(resolve));
    const insert = sqlite.prepare('insert into notes (body) values (?)');
    // About 1,500 pages: past SQLite's default of 1,000, short of the fallback.
    for (let i = 0; i < 3000; i++) insert.run('x'.repeat(2000));
    const done = await checkpointed;
    expect(done.checkpointed).toBeGreaterThan(0);
    expect(sqlite.prepare('select count(*) from notes').pluck().get()).toBe(3000);
  });
});
