// A mail sender alone in its own process, configured by the environment like the backend
// (DATABASE_URL or TSUNAGU_DB_PATH, TSUNAGU_SMTP_RELAY_URL, TSUNAGU_MAIL_*). The sender
// tests kill it with SIGKILL at chosen moments to prove that a crash never sends twice.
import { loadConfig } from '../../config.js';
import { openDatabase } from '../../db/database.js';
import { loadMailConfig } from '../config.js';
import { MailSender } from '../sender.js';

const handle = await openDatabase(loadConfig(process.env));
const toStderr = (level: string) => (details: object, message: string) => process.stderr.write(`${level} ${message} ${JSON.stringify(details)}\n`);
const sender = new MailSender({
  handle,
  config: loadMailConfig(process.env),
  log: { info: toStderr('info'), warn: toStderr('warn'), error: toStderr('error') },
});
sender.start();
process.stdout.write('ready\n');
process.once('SIGTERM', () => {
  void sender
    .stop()
    .then(() => handle.close())
    .then(() => process.exit(0));
});
