/**
 * `npm run bench:lookup`: lookup and search latency of the app's local cache holding a
 * million customers (about five million contacts), the screen-pop and search-box paths.
 *
 * Builds the cache once with the seed's cache writer (bench/data/, git-ignored) and reuses
 * it while its size and seed match. Prints p50/p99 beside the targets and merges the figures
 * into bench/results.json. A benchmark reports figures; it never fails on a timing.
 *
 * BENCH_CUSTOMERS (default 1000000) and BENCH_SEED (default 1) choose the data set;
 * BENCH_ITERATIONS (default 2000) the samples per benchmark.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { DEMO_USERS, planTenant } from '../backend/src/seed/seed-backend.js';
import { seedCache } from '../backend/src/seed/seed-cache.js';
import { Prng } from '../backend/src/seed/prng.js';
import type { CustomerGenerator } from '../backend/src/seed/generator.js';
import { CacheStore } from '../electron/core/cache/cache-store.js';
import { CACHE_MIGRATIONS } from '../electron/core/cache/migrations/index.js';
import { openCache } from '../electron/core/cache/open-cache.js';
import { createMemoryLogger } from '../electron/core/logger.js';
import type { CustomerRecord } from '../shared/api.js';
import { formatPhoneForDisplay, nationalDigits } from '../shared/phone.js';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const DATA_DIR = path.join(BENCH_DIR, 'data');
const RESULTS_FILE = path.join(BENCH_DIR, 'results.json');
/** Fixed, so that a seed names one data set whatever the day of the run. */
const DATA_NOW = new Date('2026-01-01T00:00:00Z');
const LOOKUP_TARGET_P99_MS = 5;
const SEARCH_TARGET_P99_MS = 10;
const WARMUP_QUERIES = 300;

