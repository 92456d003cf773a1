import { createInterface } from 'node:readline';
import { z } from 'zod';
import type { IpcChannel, IpcRequest } from '../../../shared/ipc.js';
import type { SyncTuning } from '../sync/sync-engine.js';
import { startTestCore } from './core-harness.js';

/**
 * A core in a process of its own, for drills that kill it with SIGKILL at a chosen moment
 * (electron/core/sync/kill-drills.test.ts). It speaks JSON lines: every core event goes to
 * stdout as `{"event", "payload"}`, and each stdin line `{"id", "channel", "payload"}` is
 * answered with `{"id", "result"}`. Settings come from the environment:
 *   DRILL_DATA_DIR      the core's data folder (kept across kills, so a restart resumes)
 *   DRILL_BACKEND_URL   one URL or a comma-separated list of instances
 *   DRILL_SYNC_TUNING   optional JSON of SyncTuning fields (page and batch sizes)
 */

const Command = z.object({ id: z.number().int(), channel: z.string().min(1), payload: z.unknown().optional() });

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`core-process: ${name} is not set`);
  return value;
}

const tuning = z
  .record(z.string(), z.number())
  .parse(JSON.parse(process.env.DRILL_SYNC_TUNING ?? '{}')) as Partial<SyncTuning>;
const test = startTestCore({ backendUrl: required('DRILL_BACKEND_URL'), dataDir: required('DRILL_DATA_DIR'), syncTuning: tuning });

const write = (message: unknown) => process.stdout.write(`${JSON.stringify(message)}\n`);
test.core.onEvent((event, payload) => write({ event, payload }));

createInterface({ input: process.stdin }).on('line', (line) => {
  const parsed = Command.safeParse(JSON.parse(line));
  if (!parsed.success) {
    write({ error: `core-process: bad command line: ${parsed.error.message}` });
    return;
  }
  const { id, channel, payload } = parsed.data;
  void test.call(channel as IpcChannel, payload as IpcRequest<IpcChannel>).then((result) => write({ id, result }));
});

process.stdin.once('end', () => {
  void test.dispose().then(() => process.exit(0));
});
write({ ready: true });
