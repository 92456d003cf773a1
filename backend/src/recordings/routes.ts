import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform, type Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { CallMeta, Id } from '../../../shared/domain.js';
import { maySeeCustomer } from '../../../shared/permissions.js';
import {
  CtiRecordingCommandQuery,
  LegalHoldRequest,
  RECORDING_API,
  RecorderHealth,
  RecordingControlRequest,
  RecordingIngestQuery,
  RecordingListQuery,
  RecordingSettings,
  RecordingTicketRequest,
  type CallRecordingState,
  type CtiRecordingCommand,
  type Recording,
  type RecordingIngestResponse,
  type RecordingListResponse,
  type RecordingTicketResponse,
} from '../../../shared/recordings.js';
import { recordAudit } from '../audit.js';
import type { BackendContext } from '../context.js';
import type { Database } from '../db/schema.js';
import { HttpError, parseRequest } from '../http/errors.js';
import { assertServes, pbxOfToken, type CtiPbx } from '../telephony/cti-access.js';
import { recordingsDb, type RecordingRow, type RecordingsDatabase } from './schema.js';
import {
  addMark,
  callRecordingState,
  isPaused,
  loadRecordingSettings,
  policyKeeps,
  saveRecordingSettings,
  sweepExpiredRecordings,
  toRecording,
} from './store.js';

/** A playback ticket lives this long: long enough to start playing, too short to share. */
const TICKET_TTL_MS = 5 * 60_000;
/** Largest recording the PBX may upload (about 9 hours of 64 kbit/s MP3). */
export const MAX_RECORDING_BYTES = 256 * 1024 * 1024;

const IdParams = z.object({ id: Id });
const TicketQuery = z.object({ ticket: z.string().regex(/^[A-Za-z0-9_-]{20,100}$/, 'must be a playback ticket') });

