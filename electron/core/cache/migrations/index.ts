import { migration001 } from './001_initial.js';
import { migration002 } from './002_branch_calls.js';
import { migration003 } from './003_derived_attributes.js';
import { migration004 } from './004_local_calls.js';
import { migration005 } from './005_branch_call_facts.js';

/**
 * A numbered cache migration. Each runs in its own transaction and sets `PRAGMA user_version`
 * to its number in that transaction, so a cache is always at exactly one version.
 *
 * Important: migrations are append-only. Never edit or renumber one that has shipped; add the
 * next number instead (and never reuse a retired table or column name for something else).
 */
export interface CacheMigration {
  version: number;
  name: string;
  /** SQL run as one script. */
  up: string;
}

export const CACHE_MIGRATIONS: readonly CacheMigration[] = [migration001, migration002, migration003, migration004, migration005];
