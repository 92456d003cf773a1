import { execFile } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { CallMeta } from '../../../shared/domain.js';
import type { DatabaseHandle } from '../db/database.js';
import { recordingsDb } from './schema.js';

const run = promisify(execFile);

/** What the demo recording says, in two parts with the operator's pause between them. */
const BEFORE_PAUSE = 'Thank you for calling Tsunagu Securities. May I have your card number, please?';
const AFTER_PAUSE = 'Thank you. Your order has been placed. Is there anything else I can help you with today?';
/** The stretch the operator paused (the card number), silent in the file. */
const PAUSE_SECONDS = 4;

export interface DemoRecording {
  recordingId: string;
  customerId: string;
  customerCode: string;
  contactId: string;
  callId: string;
  durationMs: number;
  pause: { fromMs: number; toMs: number };
}

/**
 * A real recording on a demo customer's answered call, so `npm start` shows playback in the
 * incident tree: speech made with espeak-ng, a silent pause in the middle (with the operator's
 * pause/resume marks, so the timeline shows it), encoded by sox as Ogg Vorbis (Debian's sox
 * cannot write MP3), stored in the recordings folder with its SHA-256 like the PBX's uploads.
 * The customer is classification 2, so `agent1` hears it and `agent2` (authority 3) gets 403.
 * Returns `{ skipped }` with the reason when espeak-ng or sox is missing: the rest of the demo works.
 */
export async function seedDemoRecording(handle: DatabaseHandle, tenant: { id: string }, dir: string): Promise<DemoRecording | { skipped: string }> {
  const db = recordingsDb(handle.db);
  const agent = await db.selectFrom('users').select('id').where('tenant_id', '=', tenant.id).where('login', '=', 'agent1').executeTakeFirst();
  const candidates = await db
    .selectFrom('contacts as k')
    .innerJoin('customers as c', 'c.id', 'k.customer_id')
    .select(['k.id', 'k.customer_id', 'k.call_meta', 'c.code'])
    .where('k.tenant_id', '=', tenant.id)
    .where('k.kind', '=', 'call')
    .where('k.direction', '=', 'inbound')
    .where('c.classification', '=', 2)
    .orderBy('c.code')
    .orderBy('k.occurred_at', 'desc')
    .limit(200)
    .execute();
  const contact = candidates
    .map((row) => ({ row, meta: row.call_meta === null ? null : CallMeta.safeParse(JSON.parse(row.call_meta)) }))
    .find(({ meta }) => meta?.success === true && meta.data.callId !== undefined && (meta.data.answeredAt ?? null) !== null);
  if (!agent || !contact?.meta?.success) return { skipped: 'no answered call of a classification-2 customer in the demo data' };
  const meta = contact.meta.data;

  const work = await mkdtemp(path.join(os.tmpdir(), 'tsunagu-demo-recording-'));
  try {
    const parts = [path.join(work, 'a.wav'), path.join(work, 'silence.wav'), path.join(work, 'b.wav')];
    const encoded = path.join(work, 'call.ogg');
    try {
      await run('espeak-ng', ['-v', 'en-us', '-s', '150', '-w', parts[0]!, BEFORE_PAUSE]);
      await run('espeak-ng', ['-v', 'en-us', '-s', '150', '-w', parts[2]!, AFTER_PAUSE]);
      await run('sox', ['-n', '-r', '22050', '-c', '1', '-b', '16', parts[1]!, 'trim', '0', String(PAUSE_SECONDS)]);
      await run('sox', [...parts, '-r', '16000', '-c', '1', encoded]);
    } catch (error) {
      return { skipped: `espeak-ng or sox could not make the audio (${error instanceof Error ? error.message.split('\n')[0] : String(error)})` };
    }
    const firstMs = Math.round(Number((await run('soxi', ['-D', parts[0]!])).stdout.trim()) * 1000);
    const durationMs = Math.round(Number((await run('soxi', ['-D', encoded])).stdout.trim()) * 1000);
    const audio = await readFile(encoded);
    const id = randomUUID();
    const fileName = `${id}.ogg`;
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFile(path.join(dir, fileName), audio, { mode: 0o600 });
    const startedAt = meta.answeredAt!;
    const startedMs = Date.parse(startedAt);
    const pause = { fromMs: firstMs, toMs: firstMs + PAUSE_SECONDS * 1000 };
    await db.transaction().execute(async (trx) => {
      await trx
        .insertInto('recordings')
        .values({
          id,
          tenant_id: tenant.id,
          call_id: meta.callId!,
          customer_id: contact.row.customer_id,
          file_name: fileName,
          mime_type: 'audio/ogg',
          sha256: createHash('sha256').update(audio).digest('hex'),
          size_bytes: audio.length,
          duration_ms: durationMs,
          started_at: startedAt,
          created_at: new Date().toISOString(),
        })
        .execute();
      for (const [action, ms] of [
        ['pause', pause.fromMs],
        ['resume', pause.toMs],
      ] as const) {
        await trx
          .insertInto('recording_marks')
          .values({ id: randomUUID(), tenant_id: tenant.id, call_id: meta.callId!, action, user_id: agent.id, at: new Date(startedMs + ms).toISOString() })
          .execute();
      }
    });
    return { recordingId: id, customerId: contact.row.customer_id, customerCode: contact.row.code, contactId: contact.row.id, callId: meta.callId!, durationMs, pause };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
