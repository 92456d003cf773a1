/**
 * The CTI relay as its own process, started by pbx.ts (`startPbx` with CTI options). Its
 * settings come from the environment, the token included, so that it never shows in `ps`.
 */
import { writeFileSync } from 'node:fs';
import { z } from 'zod';
import { describeZodError } from '../../shared/validation.js';
import { startCtiRelay } from './relay.js';

const envSchema = z.object({
  TSUNAGU_CTI_RELAY_PORT: z.coerce.number().int().min(1).max(65535),
  TSUNAGU_CTI_RELAY_BACKEND_URL: z.string().regex(/^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?$/, 'must look like http://HOST[:PORT]'),
  TSUNAGU_CTI_RELAY_TOKEN: z.string().min(16, 'must be the PBX\'s CTI token'),
  TSUNAGU_CTI_RELAY_BUDGET_MS: z.coerce.number().int().min(50).max(5000),
  TSUNAGU_CTI_RELAY_SPOOL: z.string().min(1, 'must name the spool file'),
  TSUNAGU_CTI_RELAY_PID_FILE: z.string().min(1).optional(),
  TSUNAGU_CTI_RELAY_SPOOL_MAX_EVENTS: z.coerce.number().int().min(1).optional(),
  TSUNAGU_CTI_RELAY_SPOOL_MAX_AGE_MS: z.coerce.number().int().min(1000).optional(),
});

const log = (line: string): void => {
  process.stdout.write(`${new Date().toISOString()} cti-relay: ${line}\n`);
};

const parsed = envSchema.safeParse(process.env);
if (!parsed.success) {
  log(`invalid environment: ${describeZodError(parsed.error)}`);
  process.exit(2);
}
const env = parsed.data;
const relay = await startCtiRelay({
  port: env.TSUNAGU_CTI_RELAY_PORT,
  backendUrl: env.TSUNAGU_CTI_RELAY_BACKEND_URL,
  token: env.TSUNAGU_CTI_RELAY_TOKEN,
  routingBudgetMs: env.TSUNAGU_CTI_RELAY_BUDGET_MS,
  spoolFile: env.TSUNAGU_CTI_RELAY_SPOOL,
  spoolLimits: {
    ...(env.TSUNAGU_CTI_RELAY_SPOOL_MAX_EVENTS !== undefined ? { maxEvents: env.TSUNAGU_CTI_RELAY_SPOOL_MAX_EVENTS } : {}),
    ...(env.TSUNAGU_CTI_RELAY_SPOOL_MAX_AGE_MS !== undefined ? { maxAgeMs: env.TSUNAGU_CTI_RELAY_SPOOL_MAX_AGE_MS } : {}),
  },
  log,
});
if (env.TSUNAGU_CTI_RELAY_PID_FILE !== undefined) writeFileSync(env.TSUNAGU_CTI_RELAY_PID_FILE, `${process.pid}\n`, { mode: 0o600 });
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    void relay.stop().then(() => process.exit(0));
  });
}
