/**
 * `npm run bench:cache-write`: the client's half of a first sync alone, without a backend: pages
 * of whole customer records from the seed generator, encoded in the snapshot wire format as the
 * backend sends them (shared/snapshot-wire.ts), go through the app's own snapshot code
 * (`takeSnapshot`, with a stand-in for the backend client that parses and decodes each body as
 * BackendClient does) into a fresh encrypted cache. Prints the CPU time per customer of the
 * stages the client owns: reading the pages (parse: JSON.parse of the body; check: every field
 * checked and the records rebuilt), writing them (insert: each page's transaction with its
 * commit) and the search index (what the snapshot spends after the last page: the token index
 * and the merge of the trigram index), then the checkpoint the worker ends with, at each size
 * given, with the load average beside it. Generating and encoding the pages is not counted.
 *
 * Options (or BENCH_* variables): --customers N[,N…] (BENCH_CUSTOMERS, default 20000,100000),
 * --page N (BENCH_SYNC_PAGE, default the app's page size), --server-ms N (BENCH_SERVER_MS,
 * default 0: how long each page takes to "arrive", as from a real backend), --seed N,
 * --ids random|seed (BENCH_IDS, default random: incident and contact ids random as the backend
 * makes them, see `withRandomIds`; seed keeps the generator's ids, ordered by customer),
 * --cache encrypted|plain (BENCH_CACHE, default encrypted: a plain cache shows what the
 * encryption costs; such a run writes no results). Merges `cache-write` into
 * bench/results.json. It prints figures; it never fails on a timing.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEMO_USERS, planTenant } from '../backend/src/seed/seed-backend.js';
import type { SnapshotPage } from '../shared/api.js';
import { decodeSnapshotPage } from '../shared/snapshot-wire.js';
import type { BackendClient } from '../electron/core/backend-client.js';
import { CacheStore } from '../electron/core/cache/cache-store.js';
import { openCache } from '../electron/core/cache/open-cache.js';
import type { Logger } from '../electron/core/logger.js';
import { DEFAULT_SYNC_TUNING } from '../electron/core/sync/sync-engine.js';
import { SNAPSHOT_WAL_AUTOCHECKPOINT, takeSnapshot } from '../electron/core/sync/snapshot.js';
import { BENCH_CACHE_KEY, benchFlags, DATA_NOW, mergeResults } from './cache-file.js';
import { adminRights, snapshotBody, withRandomIds } from './snapshot-body.js';

interface Options {
  sizes: number[];
  page: number;
  serverMs: number;
  seed: number;
  cache: 'encrypted' | 'plain';
  ids: 'random' | 'seed';
}

function parseOptions(argv: string[]): Options {
  const flags = benchFlags(argv, ['customers', 'page', 'server-ms', 'seed', 'cache', 'ids'], 'bench:cache-write [--customers N[,N…]] [--page N] [--server-ms N] [--seed N] [--cache encrypted|plain] [--ids random|seed]');
  const ids = flags.text('ids') ?? process.env.BENCH_IDS ?? 'random';
  if (ids !== 'random' && ids !== 'seed') throw new Error(`--ids takes random or seed, got "${ids}"`);
  const cache = flags.text('cache') ?? process.env.BENCH_CACHE ?? 'encrypted';
  if (cache !== 'encrypted' && cache !== 'plain') throw new Error(`--cache takes encrypted or plain, got "${cache}"`);
  const sizes = (flags.text('customers') ?? process.env.BENCH_CUSTOMERS ?? '20000,100000').split(',').map((text) => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < 100 || value > 9_999_999) throw new Error(`--customers takes integers between 100 and 9999999, got "${text}"`);
    return value;
  });
  return {
    sizes,
    page: flags.integer('page', 'BENCH_SYNC_PAGE', DEFAULT_SYNC_TUNING.snapshotPageSize, 1, 100_000),
    serverMs: flags.integer('server-ms', 'BENCH_SERVER_MS', 0, 0, 60_000),
    seed: flags.integer('seed', 'BENCH_SEED', 1, 0, 0xffffffff),
    cache,
    ids,
  };
}

const silentLogger: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: (message, fields) => console.error(message, fields) };

/** CPU microseconds (user + system) of this process since `start`. */
function cpuSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return used.user + used.system;
}

