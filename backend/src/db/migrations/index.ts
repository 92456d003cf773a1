import type { Kysely, Migration } from 'kysely';
import type { SqlDialect } from '../database.js';
import * as m001 from './001_initial.js';
import * as m002 from './002_mail.js';
import * as m003 from './003_telephony.js';
import * as m004 from './004_hardening.js';
import * as m005 from './005_sip_identities.js';
import * as m006 from './006_mail_matching.js';
import * as m007 from './007_incidents_callbacks.js';
import * as m008 from './008_presence_changed_at.js';
import * as m009 from './009_cti_routing.js';
import * as m011 from './011_calls_for_you.js';
import * as m012 from './012_callback_worklist.js';
import * as m013 from './013_call_replies.js';
import * as m014 from './014_branch_call_changes.js';
import * as m017 from './017_recordings.js';
import * as m018 from './018_monitoring.js';
import * as m019 from './019_portal.js';
import * as m020 from './020_rep_requests.js';
import * as m021 from './021_callme.js';
import * as m022 from './022_screen_sync.js';
import * as m023 from './023_exchange.js';
import * as m024 from './024_fax_sender_audit_viewer.js';
import * as m025 from './025_derived_attributes.js';
import * as m027 from './027_report_indexes.js';
import * as m028 from './028_report_rollup.js';
import * as m029 from './029_sip_releases_tenant_zone.js';
import * as m030 from './030_change_log_commit_seq.js';
import * as m031 from './031_change_log_sequencer.js';
import * as m032 from './032_change_log_sequence_numbered.js';

interface DialectMigration {
  up(db: Kysely<unknown>, dialect: SqlDialect): Promise<void>;
}

/**
 * Every migration of this build, in order. A static list rather than a directory scan, so a
 * bundled backend carries its migrations and a stray file never runs. Names sort in order.
 */
const MIGRATIONS: Record<string, DialectMigration> = {
  '001_initial': m001,
  '002_mail': m002,
  '003_telephony': m003,
  '004_hardening': m004,
  '005_sip_identities': m005,
  '006_mail_matching': m006,
  '007_incidents_callbacks': m007,
  '008_presence_changed_at': m008,
  '009_cti_routing': m009,
  '011_calls_for_you': m011,
  '012_callback_worklist': m012,
  '013_call_replies': m013,
  '014_branch_call_changes': m014,
  '017_recordings': m017,
  '018_monitoring': m018,
  '019_portal': m019,
  '020_rep_requests': m020,
  '021_callme': m021,
  '022_screen_sync': m022,
  '023_exchange': m023,
  '024_fax_sender_audit_viewer': m024,
  '025_derived_attributes': m025,
  '027_report_indexes': m027,
  '028_report_rollup': m028,
  '029_sip_releases_tenant_zone': m029,
  '030_change_log_commit_seq': m030,
  '031_change_log_sequencer': m031,
  '032_change_log_sequence_numbered': m032,
};

export const MIGRATION_NAMES: readonly string[] = Object.keys(MIGRATIONS);

export function migrationsFor(dialect: SqlDialect): Record<string, Migration> {
  return Object.fromEntries(
    Object.entries(MIGRATIONS).map(([name, migration]) => [name, { up: (db: Kysely<unknown>) => migration.up(db, dialect) }]),
  );
}
