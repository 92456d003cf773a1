import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { OutboxEntry } from '../../../shared/api.js';
import { CodedError } from '../../../shared/result.js';
import { createMemoryLogger } from '../logger.js';
import { MAIL_DRAFTS_FILE, MailDraftStore } from '../mail-drafts.js';
import { makeContact, makeCustomer, makeIncident } from '../testing/records.js';
import { CacheStore } from './cache-store.js';
import Database from 'better-sqlite3-multiple-ciphers';
import { CACHE_CIPHER, databaseFileState, newCacheKey, SQLCIPHER_4 } from './encrypted-database.js';
import { CACHE_SCHEMA_VERSION, openCache } from './open-cache.js';

/**
 * The cache and the drafts at rest: real AEGIS-256 files (and older SQLCipher 4 ones) written by
 * better-sqlite3-multiple-ciphers, inspected byte by byte.
 */

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsunagu-encrypted-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const NAME = '暗号 花子';
const KANA = 'アンゴウ ハナコ';
const PHONE = '+81398765432';
const EMAIL = 'hanako.secret@example.jp';
const NOTE = '解約の相談あり 口座番号 12345678';

/** Writes one customer with a phone, an e-mail, an incident, a contact and a pending note. */
function fillCache(file: string, key: Buffer | undefined): void {
  const db = openCache(file, { key });
  try {
    const store = new CacheStore(db, { logger: createMemoryLogger() });
    const customer = makeCustomer({
      name: NAME,
      nameKana: KANA,
      phones: [{ e164: PHONE, kind: 'mobile' }],
      emails: [EMAIL],
    });
    const incident = makeIncident(customer.id);
    store.upsertRecords([{ customer, incidents: [incident], contacts: [makeContact(incident)] }]);
    addPendingNote(store, incident, NOTE);
  } finally {
    db.close();
  }
}

function addPendingNote(store: CacheStore, incident: ReturnType<typeof makeIncident>, body: string): string {
  const clientId = `note-${Math.random().toString(36).slice(2)}`;
  const entry: Extract<OutboxEntry, { type: 'add_note' }> = { type: 'add_note', clientId, incidentId: incident.id, body, createdAt: new Date().toISOString() };
  store.addPendingNote(entry, makeContact(incident, { id: clientId, kind: 'note', direction: 'internal', summary: body, body }));
  return clientId;
}

/** Every byte SQLite keeps for the file: the database, its WAL and its shared memory. */
function bytesOf(file: string): Buffer {
  return Buffer.concat([file, `${file}-wal`, `${file}-shm`].filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f)));
}

const SECRETS = [NAME, KANA, PHONE, PHONE.slice(1), '398765432', EMAIL, NOTE, '12345678'];

function secretsIn(bytes: Buffer): string[] {
  return SECRETS.filter((secret) => bytes.includes(Buffer.from(secret, 'utf8')) || bytes.includes(Buffer.from(secret, 'utf16le')));
}

