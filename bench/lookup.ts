/**
 * `npm run bench:lookup`: lookup and search latency of the app's local cache holding a
 * million customers (about five million contacts), the screen-pop and search-box paths, on
 * the plain cache and on the same cache encrypted as the app keeps it, in one run.
 *
 * Builds the cache once with the seed's cache writer (bench/data/, git-ignored), encrypts a
 * copy, and reuses both while size and seed match. Each benchmark runs the same queries on
 * the plain and the encrypted cache one after the other (so both see the same machine load),
 * prints p50/p99 beside the targets and the encrypted/plain p99 ratio (target ≤ 1.5), and
 * merges the figures into bench/results.json (`<name>` plain, `<name>-encrypted`). A benchmark
 * reports figures; it never fails on a timing.
 *
 * BENCH_CUSTOMERS (default 1000000) and BENCH_SEED (default 1) choose the data set;
 * BENCH_ITERATIONS (default 2000) the samples per benchmark; BENCH_CACHE_SIZE_KIB (default:
 * the app's own setting, CACHE_SIZE_PRAGMA) the SQLite page cache of both connections, for tuning.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { Prng } from '../backend/src/seed/prng.js';
import type { CustomerGenerator } from '../backend/src/seed/generator.js';
import { CacheStore } from '../electron/core/cache/cache-store.js';
import { CACHE_SIZE_PRAGMA, openCache } from '../electron/core/cache/open-cache.js';
import { createMemoryLogger } from '../electron/core/logger.js';
import type { CustomerRecord } from '../shared/api.js';
import { formatPhoneForDisplay, nationalDigits } from '../shared/phone.js';
import { RESULTS_FILE, ensureEncryptedBenchCache, envInteger, percentile } from './cache-file.js';

const LOOKUP_TARGET_P99_MS = 5;
const SEARCH_TARGET_P99_MS = 10;
/** Statements and the schema's pages are warmed by this many queries of another kind first. */
const WARMUP_QUERIES = 300;
/** The search box's page size. */
const PAGE = 30;
/** The issue's bound on what encryption may cost at the tail. */
const ENCRYPTED_P99_RATIO_TARGET = 1.5;

/**
 * A benchmark query: `run` performs it once (timed) and says whether it found what it should.
 * `reachable`, when given, checks untimed whether a result `run` did not show is on a later page
 * (an address shared by more customers than one page holds): a miss only when it is not.
 */
interface Probe {
  run(): boolean;
  reachable?(): boolean;
}

/** First run of each query on the connection, or the same queries run again right after. */
type Pass = 'cold' | 'warm';

interface Measured {
  name: string;
  pass: Pass;
  targetMs: number;
  samples: number[];
  misses: number;
  /** Found, but not on the first page: counted apart from misses. */
  laterPage: number;
}

function measure(name: string, pass: Pass, targetMs: number, probes: Probe[]): Measured {
  const samples: number[] = [];
  let misses = 0;
  let laterPage = 0;
  for (const probe of probes) {
    const started = performance.now();
    const found = probe.run();
    samples.push(performance.now() - started);
    if (found) continue;
    if (probe.reachable?.()) laterPage++;
    else misses++;
  }
  return { name, pass, targetMs, samples, misses, laterPage };
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
    emailSearches.push({
      run: () => hasId(withEmail.id, store.search(email)),
      // A role address (info@…) or a generated personal one can be held by dozens of customers.
      reachable: () => {
        for (let offset = 0; ; offset += PAGE) {
          const page = store.searchPage(email, { limit: PAGE, offset });
          if (hasId(withEmail.id, page.customers)) return true;
          if (page.customers.length < PAGE) return false;
        }
      },
    });
  }
  return { phoneLookups, writtenPhoneSearches, kanaSearches, kanjiSearches, latinSearches, emailSearches };
}

type ProbeSet = ReturnType<typeof buildProbes>;

interface OpenedCache {
  label: 'plain' | 'encrypted';
  store: CacheStore;
  probes: ProbeSet;
  logger: ReturnType<typeof createMemoryLogger>;
  close(): void;
}