interface SizeFigures {
  customers: number;
  incidents: number;
  contacts: number;
  /** JSON.parse of the pages' bodies. */
  parse_cpu_us_per_customer: number;
  /** decodeSnapshotPage: every field checked, the records rebuilt. */
  check_cpu_us_per_customer: number;
  insert_cpu_us_per_customer: number;
  index_cpu_us_per_customer: number;
  /** The checkpoint after the snapshot (the worker's last step), copying what is still only in the WAL into the cache file. */
  checkpoint_cpu_us_per_customer: number;
  /** Parse, check, insert, index and checkpoint: the client's whole CPU per customer. */
  total_cpu_us_per_customer: number;
  insert_seconds: number;
  index_seconds: number;
  /** Insert CPU per customer of each tenth of the pages, in order: does it grow with the cache? */
  insert_cpu_us_per_customer_by_tenth: number[];
  cache_mb: number;
  load_average_1m: number;
}

async function measure(customers: number, options: Options): Promise<SizeFigures> {
  const plan = planTenant(DEMO_USERS, options.seed, customers, DATA_NOW);
  const rights = adminRights(plan);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsunagu-cache-write-'));
  const file = path.join(dir, 'cache.db');
  const db = openCache(file, options.cache === 'plain' ? {} : { key: BENCH_CACHE_KEY });
  let incidents = 0;
  let contacts = 0;
  try {
    // As the snapshot worker opens its connection.
    db.pragma(`wal_autocheckpoint = ${SNAPSHOT_WAL_AUTOCHECKPOINT}`);
    const store = new CacheStore(db, { logger: silentLogger });

    // CPU of writing the pages: each page's whole transaction (statements and commit, where the
    // trigram segment is flushed), wherever takeSnapshot calls it from. Everything else the
    // snapshot spends, less generating the pages, is the index build after the last page.
    let insertCpu = 0;
    let insertWall = 0;
    let generateCpu = 0;
    let parseCpu = 0;
    let checkCpu = 0;
    let written = 0;
    const tenths = Array.from({ length: 10 }, () => ({ cpu: 0, customers: 0 }));
    const upsertRecords = store.upsertRecords.bind(store);
    store.upsertRecords = (records, upsertOptions) => {
      upsertRecords(records, upsertOptions);
      written += records.length;
    };
    const bulkTransaction = store.bulkTransaction.bind(store);
    store.bulkTransaction = (work) => {
      const wall = performance.now();
      const cpu = process.cpuUsage();
      const before = written;
      try {
        return bulkTransaction(work);
      } finally {
        const used = cpuSince(cpu);
        insertCpu += used;
        insertWall += performance.now() - wall;
        const tenth = tenths[Math.min(9, Math.floor((before * 10) / customers))] as { cpu: number; customers: number };
        tenth.cpu += used;
        tenth.customers += written - before;
      }
    };

    // The backend's part: pages from the generator, cursor = the last customer id of the page.
    const startOf = new Map<string | null, number>([[null, 0]]);
    const client = {
      snapshot: async (query: { after?: string | null; limit?: number }): Promise<SnapshotPage> => {
        const start = startOf.get(query.after ?? null);
        if (start === undefined) throw new Error(`no page after ${query.after}`);
        const end = Math.min(customers, start + (query.limit ?? options.page));
        const cpu = process.cpuUsage();
        const records = Array.from({ length: end - start }, (_, i) => {
          const record = plan.generator.recordAt(start + i);
          return options.ids === 'random' ? withRandomIds(record) : record;
        });
        for (const record of records) {
          incidents += record.incidents.length;
          contacts += record.contacts.length;
        }
        const nextAfter = end < customers ? (records[records.length - 1]?.customer.id ?? null) : null;
        if (nextAfter !== null) startOf.set(nextAfter, end);
        const body = snapshotBody(records, { nextAfter, highWaterSeq: 1, total: customers, rights, branchCalls: [] });
        generateCpu += cpuSince(cpu);
        if (options.serverMs > 0) await new Promise((resolve) => setTimeout(resolve, options.serverMs));
        // What BackendClient does with the body (the snapshot's own timing counts it as parse and validate).
        const parseStarted = process.cpuUsage();
        const json = JSON.parse(body) as unknown;
        const checkStarted = process.cpuUsage();
        parseCpu += cpuSince(parseStarted);
        const page = decodeSnapshotPage(json);
        checkCpu += cpuSince(checkStarted);
        return page;
      },
    } as unknown as BackendClient;

    const snapshotWall = performance.now();
    const snapshotCpu = process.cpuUsage();
    await takeSnapshot(store, client, options.page, () => {});
    const indexCpu = cpuSince(snapshotCpu) - insertCpu - generateCpu - parseCpu - checkCpu;
    const indexWall = performance.now() - snapshotWall - insertWall;
    // The worker checkpoints when it is done: what the pages' commits left in the WAL is copied
    // (decrypted and encrypted again) into the cache file, work the snapshot caused.
    const checkpointCpu = process.cpuUsage();
    db.pragma('wal_checkpoint(TRUNCATE)');
    const checkpointUs = cpuSince(checkpointCpu);
    const cached = store.countCustomers();
    if (cached !== customers) throw new Error(`the cache holds ${cached} customers, expected ${customers}`);
    const cachedContacts = db.prepare('SELECT count(*) FROM contacts').pluck().get() as number;
    if (cachedContacts !== contacts) throw new Error(`the cache holds ${cachedContacts} contacts, expected ${contacts}`);
    const round = (value: number) => Math.round(value * 10) / 10;
    return {
      customers,
      incidents,
      contacts,
      parse_cpu_us_per_customer: round(parseCpu / customers),
      check_cpu_us_per_customer: round(checkCpu / customers),
      insert_cpu_us_per_customer: round(insertCpu / customers),
      index_cpu_us_per_customer: round(indexCpu / customers),
      checkpoint_cpu_us_per_customer: round(checkpointUs / customers),
      total_cpu_us_per_customer: round((parseCpu + checkCpu + insertCpu + indexCpu + checkpointUs) / customers),
      insert_seconds: Math.round(insertWall / 100) / 10,
      index_seconds: Math.round(indexWall / 100) / 10,
      insert_cpu_us_per_customer_by_tenth: tenths.map((tenth) => (tenth.customers === 0 ? 0 : round(tenth.cpu / tenth.customers))),
      cache_mb: round(fs.statSync(file).size / 1048576),
      load_average_1m: round(os.loadavg()[0] ?? 0),
    };
  } finally {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const results: SizeFigures[] = [];
  console.log(`bench:cache-write: ${options.cache} cache, ${options.ids} incident and contact ids, page ${options.page}, server ${options.serverMs} ms per page, ${os.cpus().length} cores`);
  for (const customers of options.sizes) {
    const loadBefore = os.loadavg()[0] ?? 0;
    const figures = await measure(customers, options);
    results.push(figures);
    console.log(
      `${customers.toLocaleString('en')} customers (${figures.incidents.toLocaleString('en')} incidents, ${figures.contacts.toLocaleString('en')} contacts): ` +
        `parse ${figures.parse_cpu_us_per_customer}, check ${figures.check_cpu_us_per_customer}, ` +
        `insert ${figures.insert_cpu_us_per_customer} µs CPU/customer (${figures.insert_seconds} s wall), ` +
        `index ${figures.index_cpu_us_per_customer} µs CPU/customer (${figures.index_seconds} s wall), ` +
        `checkpoint ${figures.checkpoint_cpu_us_per_customer}, total ${figures.total_cpu_us_per_customer} µs CPU/customer, ` +
        `cache ${figures.cache_mb} MB, load ${loadBefore.toFixed(1)} → ${figures.load_average_1m}`,
    );
    console.log(`  insert µs CPU/customer by tenth: ${figures.insert_cpu_us_per_customer_by_tenth.join(' ')}`);
  }
  if (options.cache === 'plain') return;
  mergeResults('cache-write', { cores: os.cpus().length, page: options.page, ids: options.ids, server_ms: options.serverMs, sizes: results, measured_at: new Date().toISOString() });
}

await main();
