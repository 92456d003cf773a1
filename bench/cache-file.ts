/**
 * The benchmarks' million-customer app cache: bench/data/cache-<size>.db with a manifest
 * beside it, built once with the seed's cache writer and reused while size, seed, data date
 * and cache schema match. bench/lookup.ts and bench/screenpop.ts both build through here, so
 * either benchmark reuses a cache the other built.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEMO_USERS, planTenant, type TenantPlan } from '../backend/src/seed/seed-backend.js';
import { seedCache } from '../scripts/seed-cache.js';
import { CACHE_CIPHER, encryptPlainDatabase, removeDatabaseFiles } from '../electron/core/cache/encrypted-database.js';
import { CACHE_MIGRATIONS } from '../electron/core/cache/migrations/index.js';
import { openCache } from '../electron/core/cache/open-cache.js';

export const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
export const DATA_DIR = path.join(BENCH_DIR, 'data');
export const RESULTS_FILE = path.join(BENCH_DIR, 'results.json');
/** Fixed, so that a seed names one data set whatever the day of the run. */
export const DATA_NOW = new Date('2026-01-01T00:00:00Z');

export interface CacheManifest {
  customers: number;
  seed: number;
  dataNow: string;
  schema: string;
  incidents: number;
  contacts: number;
  buildSeconds: number;
  builtAt: string;
}

export function envInteger(name: string, fallback: number, min: number, max: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be an integer between ${min} and ${max}, got "${text}"`);
  }
  return value;
}

/**
 * A bench's `--name value` options: each must be one of `known`, and `usage` is the error for a
 * malformed command line. `integer` reads an option, else its environment variable, else the fallback.
 */
export function benchFlags(argv: readonly string[], known: readonly string[], usage: string) {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i];
    const value = argv[i + 1];
    if (!name?.startsWith('--') || value === undefined) throw new Error(`usage: ${usage}; got "${argv.join(' ')}"`);
    if (!known.includes(name.slice(2))) throw new Error(`unknown option ${name}`);
    flags.set(name.slice(2), value);
  }
  return {
    text: (flag: string) => flags.get(flag),
    integer(flag: string, env: string, fallback: number, min: number, max: number): number {
      const text = flags.get(flag);
      if (text === undefined) return envInteger(env, fallback, min, max);
      const value = Number(text);
      if (!Number.isInteger(value) || value < min || value > max) throw new Error(`--${flag} must be an integer between ${min} and ${max}, got "${text}"`);
      return value;
    },
  };
}

const INDEXING_SOURCES = ['../electron/core/cache/customer-index.ts', '../shared/search-text.ts'];

/**
 * A hash of the app's cache migrations. Unreleased migrations still change in place during
 * development, and a cache built with an older schema would measure the wrong indexes.
 */
export function schemaFingerprint(): string {
  const hash = createHash('sha256');
  for (const migration of CACHE_MIGRATIONS) hash.update(`${migration.version}\n${migration.up}\n`);
  // What gets indexed for a customer matters as much as the schema.
  for (const file of INDEXING_SOURCES) hash.update(fs.readFileSync(new URL(file, import.meta.url)));
  return hash.digest('hex').slice(0, 16);
}

function sizeLabel(customers: number): string {
  if (customers % 1_000_000 === 0) return `${customers / 1_000_000}m`;
  if (customers % 1000 === 0) return `${customers / 1000}k`;
  return String(customers);
}

/** The cache file for this size and seed, built unless a finished one is already there. */
export function ensureBenchCache(customers: number, seed: number): { file: string; manifest: CacheManifest; plan: TenantPlan; built: boolean } {
  const file = path.join(DATA_DIR, `cache-${sizeLabel(customers)}.db`);
  const manifestFile = `${file}.json`;
  const plan = planTenant(DEMO_USERS, seed, customers, DATA_NOW);
  if (fs.existsSync(file) && fs.existsSync(manifestFile)) {
    const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as CacheManifest;
    const matches =
      manifest.customers === customers && manifest.seed === seed && manifest.dataNow === DATA_NOW.toISOString() && manifest.schema === schemaFingerprint();
    if (matches) {
      console.log(`Reusing ${path.relative(process.cwd(), file)} (built ${manifest.builtAt} in ${manifest.buildSeconds} s)`);
      return { file, manifest, plan, built: false };
    }
  }
  fs.mkdirSync(DATA_DIR, { recursive: true });
  // The manifest goes first and is written last, so a half-built cache is never taken for a finished one.
  for (const suffix of ['.json', '', '-wal', '-shm']) fs.rmSync(file + suffix, { force: true });
  console.log(`Building ${path.relative(process.cwd(), file)}: ${customers.toLocaleString('en')} customers, seed ${seed}`);
  const started = performance.now();
  const totals = seedCache({
    file,
    generator: plan.generator,
    onProgress: (written, total) => {
      if (written % 100_000 === 0 || written === total) {
        console.log(`  ${written.toLocaleString('en')} / ${total.toLocaleString('en')} customers (${((performance.now() - started) / 1000).toFixed(1)} s)`);
      }
    },
  });
  const manifest: CacheManifest = {
    customers: totals.customers,
    seed,
    dataNow: DATA_NOW.toISOString(),
    schema: schemaFingerprint(),
    incidents: totals.incidents,
    contacts: totals.contacts,
    buildSeconds: Math.round((performance.now() - started) / 100) / 10,
    builtAt: new Date().toISOString(),
  };
  fs.writeFileSync(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`);
  return { file, manifest, plan, built: true };
}