function codeOf(work: () => unknown): { code: string; message: string } {
  try {
    work();
  } catch (error) {
    if (error instanceof CodedError) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected a CodedError');
}

/** Whether the file opens with this scheme and key, read through a bare connection (no migration). */
function opensWith(file: string, key: Buffer, cipher: { pragmas: readonly string[] }): boolean {
  const db = new Database(file, { readonly: true });
  try {
    for (const pragma of cipher.pragmas) db.pragma(pragma);
    db.pragma(`key = "x'${key.toString('hex')}'"`);
    db.prepare('SELECT count(*) FROM sqlite_schema').pluck().get();
    return true;
  } catch (error) {
    if ((error as { code?: string }).code === 'SQLITE_NOTADB') return false;
    throw error;
  } finally {
    db.close();
  }
}

/** A cache as versions before AEGIS wrote it: filled plain, then encrypted with SQLCipher 4's settings. */
function fillSqlcipherCache(file: string, key: Buffer): void {
  fillCache(file, undefined);
  const db = new Database(file);
  try {
    db.pragma('journal_mode = DELETE');
    for (const pragma of SQLCIPHER_4.pragmas) db.pragma(pragma);
    db.pragma(`rekey = "x'${key.toString('hex')}'"`);
  } finally {
    db.close();
  }
  expect(opensWith(file, key, SQLCIPHER_4)).toBe(true);
}

describe('the encrypted cache', () => {
  it('holds no customer name, phone, e-mail or note text in its bytes (a plain cache does)', () => {
    const plainFile = path.join(dir, 'plain', 'cache.db');
    fillCache(plainFile, undefined);
    // The check itself works: the same data in a plain cache is found.
    expect(secretsIn(bytesOf(plainFile))).toEqual(expect.arrayContaining([NAME, PHONE, EMAIL, NOTE]));

    const file = path.join(dir, 'enc', 'cache.db');
    const key = newCacheKey();
    // Left open with its WAL, as the app leaves it while running.
    const db = openCache(file, { key });
    const store = new CacheStore(db, { logger: createMemoryLogger() });
    const customer = makeCustomer({ name: NAME, nameKana: KANA, phones: [{ e164: PHONE, kind: 'mobile' }], emails: [EMAIL] });
    const incident = makeIncident(customer.id);
    store.upsertRecords([{ customer, incidents: [incident], contacts: [makeContact(incident)] }]);
    addPendingNote(store, incident, NOTE);
    expect(fs.existsSync(`${file}-wal`)).toBe(true);
    expect(secretsIn(bytesOf(file))).toEqual([]);
    db.close();
    expect(secretsIn(bytesOf(file))).toEqual([]);
    expect(databaseFileState(file)).toBe('encrypted');

    const reopened = openCache(file, { key });
    const found = new CacheStore(reopened, { logger: createMemoryLogger() });
    expect(found.findByPhone(PHONE).map((c) => c.name)).toEqual([NAME]);
    expect(found.search('はなこ').map((c) => c.name)).toEqual([NAME]);
    reopened.close();
  });

  it('does not open without its key, and a wrong key gives a clear error; the file is left as it was', () => {
    const file = path.join(dir, 'cache.db');
    const key = newCacheKey();
    fillCache(file, key);
    const before = fs.readFileSync(file);

    expect(codeOf(() => openCache(file))).toEqual({
      code: 'cache_locked',
      message: `The local cache at ${file} is encrypted and cannot be opened without its key`,
    });
    expect(codeOf(() => openCache(file, { key: newCacheKey() }))).toEqual({
      code: 'cache_locked',
      message: `The local cache at ${file} cannot be decrypted with the key this app holds (a different key, or a damaged file)`,
    });
    expect(() => openCache(file, { key: Buffer.alloc(16) })).toThrow(/must be 32 bytes, got 16/);
    expect(fs.readFileSync(file).equals(before)).toBe(true);
  });

  it('creates its files readable by the user only and its folder private', () => {
    const file = path.join(dir, 'tenant', 'user', 'cache.db');
    const db = openCache(file, { key: newCacheKey() });
    db.prepare(`INSERT INTO meta (key, value) VALUES ('x', 'y')`).run();
    for (const each of [file, `${file}-wal`, `${file}-shm`]) expect(fs.statSync(each).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    db.close();
  });

  it('encrypts a plain cache from an older version with every row, including the outbox', () => {
    const file = path.join(dir, 'cache.db');
    fillCache(file, undefined);
    fs.chmodSync(file, 0o644);
    expect(databaseFileState(file)).toBe('plain');

    const key = newCacheKey();
    const db = openCache(file, { key });
    const store = new CacheStore(db, { logger: createMemoryLogger() });
    expect(store.findByPhone(PHONE).map((c) => c.name)).toEqual([NAME]);
    expect(store.pendingOutbox(10).map((row) => row.entry)).toMatchObject([{ type: 'add_note', body: NOTE }]);
    expect(db.pragma('user_version', { simple: true })).toBe(CACHE_SCHEMA_VERSION);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();

    expect(databaseFileState(file)).toBe('encrypted');
    expect(secretsIn(bytesOf(file))).toEqual([]);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(dir).filter((name) => name.includes('encrypting'))).toEqual([]);
  });

  it('never leaves the cache half encrypted: an interrupted encryption is started over from the plain file', () => {
    const file = path.join(dir, 'cache.db');
    fillCache(file, undefined);
    // What a crash in the middle of an earlier attempt leaves: a partial copy beside the plain file.
    fs.writeFileSync(`${file}.encrypting`, fs.readFileSync(file).subarray(0, 4096));
    expect(databaseFileState(file)).toBe('plain');

    const key = newCacheKey();
    const db = openCache(file, { key });
    expect(new CacheStore(db, { logger: createMemoryLogger() }).pendingOutbox(10)).toHaveLength(1);
    db.close();
    expect(fs.existsSync(`${file}.encrypting`)).toBe(false);
    expect(databaseFileState(file)).toBe('encrypted');
  });

  it('is written with AEGIS-256, and a page altered on disk is refused, not read', () => {
    const file = path.join(dir, 'cache.db');
    const key = newCacheKey();
    fillCache(file, key);
    expect(opensWith(file, key, CACHE_CIPHER)).toBe(true);
    expect(opensWith(file, key, SQLCIPHER_4)).toBe(false);

    // One byte of the last page flipped: every page carries its own tag.
    const bytes = fs.readFileSync(file);
    const pageSize = 4096;
    const offset = bytes.length - pageSize + 100;
    bytes[offset] = (bytes[offset] as number) ^ 0x01;
    fs.writeFileSync(file, bytes);
    const db = openCache(file, { key });
    expect(() => db.pragma('quick_check')).toThrow(/malformed|corrupt/i);
    db.close();
  });

  it('keeps SQLite temporary files in memory on an encrypted cache (on disk they would be plain), not on a plain one', () => {
    const encrypted = openCache(path.join(dir, 'cache.db'), { key: newCacheKey() });
    const plain = openCache(path.join(dir, 'plain.db'), {});
    try {
      // 2 = MEMORY, 0 = the build's default (files in the temporary folder).
      expect(encrypted.pragma('temp_store', { simple: true })).toBe(2);
      expect(plain.pragma('temp_store', { simple: true })).toBe(0);
    } finally {
      encrypted.close();
      plain.close();
    }
  });

  it('re-encrypts a SQLCipher 4 cache from an earlier version with AEGIS-256, every row and the outbox kept', () => {
    const file = path.join(dir, 'cache.db');
    const key = newCacheKey();
    fillSqlcipherCache(file, key);

    const db = openCache(file, { key });
    const store = new CacheStore(db, { logger: createMemoryLogger() });
    expect(store.findByPhone(PHONE).map((c) => c.name)).toEqual([NAME]);
    expect(store.search('はなこ').map((c) => c.name)).toEqual([NAME]);
    expect(store.pendingOutbox(10).map((row) => row.entry)).toMatchObject([{ type: 'add_note', body: NOTE }]);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();

    expect(opensWith(file, key, CACHE_CIPHER)).toBe(true);
    expect(opensWith(file, key, SQLCIPHER_4)).toBe(false);
    expect(secretsIn(bytesOf(file))).toEqual([]);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(dir).filter((name) => name.includes('encrypting'))).toEqual([]);
    expect(codeOf(() => openCache(file, { key: newCacheKey() }))).toMatchObject({ code: 'cache_locked' });
  });

  it('reads a SQLCipher 4 cache opened read only without changing it', () => {
    const file = path.join(dir, 'cache.db');
    const key = newCacheKey();
    fillSqlcipherCache(file, key);
    const before = fs.readFileSync(file);
    const db = openCache(file, { key, readonly: true });
    expect(new CacheStore(db, { logger: createMemoryLogger() }).findByPhone(PHONE).map((c) => c.name)).toEqual([NAME]);
    db.close();
    expect(fs.readFileSync(file).equals(before)).toBe(true);
  });

  it('never leaves a SQLCipher 4 cache half re-encrypted: an interrupted attempt is started over', () => {
    const file = path.join(dir, 'cache.db');
    const key = newCacheKey();
    fillSqlcipherCache(file, key);
    fs.writeFileSync(`${file}.encrypting`, fs.readFileSync(file).subarray(0, 4096));

    const db = openCache(file, { key });
    expect(new CacheStore(db, { logger: createMemoryLogger() }).pendingOutbox(10)).toHaveLength(1);
    db.close();
    expect(fs.existsSync(`${file}.encrypting`)).toBe(false);
    expect(opensWith(file, key, CACHE_CIPHER)).toBe(true);
  });
});

