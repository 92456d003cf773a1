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
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { Prng } from '../backend/src/seed/prng.js';
import type { CustomerGenerator } from '../backend/src/seed/generator.js';
import { CacheStore } from '../electron/core/cache/cache-store.js';
import { openCache } from '../electron/core/cache/open-cache.js';
import { createMemoryLogger } from '../electron/core/logger.js';
import type { CustomerRecord } from '../shared/api.js';
import { formatPhoneForDisplay, nationalDigits } from '../shared/phone.js';
import { RESULTS_FILE, ensureBenchCache, envInteger, percentile } from './cache-file.js';

const LOOKUP_TARGET_P99_MS = 5;
const SEARCH_TARGET_P99_MS = 10;
const WARMUP_QUERIES = 300;

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

  const { file, manifest, plan, built } = ensureBenchCache(customers, seed);
  const { generator } = plan;
  if (built) {
    console.log(`Built in ${manifest.buildSeconds} s: ${manifest.contacts.toLocaleString('en')} contacts, ${manifest.incidents.toLocaleString('en')} incidents`);
  }
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
