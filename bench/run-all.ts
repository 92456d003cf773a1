/**
 * `npm run bench`: runs the headline benchmarks one after the other (never two at once: they
 * would distort each other's figures), each merging its figures into bench/results.json, then
 * writes bench/results.md, a table of every entry of results.json.
 *
 * BENCH_ONLY=propagation,agents runs some of them; `--report` writes results.md from
 * results.json without running anything. Every benchmark keeps its own size variables
 * (BENCH_CUSTOMERS, BENCH_AGENTS, …, see each file). A benchmark that fails is reported and
 * the others still run; the exit code then says so.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { BENCH_DIR, RESULTS_FILE } from './cache-file.js';

/** The npm scripts, in the order they run: the quick ones first. */
const BENCHMARKS = ['lookup', 'propagation', 'agents', 'memory', 'routing', 'cti-fallback', 'reports', 'sync', 'screenpop'] as const;

const REPORT_FILE = path.join(BENCH_DIR, 'results.md');

type Entry = Record<string, unknown>;

function cell(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'number') return Number.isInteger(value) ? value.toLocaleString('en') : String(Math.round(value * 1000) / 1000);
  if (Array.isArray(value)) return value.map(cell).join(' / ');
  // A nested figure (stage shares, a sub-run) reads as "name value" pairs in parentheses.
  if (typeof value === 'object') return `(${Object.entries(value).map(([key, inner]) => `${key} ${cell(inner)}`).join(', ')})`;
  return String(value);
}

/** The figure named by a key with a unit (`p50_ms`, `per_second`, …) or a target. */
const FIGURE_KEYS = ['p50_ms', 'p95_ms', 'p99_ms', 'max_ms', 'seconds', 'per_second', 'rss_mb'];

export function renderReport(results: Record<string, Entry>): string {
  const lines = [
    '# Benchmark results',
    '',
    'Written by `npm run bench` from `bench/results.json` (each benchmark merges its own entry;',
    'see the file of each in `bench/` for what it measures and how). Load is the 1-minute load',
    'average when the figure was taken; figures from a loaded machine are worse than a quiet one’s.',
    '',
    '| Benchmark | p50 ms | p95 ms | p99 ms | max ms | s | /s | RSS MB | target | errors / misses | cores | load | measured |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const [name, entry] of Object.entries(results)) {
    const target = Object.entries(entry)
      .filter(([key]) => key.startsWith('target_'))
      .map(([key, value]) => `${key.slice('target_'.length)} ≤ ${cell(value)}`)
      .join(', ');
    const failures = ['errors', 'misses', 'lost', 'unhandled']
      .filter((key) => entry[key] !== undefined)
      .map((key) => `${key} ${cell(entry[key])}`)
      .join(', ');
    const figures = FIGURE_KEYS.map((key) => cell(entry[key]));
    lines.push(`| ${name} | ${figures.join(' | ')} | ${target} | ${failures} | ${cell(entry.cores)} | ${cell(entry.load_average_1m)} | ${cell(entry.measured_at).slice(0, 16)} |`);
  }
  const details = Object.entries(results).map(([name, entry]) => {
    const rest = Object.entries(entry).filter(([key]) => !FIGURE_KEYS.includes(key) && !key.startsWith('target_') && !['cores', 'load_average_1m', 'measured_at'].includes(key));
    return `- **${name}**: ${rest.map(([key, value]) => `${key} ${cell(value)}`).join(', ')}`;
  });
  return `${lines.join('\n')}\n\n## Details\n\n${details.join('\n')}\n`;
}

function writeReport(): void {
  const results = fs.existsSync(RESULTS_FILE) ? (JSON.parse(fs.readFileSync(RESULTS_FILE, 'utf8')) as Record<string, Entry>) : {};
  fs.writeFileSync(REPORT_FILE, renderReport(results));
  console.log(`Wrote ${path.relative(process.cwd(), REPORT_FILE)} (${Object.keys(results).length} entries)`);
}

function main(): void {
  if (process.argv.includes('--report')) {
    writeReport();
    return;
  }
  const scripts = (JSON.parse(fs.readFileSync(path.join(BENCH_DIR, '..', 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
  const only = process.env.BENCH_ONLY?.split(',').map((name) => name.trim()).filter(Boolean);
  for (const name of only ?? []) {
    if (!(BENCHMARKS as readonly string[]).includes(name)) throw new Error(`BENCH_ONLY: unknown benchmark ${JSON.stringify(name)} (one of ${BENCHMARKS.join(', ')})`);
  }
  const failed: string[] = [];
  for (const name of BENCHMARKS) {
    if (only && !only.includes(name)) continue;
    if (!scripts[`bench:${name}`]) {
      console.log(`\n== bench:${name}: no such npm script yet, skipped`);
      continue;
    }
    console.log(`\n== npm run bench:${name}`);
    const run = spawnSync('npm', ['run', '--silent', `bench:${name}`], { stdio: 'inherit' });
    if (run.status !== 0) failed.push(name);
  }
  writeReport();
  if (failed.length > 0) {
    console.error(`Failed: ${failed.join(', ')}`);
    process.exitCode = 1;
  }
}

main();