function sha256Hex(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

/** The customer's rights for maySeeCustomer, or null when there is no such customer. */
async function customerRights(db: Kysely<RecordingsDatabase>, tenantId: string, customerId: string) {
  const row = await db.selectFrom('customers').select(['classification', 'branch']).where('tenant_id', '=', tenantId).where('id', '=', customerId).executeTakeFirst();
  return row ? { classification: row.classification as 1 | 2 | 3, branch: row.branch } : null;
}

/** Refuses (403) a recording whose customer the user may not see; a recording of no known customer is for supervisors and admins. */
async function assertMaySee(db: Kysely<RecordingsDatabase>, request: FastifyRequest, customerId: string | null): Promise<void> {
  const { user, tenant } = request.auth;
  if (customerId === null) {
    if (user.role === 'agent') throw new HttpError('forbidden', 'recordings of calls without a customer are for supervisors');
    return;
  }
  const rights = await customerRights(db, tenant.id, customerId);
  if (!rights || !maySeeCustomer(user, rights)) throw new HttpError('forbidden', 'you may not see this customer');
}

async function recordingRow(db: Kysely<RecordingsDatabase>, tenantId: string, id: string): Promise<RecordingRow> {
  const row = await db.selectFrom('recordings').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
  if (!row) throw new HttpError('not_found', 'no such recording');
  return row;
}

/** Staff routes: listing by contact, playback tickets, legal hold, settings, the call card's control. */
export function registerRecordingRoutes(app: FastifyInstance, ctx: BackendContext): void {
  const db = recordingsDb(ctx.handle.db);

  app.get(RECORDING_API.list, async (request): Promise<RecordingListResponse> => {
    const { contactId } = parseRequest(RecordingListQuery, request.query, 'query');
    const { tenant } = request.auth;
    const contact = await db
      .selectFrom('contacts')
      .select(['customer_id', 'call_meta'])
      .where('tenant_id', '=', tenant.id)
      .where('id', '=', contactId)
      .executeTakeFirst();
    if (!contact) throw new HttpError('not_found', 'no such contact');
    await assertMaySee(db, request, contact.customer_id);
    const callIds = new Set<string>();
    if (contact.call_meta !== null) {
      const meta = CallMeta.safeParse(JSON.parse(contact.call_meta));
      if (meta.success && meta.data.callId) callIds.add(meta.data.callId);
    }
    const logged = await db.selectFrom('calls').select('external_id').where('tenant_id', '=', tenant.id).where('call_log_contact_id', '=', contactId).execute();
    for (const row of logged) if (row.external_id) callIds.add(row.external_id);
    if (callIds.size === 0) return { recordings: [] };
    const rows = await db
      .selectFrom('recordings')
      .selectAll()
      .where('tenant_id', '=', tenant.id)
      .where('call_id', 'in', [...callIds])
      .orderBy('started_at')
      .execute();
    const recordings: Recording[] = [];
    for (const row of rows) recordings.push(await toRecording(db, row));
    return { recordings };
  });

  app.post(RECORDING_API.ticket, async (request): Promise<RecordingTicketResponse> => {
    const { id } = parseRequest(IdParams, request.params, 'params');
    const { purpose } = parseRequest(RecordingTicketRequest, request.body ?? {}, 'body');
    const { user, tenant } = request.auth;
    const row = await recordingRow(db, tenant.id, id);
    await assertMaySee(db, request, row.customer_id);
    const ticket = randomBytes(24).toString('base64url');
    const expiresAt = new Date(Date.now() + TICKET_TTL_MS).toISOString();
    await db
      .insertInto('recording_tickets')
      .values({ token_hash: sha256Hex(ticket), tenant_id: tenant.id, recording_id: id, user_id: user.id, purpose, expires_at: expiresAt, used_at: null })
      .execute();
    return { path: `${RECORDING_API.audio.replace(':id', id)}?ticket=${ticket}`, expiresAt };
  });

  app.put(RECORDING_API.legalHold, async (request): Promise<Recording> => {
    const { id } = parseRequest(IdParams, request.params, 'params');
    const body = parseRequest(LegalHoldRequest, request.body, 'body');
    const { user, tenant } = request.auth;
    if (user.role === 'agent') throw new HttpError('forbidden', 'legal hold is for supervisors and admins');
    const row = await recordingRow(db, tenant.id, id);
    await assertMaySee(db, request, row.customer_id);
    await db.transaction().execute(async (trx) => {
      await trx
        .updateTable('recordings')
        .set({ legal_hold: body.hold ? 1 : 0, legal_hold_reason: body.hold ? body.reason : null })
        .where('id', '=', id)
        .execute();
      await recordAudit(trx as unknown as Kysely<Database>, {
        tenantId: tenant.id,
        userId: user.id,
        action: 'recording_legal_hold',
        customerId: row.customer_id,
        details: { recordingId: id, hold: body.hold, reason: body.reason },
      });
    });
    return toRecording(db, await recordingRow(db, tenant.id, id));
  });

  app.get(RECORDING_API.settings, async (request): Promise<RecordingSettings> => loadRecordingSettings(db, request.auth.tenant.id));

  app.put(RECORDING_API.settings, async (request): Promise<RecordingSettings> => {
    const settings = parseRequest(RecordingSettings, request.body, 'body');
    const { user, tenant } = request.auth;
    if (user.role !== 'admin') throw new HttpError('forbidden', 'only admins change the recording policy');
    await saveRecordingSettings(db, tenant.id, settings);
    await recordAudit(ctx.handle.db, { tenantId: tenant.id, userId: user.id, action: 'recording_settings_changed', details: settings });
    return settings;
  });

  app.get(RECORDING_API.callState, async (request): Promise<CallRecordingState> => {
    const { callId } = parseRequest(z.object({ callId: z.string().trim().min(1).max(200) }), request.query, 'query');
    return callRecordingState(db, request.auth.tenant.id, callId);
  });

  app.post(RECORDING_API.control, async (request): Promise<CallRecordingState> => {
    const body = parseRequest(RecordingControlRequest, request.body, 'body');
    const { user, tenant } = request.auth;
    const leg = await db
      .selectFrom('calls')
      .select(['customer_id', 'status'])
      .where('tenant_id', '=', tenant.id)
      .where('external_id', '=', body.callId)
      .where('agent_id', '=', user.id)
      .executeTakeFirst();
    if (!leg) throw new HttpError('forbidden', 'callId: not a call of yours');
    const paused = await isPaused(db, tenant.id, body.callId);
    if (body.action === 'pause' && paused) throw new HttpError('conflict', 'the recording is already paused');
    if (body.action === 'resume' && !paused) throw new HttpError('conflict', 'the recording is not paused');
    await addMark(db, tenant.id, body.callId, body.action, user.id);
    const action = body.action === 'pause' ? 'recording_paused' : body.action === 'resume' ? 'recording_resumed' : 'recording_requested';
    await recordAudit(ctx.handle.db, { tenantId: tenant.id, userId: user.id, action, customerId: leg.customer_id, details: { callId: body.callId } });
    return callRecordingState(db, tenant.id, body.callId);
  });
}

function parseRange(header: string | undefined, size: number): { start: number; end: number } | null | 'invalid' {
  if (header === undefined) return null;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return 'invalid';
  let start: number;
  let end: number;
  if (match[1] === '') {
    start = Math.max(0, size - Number(match[2]));
    end = size - 1;
  } else {
    start = Number(match[1]);
    end = match[2] === '' ? size - 1 : Math.min(size - 1, Number(match[2]));
  }
  if (start > end || start >= size) return 'invalid';
  return { start, end };
}

/**
 * GET the audio with a playback ticket (an <audio> element cannot send the bearer token). The
 * ticket is checked again against the user's current rights, and its first use is audited as
 * a playback or a download; the range requests a player makes while seeking are not.
 */
export function registerRecordingAudioRoute(app: FastifyInstance, ctx: BackendContext): void {
  const db = recordingsDb(ctx.handle.db);
  app.get(RECORDING_API.audio, async (request: FastifyRequest, reply: FastifyReply) => {
    const { id } = parseRequest(IdParams, request.params, 'params');
    const { ticket } = parseRequest(TicketQuery, request.query, 'query');
    const now = new Date().toISOString();
    const found = await db
      .selectFrom('recording_tickets as t')
      .innerJoin('users as u', 'u.id', 't.user_id')
      .select(['t.tenant_id', 't.user_id', 't.purpose', 't.expires_at', 't.used_at', 'u.role', 'u.branch', 'u.customer_limit_authority', 'u.disabled'])
      .where('t.token_hash', '=', sha256Hex(ticket))
      .where('t.recording_id', '=', id)
      .executeTakeFirst();
    if (!found || found.expires_at < now || found.disabled !== 0) throw new HttpError('unauthenticated', 'ticket: expired or unknown; ask for a new one');
    const row = await recordingRow(db, found.tenant_id, id);
    if (row.customer_id !== null) {
      const rights = await customerRights(db, found.tenant_id, row.customer_id);
      const viewer = { role: found.role, branch: found.branch, customerLimitAuthority: found.customer_limit_authority } as Parameters<typeof maySeeCustomer>[0];
      if (!rights || !maySeeCustomer(viewer, rights)) throw new HttpError('forbidden', 'you may not see this customer');
    } else if (found.role === 'agent') {
      throw new HttpError('forbidden', 'recordings of calls without a customer are for supervisors');
    }
    if (found.used_at === null) {
      const claimed = await db.updateTable('recording_tickets').set({ used_at: now }).where('token_hash', '=', sha256Hex(ticket)).where('used_at', 'is', null).executeTakeFirst();
      if (Number(claimed.numUpdatedRows) > 0) {
        await recordAudit(ctx.handle.db, {
          tenantId: found.tenant_id,
          userId: found.user_id,
          action: found.purpose === 'download' ? 'recording_downloaded' : 'recording_played',
          customerId: row.customer_id,
          details: { recordingId: id, callId: row.call_id },
        });
      }
    }
    const file = path.join(ctx.config.recordings.dir, row.file_name);
    const size = (await stat(file)).size;
    const range = parseRange(request.headers.range, size);
    // The ticket in the URL is the credential (no cookie, no bearer): any origin holding it may
    // read the bytes, which the app's player needs to draw the waveform (WebAudio) from its own origin.
    void reply
      .header('Accept-Ranges', 'bytes')
      .header('Content-Type', row.mime_type)
      .header('Cache-Control', 'private, no-store')
      .header('Access-Control-Allow-Origin', '*')
      .header('Access-Control-Expose-Headers', 'Content-Range, Content-Length, Accept-Ranges');
    if (found.purpose === 'download') void reply.header('Content-Disposition', `attachment; filename="recording-${id}${path.extname(row.file_name) || '.mp3'}"`);
    if (range === 'invalid') return reply.status(416).header('Content-Range', `bytes */${size}`).send();
    if (range === null) return reply.header('Content-Length', size).send(createReadStream(file));
    return reply
      .status(206)
      .header('Content-Range', `bytes ${range.start}-${range.end}/${size}`)
      .header('Content-Length', range.end - range.start + 1)
      .send(createReadStream(file, { start: range.start, end: range.end }));
  });
}

/** The PBX side: finished files, the operator's pause as a command, and the recorder's health. */
export function registerRecordingCtiRoutes(app: FastifyInstance, ctx: BackendContext): void {
  const db = recordingsDb(ctx.handle.db);
  app.register(async (scope) => {
    const callerOf = new WeakMap<FastifyRequest, CtiPbx>();
    scope.addHook('onRequest', async (request) => {
      const match = /^Bearer\s+(\S{1,512})$/i.exec(request.headers.authorization ?? '');
      const pbx = match?.[1] ? pbxOfToken(ctx.config.telephony.ctiPbxes, match[1]) : null;
      if (!pbx) throw new HttpError('unauthenticated', 'missing or wrong Authorization: Bearer <CTI token of this PBX>');
      callerOf.set(request, pbx);
    });
    const pbxOf = (request: FastifyRequest): CtiPbx => {
      const pbx = callerOf.get(request);
      if (!pbx) throw new Error('recording CTI route reached without an authenticated PBX');
      return pbx;
    };
    const tenantIdOf = async (slug: string): Promise<string> => {
      const row = await db.selectFrom('tenants').select('id').where('slug', '=', slug).executeTakeFirst();
      if (!row) throw new HttpError('not_found', 'tenant: no such tenant');
      return row.id;
    };
    // The audio arrives as the raw body; it is streamed to disk, never held in memory.
    scope.addContentTypeParser(['audio/mpeg', 'application/octet-stream'], (_request, payload, done) => done(null, payload));

    scope.post(RECORDING_API.ctiIngest, async (request): Promise<RecordingIngestResponse> => {
      const query = parseRequest(RecordingIngestQuery, request.query, 'query');
      const pbx = pbxOf(request);
      assertServes(pbx, query.tenant);
      const body = request.body as Readable | undefined;
      if (!body || typeof (body as Readable).pipe !== 'function') throw new HttpError('invalid_input', 'body: must be the audio (Content-Type: audio/mpeg)');
      const tenantId = await tenantIdOf(query.tenant);
      const decision = await policyKeeps(db, tenantId, query);
      if (!decision.keep) {
        body.resume();
        return { kept: false, id: null, reason: decision.reason };
      }
      const dir = ctx.config.recordings.dir;
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const id = randomUUID();
      const fileName = `${id}.mp3`;
      const partial = path.join(dir, `${fileName}.part`);
      const hash = createHash('sha256');
      let size = 0;
      const counter = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          size += chunk.length;
          if (size > MAX_RECORDING_BYTES) return callback(new HttpError('invalid_input', `body: larger than ${MAX_RECORDING_BYTES} bytes`));
          hash.update(chunk);
          callback(null, chunk);
        },
      });
      try {
        await pipeline(body, counter, createWriteStream(partial, { mode: 0o600 }));
      } catch (error) {
        await rm(partial, { force: true });
        throw error;
      }
      if (size === 0) {
        await rm(partial, { force: true });
        throw new HttpError('invalid_input', 'body: the recording is empty');
      }
      await rename(partial, path.join(dir, fileName));
      const customer = await db
        .selectFrom('calls')
        .select('customer_id')
        .where('tenant_id', '=', tenantId)
        .where('external_id', '=', query.callId)
        .where('customer_id', 'is not', null)
        .executeTakeFirst();
      const sha256 = hash.digest('hex');
      await db.transaction().execute(async (trx) => {
        await trx
          .insertInto('recordings')
          .values({
            id,
            tenant_id: tenantId,
            call_id: query.callId,
            customer_id: customer?.customer_id ?? null,
            file_name: fileName,
            mime_type: 'audio/mpeg',
            sha256,
            size_bytes: size,
            duration_ms: query.durationMs,
            started_at: query.startedAt,
            created_at: new Date().toISOString(),
          })
          .execute();
        await recordAudit(trx as unknown as Kysely<Database>, {
          tenantId,
          userId: null,
          action: 'recording_stored',
          customerId: customer?.customer_id ?? null,
          details: { recordingId: id, callId: query.callId, sha256, sizeBytes: size, pbx: pbx.id },
        });
      });
      return { kept: true, id, reason: decision.reason };
    });

    scope.get(RECORDING_API.ctiCommand, async (request): Promise<CtiRecordingCommand> => {
      const query = parseRequest(CtiRecordingCommandQuery, request.query, 'query');
      assertServes(pbxOf(request), query.tenant);
      return { paused: await isPaused(db, await tenantIdOf(query.tenant), query.callId) };
    });

    scope.post(RECORDING_API.ctiHealth, async (request): Promise<{ ok: true }> => {
      const body = parseRequest(RecorderHealth, request.body, 'body');
      const pbx = pbxOf(request);
      assertServes(pbx, body.tenant);
      const tenantId = await tenantIdOf(body.tenant);
      const values = { ok: body.ok ? 1 : 0, detail: body.detail, reported_at: new Date().toISOString() };
      await db
        .insertInto('recorder_health')
        .values({ tenant_id: tenantId, pbx_id: pbx.id, ...values })
        .onConflict((oc) => oc.columns(['tenant_id', 'pbx_id']).doUpdateSet(values))
        .execute();
      return { ok: true };
    });
  });
}

/** Runs the retention job every `retentionSweepMinutes` while the app is up. */
export function scheduleRetention(app: FastifyInstance, ctx: BackendContext): void {
  const minutes = ctx.config.recordings.retentionSweepMinutes;
  if (minutes === 0) return;
  let timer: NodeJS.Timeout | undefined;
  const sweep = () => {
    sweepExpiredRecordings(recordingsDb(ctx.handle.db), ctx.config.recordings.dir).catch((error: unknown) => app.log.warn({ err: error }, 'recording retention sweep failed'));
  };
  app.addHook('onReady', () => {
    timer = setInterval(sweep, minutes * 60_000);
    timer.unref();
    sweep();
  });
  app.addHook('onClose', () => clearInterval(timer));
}
