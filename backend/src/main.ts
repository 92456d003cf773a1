import { buildApp } from './app.js';
import { applyConfigFile } from './config-file.js';
import { ConfigError, describeDatabase, loadConfig } from './config.js';
import { openDatabase } from './db/database.js';
import { DatabaseTooNewError, migrateToLatest } from './db/migrate.js';
import { startMailServices, type MailServices } from './mail/service.js';
import { loadMailConfig } from './mail/config.js';
import { DerivedJobRunner, loadDerivedJobSchedule } from './derived/job.js';
import { loadReportRollupDays, ReportRollupWarmer } from './reports/rollup.js';

/** `npm run backend`: migrate, listen, and shut down cleanly on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  const configFile = applyConfigFile();
  if (configFile) console.log(`tsunagu backend: settings from ${configFile} (environment variables win)`);
  const config = loadConfig();
  const handle = await openDatabase(config);
  try {
    const applied = await migrateToLatest(handle);
    if (applied.length > 0) console.log(`tsunagu backend: applied migrations ${applied.join(', ')}`);
  } catch (error) {
    await handle.close();
    throw error;
  }
  const derivedSchedule = loadDerivedJobSchedule(loadMailConfig().timeZone);
  const rollupDays = loadReportRollupDays();
  const app = buildApp({ db: handle, config });
  let mail: MailServices | null = null;
  let derived: DerivedJobRunner | null = null;
  let rollup: ReportRollupWarmer | null = null;
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'shutting down');
    try {
      await mail?.close();
      await derived?.close();
      await rollup?.close();
      await app.close();
    } finally {
      await handle.close();
    }
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
  await app.listen({ host: config.host, port: config.port });
  // The SMTP listener and the sender run beside the HTTP server (not inside buildApp, so that
  // test apps do not all bind the SMTP port); TSUNAGU_SMTP_ENABLED / TSUNAGU_MAIL_SENDER_ENABLED
  // turn them off per instance.
  mail = await startMailServices(handle, app.log);
  // The derived-attributes job (backend/src/derived) runs here too, not in buildApp: test apps
  // run it themselves when they mean to.
  derived = new DerivedJobRunner(handle, derivedSchedule, app.log);
  await derived.start();
  // The report rollup (backend/src/reports/rollup.ts) is kept warm in the background.
  rollup = new ReportRollupWarmer(handle, loadMailConfig().timeZone, rollupDays, app.log);
  rollup.start();
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  console.log(`tsunagu backend: listening on http://${host}:${port} (${describeDatabase(config.database)})`);
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof DatabaseTooNewError) {
    console.error(`tsunagu backend: ${error.message}`);
  } else {
    console.error('tsunagu backend: failed to start:', error);
  }
  process.exit(1);
});
