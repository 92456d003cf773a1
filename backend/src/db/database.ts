import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { CompiledQuery, Kysely, PostgresDialect, SqliteDialect, SqliteDriver, type DatabaseConnection, type Driver, type PostgresCursorConstructor } from 'kysely';
import pg from 'pg';
import type { DatabaseConfig } from '../config.js';
import { PostgresCopyOut } from './postgres-copy.js';
import type { Database } from './schema.js';
import { startWalCheckpointer } from './wal-checkpointer.js';

export type SqlDialect = 'sqlite' | 'postgres';

/**
 * An open central database. SQLite serves exactly one backend process, so change pokes travel
 * through `localChanges` in that process; PostgreSQL may serve several backend instances, so
 * pokes travel through LISTEN/NOTIFY on a dedicated connection to `url` (see sync/feed.ts).
 */
export type DatabaseHandle =
  | { dialect: 'sqlite'; db: Kysely<Database>; file: string; localChanges: EventEmitter; close(): Promise<void> }
  | {
      dialect: 'postgres';
      db: Kysely<Database>;
      url: string;
      /**
       * Runs a compiled query as a prepared statement of each pooled connection (parsed and
       * planned once per connection, not per call): for a statement on the hot path, where
       * PostgreSQL's parse and plan cost as much as running it (sync/push.ts).
       * Important: each distinct SQL text stays prepared on every connection for its lifetime,
       * so use it only for statements built from a fixed handful of texts (values as parameters).
       */
      prepared<R>(query: CompiledQuery<R>): Promise<R[]>;
      close(): Promise<void>;
    };

/**
 * Every transaction on SQLite starts with BEGIN IMMEDIATE: a deferred transaction that reads
 * first and writes later can fail with SQLITE_BUSY when another process (the seed script, a
 * second tool) upgraded to a writer in between, and busy_timeout cannot help with that.
 * Within this process Kysely already runs one transaction at a time on the single connection.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  readonly #config: ConstructorParameters<typeof SqliteDialect>[0];
  constructor(config: ConstructorParameters<typeof SqliteDialect>[0]) {
    super(config);
    this.#config = config;
  }
  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.#config);
  }
}

/** How many prepared statements the SQLite connection keeps for reuse (least recently used go). */
const STATEMENT_CACHE_SIZE = 500;

/**
 * Kysely's SQLite driver prepares every query anew; under load (a thousand agents pulling)
 * preparing took about as long as running the queries. This keeps the prepared statements
 * by SQL text. A statement still being iterated (a streamed query) is busy: another is
 * prepared for that call.
 */
export function cachingStatements(sqlite: SQLite.Database, size = STATEMENT_CACHE_SIZE): { prepare(sql: string): SQLite.Statement; close(): void } {
  const cache = new Map<string, SQLite.Statement>();
  return {
    prepare(sql) {
      const cached = cache.get(sql);
      if (cached && !cached.busy) {
        // Re-inserted: the map's order is the recency order.
        cache.delete(sql);
        cache.set(sql, cached);
        return cached;
      }
      const statement = sqlite.prepare(sql);
      if (!cached) {
        cache.set(sql, statement);
        if (cache.size > size) cache.delete(cache.keys().next().value as string);
      }
      return statement;
    },
    close() {
      cache.clear();
      sqlite.close();
    },
  };
}

/** The database holds every tenant's customers: readable by the backend's own user only. */
const PRIVATE_FILE_MODE = 0o600;
const PRIVATE_DIR_MODE = 0o700;

/**
 * Creates the SQLite file 0600 before SQLite opens it (SQLite then creates the -wal and -shm
 * files with the same mode), and tightens an existing file and its companions, which older
 * versions created 0644.
 */
function prepareSqliteFile(file: string): void {
  const dir = path.dirname(file);
  if (!fs.existsSync(dir)) fs.mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  fs.closeSync(fs.openSync(file, fs.constants.O_CREAT | fs.constants.O_RDWR, PRIVATE_FILE_MODE));
  restrictSqliteFiles(file);
}

function restrictSqliteFiles(file: string): void {
  for (const each of [file, `${file}-wal`, `${file}-shm`]) {
    try {
      fs.chmodSync(each, PRIVATE_FILE_MODE);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
}

export async function openDatabase(config: { database: DatabaseConfig }): Promise<DatabaseHandle> {
  const settings = config.database;
  if (settings.kind === 'sqlite') {
    prepareSqliteFile(settings.path);
    const sqlite = new SQLite(settings.path);
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('foreign_keys = ON');
    sqlite.pragma('busy_timeout = 5000');
    // WAL mode has created -wal and -shm by now; a umask or an older file must not leave them wider.
    restrictSqliteFiles(settings.path);
    // Checkpoints off the request thread (wal-checkpointer.ts). The database opens before the
    // app's logger exists: the rare fallback goes to stderr.
    const checkpointer = startWalCheckpointer(sqlite, settings.path, (message) => process.stderr.write(`tsunagu backend: ${message}\n`));
    const db = new Kysely<Database>({ dialect: new ImmediateSqliteDialect({ database: cachingStatements(sqlite) }) });
    const localChanges = new EventEmitter();
    // One listener per connected SSE client; the default limit of 10 would warn spuriously.
    localChanges.setMaxListeners(0);
    return {
      dialect: 'sqlite',
      db,
      file: settings.path,
      localChanges,
      close: async () => {
        await checkpointer.stop();
        await db.destroy();
      },
    };
  }
  // Connections are kept however long they idle (node-pg closes them after 10 s by default): a
  // connection carries the statements prepared on it (`prepared` below), and a new one costs a
  // PostgreSQL process start and cold caches (bench:agents, a thousand agents: 15 connections
  // opened in its minute of measure, where the pool's 20 had been open before).
  const pool = new pg.Pool({ connectionString: settings.url, max: settings.poolSize, idleTimeoutMillis: 0 });
  // An idle client that loses its server emits 'error' on the pool; without a listener that
  // would crash the process, while the pool already replaces the client on next use.
  pool.on('error', () => undefined);
  // `cursor`: the one way to run a query object of our own on a transaction's connection; it
  // yields Buffers, not rows, and runs COPY only (postgres-copy.ts).
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool, cursor: PostgresCopyOut as unknown as PostgresCursorConstructor }) });
  const statementNames = new Map<string, string>();
  const prepared = async <R>(query: CompiledQuery<R>): Promise<R[]> => {
    let name = statementNames.get(query.sql);
    if (name === undefined) {
      name = `tsunagu_${createHash('sha256').update(query.sql).digest('base64url').slice(0, 32)}`;
      statementNames.set(query.sql, name);
    }
    const result = await pool.query({ name, text: query.sql, values: [...query.parameters] });
    return result.rows as R[];
  };
  return { dialect: 'postgres', db, url: settings.url, prepared, close: () => db.destroy() };
}

/**
 * Runs several reads against one consistent state of the database: a REPEATABLE READ snapshot
 * on PostgreSQL, a transaction on SQLite. Used where a page is assembled from several queries
 * (a customer with its incidents and contacts) that must not see half of a concurrent write.
 */
export function readConsistently<T>(handle: DatabaseHandle, work: (db: Kysely<Database>) => Promise<T>): Promise<T> {
  if (handle.dialect === 'postgres') {
    return handle.db.transaction().setIsolationLevel('repeatable read').setAccessMode('read only').execute(work);
  }
  return handle.db.transaction().execute(work);
}