function envInteger(name: string, fallback: number, min: number, max: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be an integer between ${min} and ${max}, got "${text}"`);
  }
  return value;
}

interface CacheManifest {
  customers: number;
  seed: number;
  dataNow: string;
  /** Fingerprint of the cache schema the file was built with (see `schemaFingerprint`). */
  schema: string;
  incidents: number;
  contacts: number;
  buildSeconds: number;
  builtAt: string;
}

const INDEXING_SOURCES = ['../electron/core/cache/customer-index.ts', '../shared/search-text.ts'];

/**
 * A hash of the app's cache migrations. Unreleased migrations still change in place during
 * development, and a cache built with an older schema would measure the wrong indexes.
 */
function schemaFingerprint(): string {
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

function removeCache(file: string): void {
  for (const suffix of ['', '-wal', '-shm', '.json']) fs.rmSync(file + suffix, { force: true });
}

/** The cache file for this size and seed, built unless a finished one is already there. */
function ensureCache(customers: number, seed: number): { file: string; manifest: CacheManifest; generator: CustomerGenerator; built: boolean } {
  const file = path.join(DATA_DIR, `cache-${sizeLabel(customers)}.db`);
  const manifestFile = `${file}.json`;
  const { generator } = planTenant(DEMO_USERS, seed, customers, DATA_NOW);
  if (fs.existsSync(file) && fs.existsSync(manifestFile)) {
    const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as CacheManifest;
    const matches =
      manifest.customers === customers &&
      manifest.seed === seed &&
      manifest.dataNow === DATA_NOW.toISOString() &&
      manifest.schema === schemaFingerprint();
    if (matches) {
      console.log(`Reusing ${path.relative(process.cwd(), file)} (built ${manifest.builtAt} in ${manifest.buildSeconds} s)`);
      return { file, manifest, generator, built: false };
    }
  }
  // The manifest is written last, so a half-built cache is never mistaken for a finished one.
  removeCache(file);
  console.log(`Building ${path.relative(process.cwd(), file)}: ${customers.toLocaleString('en')} customers, seed ${seed}`);
  const started = performance.now();
  const totals = seedCache({
    file,
    generator,
    onProgress: (written, total) => {
      if (written % 100_000 === 0 || written === total) {
        const seconds = ((performance.now() - started) / 1000).toFixed(1);
        console.log(`  ${written.toLocaleString('en')} / ${total.toLocaleString('en')} customers (${seconds} s)`);
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
  console.log(`Built in ${manifest.buildSeconds} s: ${manifest.contacts.toLocaleString('en')} contacts, ${manifest.incidents.toLocaleString('en')} incidents`);
  return { file, manifest, generator, built: true };
}

/** A benchmark query: `run` performs it once and says whether it found what it should. */
interface Probe {
  run(): boolean;
}

interface Measured {
  name: string;
  targetMs: number;
  samples: number[];
  misses: number;
}

function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}

function measure(name: string, targetMs: number, probes: Probe[]): Measured {
  const samples: number[] = [];
  let misses = 0;
  for (const probe of probes) {
    const started = performance.now();
    const found = probe.run();
    samples.push(performance.now() - started);
    if (!found) misses++;
  }
  return { name, targetMs, samples, misses };
}

const toHiragana = (text: string) => text.replace(/[\u30a1-\u30f6]/g, (ch) => String.fromCharCode(ch.charCodeAt(0) - 0x60));

/** Random but seeded picks of real values from the data, `count` of each kind. */
function buildProbes(store: CacheStore, generator: CustomerGenerator, seed: number, count: number) {
  const rng = new Prng(seed, 0xbe4c4);
  const randomRecord = (accept: (record: CustomerRecord) => boolean): CustomerRecord => {
    for (;;) {
      const record = generator.recordAt(rng.int(0, generator.count - 1));
      if (accept(record)) return record;
    }
  };
  const hasId = (id: string, results: { id: string }[]) => results.some((c) => c.id === id);

  const phoneLookups: Probe[] = [];
  const writtenPhoneSearches: Probe[] = [];
  const kanaSearches: Probe[] = [];
  const kanjiSearches: Probe[] = [];
  const latinSearches: Probe[] = [];
  const emailSearches: Probe[] = [];
  for (let i = 0; i < count; i++) {
    const withPhone = randomRecord(() => true).customer;
    const e164 = rng.pick(withPhone.phones).e164;
    phoneLookups.push({ run: () => hasId(withPhone.id, store.findByPhone(e164)) });
    const parsed = parsePhoneNumberFromString(e164);
    const written = [formatPhoneForDisplay(e164), nationalDigits(e164), parsed?.formatInternational() ?? e164];
    const form = written[i % written.length] as string;
    writtenPhoneSearches.push({ run: () => hasId(withPhone.id, store.search(form)) });

    const withKana = randomRecord((r) => r.customer.nameKana !== '').customer;
    const word = rng.pick(withKana.nameKana.split(' ').filter((w) => w.length >= 2));
    const length = Math.min(word.length, rng.int(2, 4));
    const start = rng.int(0, word.length - length);
    const kana = word.slice(start, start + length);
    const kanaQuery = rng.chance(0.5) ? toHiragana(kana) : kana;
    kanaSearches.push({ run: () => store.search(kanaQuery).length > 0 });

    const family = randomRecord((r) => /^[\p{Script=Han}]{2} /u.test(r.customer.name)).customer.name.slice(0, 2);
    kanjiSearches.push({ run: () => store.search(family).length > 0 });

    const latin = randomRecord((r) => /^[A-Za-z]/.test(r.customer.name)).customer;
    const latinWord = rng.pick(latin.name.split(' ').filter((w) => /^[A-Za-z]{2,}/.test(w)));
    const prefix = latinWord.slice(0, rng.int(2, Math.min(4, latinWord.length)));
    latinSearches.push({ run: () => store.search(prefix).length > 0 });

    const withEmail = randomRecord((r) => r.customer.emails.length > 0).customer;
    const email = rng.pick(withEmail.emails);
    emailSearches.push({ run: () => hasId(withEmail.id, store.search(email)) });
  }
  return { phoneLookups, writtenPhoneSearches, kanaSearches, kanjiSearches, latinSearches, emailSearches };
}

function main(): void {
  const customers = envInteger('BENCH_CUSTOMERS', 1_000_000, 1000, 9_999_999);
  const seed = envInteger('BENCH_SEED', 1, 0, 0xffffffff);
  const iterations = envInteger('BENCH_ITERATIONS', 2000, 100, 1_000_000);
  const cores = os.cpus().length;

  const { file, manifest, generator, built } = ensureCache(customers, seed);
  const db = openCache(file);
  // The core logs every query slower than 40 ms; counted here instead of flooding the table.
  const logger = createMemoryLogger();
  const store = new CacheStore(db, { logger });
  try {
    const probes = buildProbes(store, generator, seed, iterations);
    // Warm the page cache and the statement caches the way a running app has them.
    for (const probe of probes.kanaSearches.slice(0, WARMUP_QUERIES)) probe.run();
    for (const probe of probes.phoneLookups.slice(0, WARMUP_QUERIES)) probe.run();

    logger.entries.length = 0;
    const results: Measured[] = [
      measure('lookup-phone', LOOKUP_TARGET_P99_MS, probes.phoneLookups),
      measure('lookup-phone-written', LOOKUP_TARGET_P99_MS, probes.writtenPhoneSearches),
      measure('search-kana', SEARCH_TARGET_P99_MS, probes.kanaSearches),
      measure('search-kanji-2char', SEARCH_TARGET_P99_MS, probes.kanjiSearches),
      measure('search-latin-prefix', SEARCH_TARGET_P99_MS, probes.latinSearches),
      measure('search-email', SEARCH_TARGET_P99_MS, probes.emailSearches),
    ];

    const measuredAt = new Date().toISOString();
    const previous: Record<string, unknown> = fs.existsSync(RESULTS_FILE)
      ? (JSON.parse(fs.readFileSync(RESULTS_FILE, 'utf8')) as Record<string, unknown>)
      : {};
    const merged: Record<string, unknown> = { ...previous };

    console.log(
      `\nCache: ${manifest.customers.toLocaleString('en')} customers, ${manifest.contacts.toLocaleString('en')} contacts` +
        `${built ? `, built in ${manifest.buildSeconds} s` : ''}; ${cores} cores; ${iterations} samples each (warm)\n`,
    );
    console.log(`${'benchmark'.padEnd(22)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}${'max ms'.padStart(9)}  target p99     misses`);
    for (const result of results) {
      const sorted = [...result.samples].sort((a, b) => a - b);
      const p50 = percentile(sorted, 0.5);
      const p99 = percentile(sorted, 0.99);
      const max = sorted[sorted.length - 1] as number;
      const verdict = p99 <= result.targetMs ? 'met' : 'MISSED';
      console.log(
        `${result.name.padEnd(22)}${p50.toFixed(3).padStart(9)}${p99.toFixed(3).padStart(9)}${max.toFixed(2).padStart(9)}` +
          `  ≤ ${String(result.targetMs).padStart(2)} ms ${verdict.padEnd(7)}${String(result.misses).padStart(6)}`,
      );
      merged[result.name] = {
        p50_ms: round(p50),
        p99_ms: round(p99),
        max_ms: round(max),
        target_p99_ms: result.targetMs,
        n: result.samples.length,
        misses: result.misses,
        cores,
        customers: manifest.customers,
        contacts: manifest.contacts,
        cache_build_s: manifest.buildSeconds,
        // Other work on the machine inflates the tail; the load says how much there was.
        load_average_1m: round(os.loadavg()[0] ?? 0),
        measured_at: measuredAt,
      };
    }
    fs.writeFileSync(RESULTS_FILE, `${JSON.stringify(merged, null, 2)}\n`);
    const slow = logger.entries.filter((entry) => entry.level === 'warn').length;
    console.log(`\nQueries the core logged as slow (> 40 ms) during the measurement: ${slow}`);
    console.log(`"misses" counts lookups that did not return the customer the value was taken from`);
    console.log(`(for kana, kanji and latin searches: queries that returned nothing). Wrote ${path.relative(process.cwd(), RESULTS_FILE)}`);
  } finally {
    db.close();
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

main();
