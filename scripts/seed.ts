import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import { ConfigError, describeDatabase, loadConfig, type BackendConfig } from '../backend/src/config.js';
import { openDatabase, type DatabaseHandle } from '../backend/src/db/database.js';
import { DatabaseTooNewError, migrateToLatest } from '../backend/src/db/migrate.js';
import { DEMO_USERS, planTenant, SeedTargetNotEmptyError, seedBackend } from '../backend/src/seed/seed-backend.js';
import { seedDemoRecording } from '../backend/src/recordings/fixtures.js';
import { seedDemoMailAndFax } from '../backend/src/seed/mail-demo.js';
import { seedCache } from './seed-cache.js';
import { DEMO_PORTAL_ACCOUNT } from '../backend/src/portal/seed.js';

const USAGE = `Usage: npm run seed -- [--customers N] [--seed S] [--now ISO] [--db PATH | --cache PATH] [--reset]

Fills the backend database with the demo tenant "demo" (users, customers, incidents,
contacts) and a small second tenant "other".
  --customers N  demo customers to generate (default 1000; about 5 contacts each)
  --seed S       PRNG seed, 0..4294967295 (default 1); same seed, same data
  --now ISO      contacts span the two years before this instant (default: today 00:00 UTC)
  --db PATH      SQLite file of the backend (default: TSUNAGU_DB_PATH, or PostgreSQL when
                 DATABASE_URL is set)
  --cache PATH   write the demo customers into an app cache file instead of the backend
  --reset        drop every table of the target database (delete the cache file) first`;

class UsageError extends Error {}

interface CliOptions {
  customers: number;
  seed: number;
  now: Date;
  db: string | undefined;
  cache: string | undefined;
  reset: boolean;
}

function integerOption(name: string, text: string | undefined, fallback: number, max: number): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text) || Number(text) > max) throw new UsageError(`--${name} must be an integer between 0 and ${max}, got "${text}"`);
  return Number(text);
}

function parseCli(argv: string[]): CliOptions | null {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        customers: { type: 'string' },
        seed: { type: 'string' },
        now: { type: 'string' },
        db: { type: 'string' },
        cache: { type: 'string' },
        reset: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const values = parsed.values;
  if (values.help) return null;
  if (values.db !== undefined && values.cache !== undefined) throw new UsageError('--db and --cache exclude each other');
  let now: Date;
  if (values.now === undefined) {
    now = new Date();
    now.setUTCHours(0, 0, 0, 0);
  } else {
    now = new Date(values.now);
    if (Number.isNaN(now.getTime())) throw new UsageError(`--now must be an ISO 8601 date, got "${values.now}"`);
  }
  return {
    customers: integerOption('customers', values.customers, 1000, 9_999_999),
    seed: integerOption('seed', values.seed, 1, 0xffffffff),
    now,
    db: values.db,
    cache: values.cache,
    reset: values.reset ?? false,
  };
}

function progressPrinter(label: string): (written: number, total: number) => void {
  const started = performance.now();
  return (written, total) => {
    if (written % 100_000 !== 0 && written !== total) return;
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(`  ${label}: ${written.toLocaleString('en')} / ${total.toLocaleString('en')} customers (${seconds} s)`);
  };
}

function removeSqliteFiles(file: string): void {
  for (const suffix of ['', '-wal', '-shm']) fs.rmSync(file + suffix, { force: true });
}

/** Drops every table of the PostgreSQL schema in use (the backend's tables and its migration table). */
/**
 * Drops every table and sequence of the schema, and the trigger functions the migrations made
 * (028, 030), so the migrations run from the start.
 */
async function dropPostgresTables(handle: DatabaseHandle): Promise<void> {
  const tables = await sql<{ tablename: string }>`
    select tablename from pg_tables where schemaname = current_schema()`.execute(handle.db);
  for (const { tablename } of tables.rows) await sql`drop table if exists ${sql.table(tablename)} cascade`.execute(handle.db);
  const sequences = await sql<{ sequencename: string }>`
    select sequencename from pg_sequences where schemaname = current_schema()`.execute(handle.db);
  for (const { sequencename } of sequences.rows) await sql`drop sequence if exists ${sql.table(sequencename)} cascade`.execute(handle.db);
  const functions = await sql<{ signature: string }>`
    select p.oid::regprocedure::text as signature from pg_proc p join pg_namespace n on n.oid = p.pronamespace
     where n.nspname = current_schema() and p.prokind = 'f'`.execute(handle.db);
  for (const { signature } of functions.rows) await sql`drop function if exists ${sql.raw(signature)} cascade`.execute(handle.db);
}