/**
 * The benchmarks' fixed cache key. Not a secret: it only has to be a valid 32-byte key, so that
 * the encrypted copy is reused between runs. The app draws a random key per user.
 */
export const BENCH_CACHE_KEY = createHash('sha256').update('tsunagu benchmark cache key').digest();

interface EncryptedManifest extends CacheManifest {
  /** builtAt of the plain cache it was encrypted from. */
  plainBuiltAt: string;
  encryptSeconds: number;
  /** The cipher scheme it was encrypted with: a copy from an older scheme is encrypted again. */
  cipher?: string;
}

/**
 * The same cache encrypted as the app encrypts it (encryptPlainDatabase, with BENCH_CACHE_KEY),
 * beside the plain one: bench/data/cache-<size>.encrypted.db. Rebuilt whenever the plain cache is.
 */
export function ensureEncryptedBenchCache(
  customers: number,
  seed: number,
): { plain: ReturnType<typeof ensureBenchCache>; file: string; key: Buffer; encryptSeconds: number } {
  const plain = ensureBenchCache(customers, seed);
  const file = plain.file.replace(/\.db$/, '.encrypted.db');
  const manifestFile = `${file}.json`;
  if (fs.existsSync(file) && fs.existsSync(manifestFile)) {
    const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as EncryptedManifest;
    if (manifest.plainBuiltAt === plain.manifest.builtAt && manifest.schema === plain.manifest.schema && manifest.cipher === CACHE_CIPHER.name) {
      console.log(`Reusing ${path.relative(process.cwd(), file)} (encrypted in ${manifest.encryptSeconds} s)`);
      return { plain, file, key: BENCH_CACHE_KEY, encryptSeconds: manifest.encryptSeconds };
    }
  }
  fs.rmSync(manifestFile, { force: true });
  removeDatabaseFiles(file);
  console.log(`Encrypting a copy of ${path.relative(process.cwd(), plain.file)} into ${path.relative(process.cwd(), file)}`);
  const started = performance.now();
  // Everything in the plain file itself, so the copy holds all of it.
  const folded = openCache(plain.file);
  folded.pragma('wal_checkpoint(TRUNCATE)');
  folded.close();
  fs.copyFileSync(plain.file, file);
  encryptPlainDatabase(file, BENCH_CACHE_KEY);
  const encryptSeconds = Math.round((performance.now() - started) / 100) / 10;
  const manifest: EncryptedManifest = { ...plain.manifest, plainBuiltAt: plain.manifest.builtAt, encryptSeconds, cipher: CACHE_CIPHER.name };
  fs.writeFileSync(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`);
  return { plain, file, key: BENCH_CACHE_KEY, encryptSeconds };
}

/** Merges one benchmark's figures into bench/results.json, keeping every other entry. */
export function mergeResults(name: string, figures: Record<string, unknown>): void {
  const previous: Record<string, unknown> = fs.existsSync(RESULTS_FILE) ? (JSON.parse(fs.readFileSync(RESULTS_FILE, 'utf8')) as Record<string, unknown>) : {};
  fs.writeFileSync(RESULTS_FILE, `${JSON.stringify({ ...previous, [name]: figures }, null, 2)}\n`);
}

export function percentile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}