describe('the encrypted mail drafts', () => {
  it('hold no draft text in their bytes, do not open without the key, and an older plain file is encrypted', () => {
    const key = newCacheKey();
    const drafts = new MailDraftStore(dir, key);
    drafts.save('reply-1', { mailId: 'mail-1', subject: 'Re: 解約のご相談', body: `${NAME} 様 ${EMAIL}` }, new Date().toISOString());
    const file = path.join(dir, MAIL_DRAFTS_FILE);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(secretsIn(bytesOf(file))).toEqual([]);
    drafts.close();
    expect(secretsIn(bytesOf(file))).toEqual([]);
    expect(codeOf(() => new MailDraftStore(dir))).toMatchObject({ code: 'cache_locked', message: expect.stringMatching(/^The local drafts at .* cannot be opened without its key$/) });
    expect(codeOf(() => new MailDraftStore(dir, newCacheKey()))).toMatchObject({ code: 'cache_locked' });
    const reopened = new MailDraftStore(dir, key);
    expect(reopened.all().map((draft) => draft.body)).toEqual([`${NAME} 様 ${EMAIL}`]);
    reopened.close();

    const older = path.join(dir, 'older');
    const plain = new MailDraftStore(older);
    plain.save('reply-2', { body: NOTE }, new Date().toISOString());
    plain.close();
    expect(secretsIn(bytesOf(path.join(older, MAIL_DRAFTS_FILE)))).toContain(NOTE);
    const migrated = new MailDraftStore(older, key);
    expect(migrated.waiting().map((draft) => draft.request.body)).toEqual([NOTE]);
    migrated.close();
    expect(secretsIn(bytesOf(path.join(older, MAIL_DRAFTS_FILE)))).toEqual([]);
  });
});