function seedIntoCache(options: CliOptions, file: string): void {
  const target = path.resolve(file);
  if (options.reset) removeSqliteFiles(target);
  else if (fs.existsSync(target)) throw new UsageError(`--cache ${target} already exists; pass --reset to replace it`);
  console.log(`Seeding app cache ${target}: ${options.customers} customers, seed ${options.seed}`);
  const { generator } = planTenant(DEMO_USERS, options.seed, options.customers, options.now);
  const started = performance.now();
  const totals = seedCache({ file: target, generator, onProgress: progressPrinter('cache') });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`Wrote ${totals.customers} customers, ${totals.incidents} incidents, ${totals.contacts} contacts in ${seconds} s`);
}

async function seedIntoBackend(options: CliOptions): Promise<void> {
  const env = options.db === undefined ? process.env : { ...process.env, DATABASE_URL: '', TSUNAGU_DB_PATH: options.db };
  const config: BackendConfig = loadConfig(env);
  if (options.reset && config.database.kind === 'sqlite') removeSqliteFiles(config.database.path);
  const handle = await openDatabase(config);
  try {
    if (options.reset && handle.dialect === 'postgres') await dropPostgresTables(handle);
    await migrateToLatest(handle);
    console.log(`Seeding ${describeDatabase(config.database)}: ${options.customers} customers, seed ${options.seed}`);
    const started = performance.now();
    const tenants = await seedBackend({
      handle,
      argon2: config.argon2,
      customers: options.customers,
      seed: options.seed,
      now: options.now,
      onProgress: progressPrinter('demo'),
    });
    const demo = tenants.find((tenant) => tenant.slug === 'demo');
    if (demo) {
      const recorded = await seedDemoRecording(handle, demo, config.recordings.dir);
      console.log('skipped' in recorded ? `No demo recording: ${recorded.skipped}` : `A recorded call (with a pause) on customer ${recorded.customerCode}'s incident tree`);
      // A mail and a fax in a demo customer's incident tree, delivered through the inbound path.
      await seedDemoMailAndFax(handle, demo);
    }
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    for (const tenant of tenants) {
      console.log(
        `Tenant "${tenant.slug}": ${tenant.customers} customers, ${tenant.incidents} incidents, ${tenant.contacts} contacts`,
      );
    }
    console.log(`Done in ${seconds} s. Demo logins (tenant / login / password / SIP user):`);
    for (const tenant of tenants) {
      for (const user of tenant.users) {
        const branch = user.branch ? `, ${user.branch}` : '';
        console.log(
          `  ${tenant.slug.padEnd(6)} ${user.login.padEnd(12)} ${user.password.padEnd(18)} ${(user.sipUser ?? '-').padEnd(18)} (${user.role}${branch})`,
        );
      }
    }
    for (const tenant of tenants) {
      if (tenant.portalCustomerCode) console.log(`Customer portal /portal/${tenant.slug}/: customer ${tenant.portalCustomerCode}, password ${DEMO_PORTAL_ACCOUNT.password}`);
      if (tenant.portalNoRepCustomerCode) console.log(`  and customer ${tenant.portalNoRepCustomerCode} (no assigned rep: "contact my rep" routes by region and product), same password`);
    }
  } finally {
    await handle.close();
  }
}

async function main(): Promise<void> {
  const options = parseCli(process.argv.slice(2));
  if (!options) {
    console.log(USAGE);
    return;
  }
  if (options.cache !== undefined) seedIntoCache(options, options.cache);
  else await seedIntoBackend(options);
}

main().catch((error: unknown) => {
  if (error instanceof UsageError) {
    console.error(`seed: ${error.message}\n\n${USAGE}`);
  } else if (error instanceof ConfigError || error instanceof DatabaseTooNewError || error instanceof SeedTargetNotEmptyError) {
    console.error(`seed: ${error.message}`);
  } else {
    console.error('seed: failed:', error);
  }
  process.exitCode = 1;
});