function openForBench(label: OpenedCache['label'], file: string, key: Buffer | undefined, cacheSizeKib: number, generator: CustomerGenerator, seed: number, iterations: number): OpenedCache {
  const db = openCache(file, { key });
  db.pragma(`cache_size = ${-cacheSizeKib}`);
  // The core logs every query slower than 40 ms; counted here instead of flooding the table.
  const logger = createMemoryLogger();
  const store = new CacheStore(db, { logger });
  // The same seed on both: the same queries in the same order.
  const probes = buildProbes(store, generator, seed, iterations);
  // Prepare statements and touch the top of the indexes the way a running app has them. Only
  // these few queries run before the cold pass, so most of its queries are first seen there.
  for (const probe of probes.kanaSearches.slice(0, WARMUP_QUERIES)) probe.run();
  for (const probe of probes.phoneLookups.slice(0, WARMUP_QUERIES)) probe.run();
  logger.entries.length = 0;
  return { label, store, probes, logger, close: () => db.close() };
}

const BENCHMARKS: { name: string; targetMs: number; probes: (set: ProbeSet) => Probe[] }[] = [
  { name: 'lookup-phone', targetMs: LOOKUP_TARGET_P99_MS, probes: (set) => set.phoneLookups },
  { name: 'lookup-phone-written', targetMs: LOOKUP_TARGET_P99_MS, probes: (set) => set.writtenPhoneSearches },
  { name: 'search-kana', targetMs: SEARCH_TARGET_P99_MS, probes: (set) => set.kanaSearches },
  { name: 'search-kanji-2char', targetMs: SEARCH_TARGET_P99_MS, probes: (set) => set.kanjiSearches },
  { name: 'search-latin-prefix', targetMs: SEARCH_TARGET_P99_MS, probes: (set) => set.latinSearches },
  { name: 'search-email', targetMs: SEARCH_TARGET_P99_MS, probes: (set) => set.emailSearches },
];

function main(): void {
  const customers = envInteger('BENCH_CUSTOMERS', 1_000_000, 1000, 9_999_999);
  const seed = envInteger('BENCH_SEED', 1, 0, 0xffffffff);
  const iterations = envInteger('BENCH_ITERATIONS', 2000, 100, 1_000_000);
  const cacheSizeKib = envInteger('BENCH_CACHE_SIZE_KIB', -CACHE_SIZE_PRAGMA, 2000, 16_000_000);
  const cores = os.cpus().length;

  const encrypted = ensureEncryptedBenchCache(customers, seed);
  const { file, manifest, plan, built } = encrypted.plain;
  const { generator } = plan;
  if (built) {
    console.log(`Built in ${manifest.buildSeconds} s: ${manifest.contacts.toLocaleString('en')} contacts, ${manifest.incidents.toLocaleString('en')} incidents`);
  }
  const caches = [
    openForBench('plain', file, undefined, cacheSizeKib, generator, seed, iterations),
    openForBench('encrypted', encrypted.file, encrypted.key, cacheSizeKib, generator, seed, iterations),
  ];
  try {
    const results: (Measured & { label: OpenedCache['label'] })[] = [];
    for (const benchmark of BENCHMARKS) {
      for (const cache of caches) {
        // Cold: each sample's first run on this connection (its pages mostly not yet in SQLite's
        // page cache; the OS file cache may hold them). Warm: the same samples again at once.
        for (const pass of ['cold', 'warm'] as const) {
          results.push({ ...measure(benchmark.name, pass, benchmark.targetMs, benchmark.probes(cache.probes)), label: cache.label });
        }
      }
    }

    const measuredAt = new Date().toISOString();
    const previous: Record<string, unknown> = fs.existsSync(RESULTS_FILE)
      ? (JSON.parse(fs.readFileSync(RESULTS_FILE, 'utf8')) as Record<string, unknown>)
      : {};
    const merged: Record<string, unknown> = { ...previous };

    console.log(
      `\nCache: ${manifest.customers.toLocaleString('en')} customers, ${manifest.contacts.toLocaleString('en')} contacts` +
        `${built ? `, built in ${manifest.buildSeconds} s` : ''}; encrypted copy made in ${encrypted.encryptSeconds} s; ` +
        `cache_size ${cacheSizeKib} KiB per connection; ${cores} cores; ${iterations} samples each, cold then warm\n`,
    );
    console.log(`${'benchmark'.padEnd(22)}${'cache'.padEnd(10)}${'pass'.padEnd(6)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}${'max ms'.padStart(9)}  target p99     misses later  enc/plain p99`);
    const plainP99 = new Map<string, number>();
    const ratios: number[] = [];
    for (const result of results) {
      const sorted = [...result.samples].sort((a, b) => a - b);
      const p50 = percentile(sorted, 0.5);
      const p99 = percentile(sorted, 0.99);
      const max = sorted[sorted.length - 1] as number;
      const verdict = p99 <= result.targetMs ? 'met' : 'MISSED';
      let ratioText = '';
      let ratio: number | null = null;
      const key = `${result.name}/${result.pass}`;
      if (result.label === 'plain') plainP99.set(key, p99);
      else {
        ratio = p99 / (plainP99.get(key) as number);
        ratios.push(ratio);
        ratioText = `${ratio.toFixed(2)} (≤ ${ENCRYPTED_P99_RATIO_TARGET} ${ratio <= ENCRYPTED_P99_RATIO_TARGET ? 'met' : 'MISSED'})`;
      }
      console.log(
        `${result.name.padEnd(22)}${result.label.padEnd(10)}${result.pass.padEnd(6)}${p50.toFixed(3).padStart(9)}${p99.toFixed(3).padStart(9)}${max.toFixed(2).padStart(9)}` +
          `  ≤ ${String(result.targetMs).padStart(2)} ms ${verdict.padEnd(7)}${String(result.misses).padStart(6)}${String(result.laterPage).padStart(6)}  ${ratioText}`,
      );
      // The cold pass keeps the names earlier runs used; the warm pass adds "-warm".
      const name = `${result.name}${result.pass === 'warm' ? '-warm' : ''}`;
      merged[result.label === 'plain' ? name : `${name}-encrypted`] = {
        p50_ms: round(p50),
        p99_ms: round(p99),
        max_ms: round(max),
        target_p99_ms: result.targetMs,
        ...(ratio === null ? {} : { p99_ratio_to_plain: round(ratio), target_p99_ratio: ENCRYPTED_P99_RATIO_TARGET }),
        pass: result.pass,
        n: result.samples.length,
        misses: result.misses,
        found_on_later_page: result.laterPage,
        cores,
        customers: manifest.customers,
        contacts: manifest.contacts,
        cache_build_s: manifest.buildSeconds,
        cache_size_kib: cacheSizeKib,
        // Other work on the machine inflates the tail; the load says how much there was.
        load_average_1m: round(os.loadavg()[0] ?? 0),
        measured_at: measuredAt,
      };
    }
    fs.writeFileSync(RESULTS_FILE, `${JSON.stringify(merged, null, 2)}\n`);
    console.log(`\nWorst encrypted/plain p99 ratio: ${Math.max(...ratios).toFixed(2)} (target ≤ ${ENCRYPTED_P99_RATIO_TARGET})`);
    for (const cache of caches) {
      const slow = cache.logger.entries.filter((entry) => entry.level === 'warn').length;
      console.log(`Queries the core logged as slow (> 40 ms) during the measurement, ${cache.label}: ${slow}`);
    }
    console.log(`"misses" counts lookups that did not return the customer the value was taken from, on any page`);
    console.log(`(for kana, kanji and latin searches: queries that returned nothing). "later" counts e-mail searches whose`);
    console.log(`customer was not on the first page of ${PAGE} but on a later one (an address shared by more than ${PAGE} customers).`);
    console.log(`"cold" is each query's first run on the connection, "warm" the same queries again. Wrote ${path.relative(process.cwd(), RESULTS_FILE)}`);
  } finally {
    for (const cache of caches) cache.close();
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

main();
