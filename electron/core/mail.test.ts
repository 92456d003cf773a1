import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { IpcChannel, IpcEvent, IpcEventPayload, IpcRequest, IpcResult } from '../../shared/ipc.js';
import type { Result } from '../../shared/result.js';
import { buildApp } from '../../backend/src/app.js';
import { startMailBackend, type MailTestBackend } from '../../backend/src/mail/test-support/mail-backend.js';
import { DEMO_PASSWORD } from '../../backend/src/testing/fixtures.js';
import { FileCacheKeyStore } from './cache/cache-keys.js';
import { createCore, type Core } from './core.js';
import { createMemoryLogger } from './logger.js';
import { MAIL_DRAFTS_FILE, MailDraftStore } from './mail-drafts.js';
import { listenOn, TEST_SYNC_TUNING } from './testing/core-harness.js';
import { MemoryTokenStore } from './token-store.js';

/**
 * The core's mail channel against the real backend (Fastify on a loopback port, SQLite, the
 * SMTP listener): events relayed from /api/mail/events, offers, drafts kept on disk while the
 * backend is away and sent once when it is back, review, presence, and the link check.
 */

const WAIT_LIMIT_MS = 30_000;

let backend: MailTestBackend;
const apps: FastifyInstance[] = [];
const cores: MailCore[] = [];

interface MailCore {
  core: Core;
  dataDir: string;
  events: { event: IpcEvent; payload: unknown }[];
  value<C extends IpcChannel>(channel: C, payload: IpcRequest<C>): Promise<IpcResult<C>>;
  call<C extends IpcChannel>(channel: C, payload: IpcRequest<C>): Promise<Result<IpcResult<C>>>;
  /** The first event of this kind (already received or still to come) that matches. */
  event<E extends IpcEvent>(event: E, match: (payload: IpcEventPayload<E>) => boolean): Promise<IpcEventPayload<E>>;
}

beforeAll(async () => {
  backend = await startMailBackend('sqlite');
});

afterEach(async () => {
  for (const { core, dataDir } of cores.splice(0)) {
    await core.dispose();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  for (const app of apps.splice(0)) await app.close();
});

afterAll(async () => {
  await backend?.dispose();
});

async function serve(port = 0): Promise<{ app: FastifyInstance; url: string; port: number }> {
  const app = buildApp({ db: backend.handle, config: backend.config });
  apps.push(app);
  const bound = await listenOn(app, port);
  return { app, url: `http://127.0.0.1:${bound}`, port: bound };
}

function mailCore(backendUrl: string): MailCore {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsunagu-mail-core-'));
  const core = createCore({
    dataDir,
    backendUrl,
    tokenStore: new MemoryTokenStore(),
    cacheKeys: new FileCacheKeyStore(),
    logger: createMemoryLogger(),
    syncTuning: TEST_SYNC_TUNING,
    mailTuning: { backoff: { initialMs: 20, maxMs: 200 } },
  });
  const events: MailCore['events'] = [];
  const waiters = new Set<() => void>();
  core.onEvent((event, payload) => {
    events.push({ event, payload });
    for (const waiter of [...waiters]) waiter();
  });
  const call = <C extends IpcChannel>(channel: C, payload: IpcRequest<C>) => core.invoke(channel, payload) as Promise<Result<IpcResult<C>>>;
  const handle: MailCore = {
    core,
    dataDir,
    events,
    call,
    async value(channel, payload) {
      const result = await call(channel, payload);
      if (!result.ok) throw new Error(`${channel} failed: ${result.error.code}: ${result.error.message}`);
      return result.value;
    },
    event(event, match) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = events.find((e) => e.event === event && match(e.payload as IpcEventPayload<typeof event>));
          if (!found) return false;
          clearTimeout(limit);
          waiters.delete(check);
          resolve(found.payload as IpcEventPayload<typeof event>);
          return true;
        };
        const limit = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no ${event} event came; events: ${events.map((e) => e.event).join(', ')}`));
        }, WAIT_LIMIT_MS);
        if (!check()) waiters.add(check);
      });
    },
  };
  cores.push(handle);
  return handle;
}

async function presenceOf(login: string): Promise<string | undefined> {
  const row = await backend.db
    .selectFrom('agent_presence as p')
    .innerJoin('users as u', 'u.id', 'p.user_id')
    .select('p.status')
    .where('u.login', '=', login)
    .where('u.tenant_id', '=', backend.demo.tenant.id)
    .executeTakeFirst();
  return row?.status;
}

describe('the mail channel of the core', () => {
  it('relays queue events, offers the mail, keeps an offline draft on disk and sends it once when the backend is back', async () => {
    const { app, url, port } = await serve();
    const operator = mailCore(url);
    await operator.value('session:login', { tenant: 'demo', login: 'agent', password: DEMO_PASSWORD });
    await expect.poll(() => presenceOf('agent'), { timeout: WAIT_LIMIT_MS }).toBe('available');
    expect(await operator.value('mail:offerNext', undefined)).toMatchObject({ status: 'none', mail: null });

    const stamp = Date.now();
    await backend.deliver({
      from: `Kenji Tanaka <kenji.${stamp}@example.net>`,
      to: backend.mail.supportAddress,
      subject: `Parcel ${stamp}`,
      text: 'Where is my parcel?',
      messageId: `<parcel-${stamp}@example.net>`,
    });
    await operator.event('mail:queue', (queue) => queue.waiting >= 1);
    const offer = await operator.value('mail:offerNext', undefined);
    expect(offer).toMatchObject({ status: 'offered', mail: { subject: `Parcel ${stamp}`, customerName: 'Kenji Tanaka' } });
    const mailId = offer.mail!.id;
    const templates = await operator.value('mail:templates', undefined);
    expect(templates.map((t) => t.name)).toContain('Reply (English)');

    // The backend goes away: the draft stays on this computer, submitting says offline.
    await app.close();
    const replyId = crypto.randomUUID();
    const saved = await operator.value('reply:save', { replyId, mailId, body: 'Your parcel left today.' });
    expect(saved.reply).toBeNull();
    expect(saved.local).toMatchObject({ replyId, mailId, body: 'Your parcel left today.', error: null });
    await operator.value('reply:save', { replyId, body: 'Your parcel left our warehouse today.' });
    expect(await operator.value('reply:localDrafts', undefined)).toMatchObject([{ replyId, mailId, body: 'Your parcel left our warehouse today.' }]);
    const userDir = path.join(operator.dataDir, backend.demo.tenant.id);
    const draftsFile = fs.readdirSync(userDir, { recursive: true, withFileTypes: true }).find((entry) => entry.name === MAIL_DRAFTS_FILE);
    expect(draftsFile, 'the drafts database beside the cache').toBeTruthy();
    const submitOffline = await operator.call('reply:submit', { replyId });
    expect(submitOffline).toMatchObject({ ok: false, error: { code: 'offline' } });

    // Back on the same port: the event stream reconnects and the draft goes, once.
    await serve(port);
    await operator.event('mail:localDrafts', (payload) => payload.drafts.length === 0);
    const stored = await backend.db.selectFrom('mail_replies').selectAll().where('mail_id', '=', mailId).execute();
    expect(stored.map((row) => [row.id, row.state, row.body])).toEqual([[replyId, 'draft', 'Your parcel left our warehouse today.']]);
    const submitted = await operator.value('reply:submit', { replyId });
    expect(submitted).toMatchObject({ id: replyId, state: 'pending_review', subject: expect.stringMatching(/^Re: Parcel \d+ \[#INC-\d+-[0-9A-Z]{8}\]$/) });
    expect(await operator.value('reply:myReplies', { state: 'pending_review' })).toMatchObject([{ id: replyId }]);
  });

  it('gives supervisors the pushed summary and the review queue; approval needs the backend', async () => {
    const { app, url } = await serve();
    const operator = mailCore(url);
    const supervisor = mailCore(url);
    await operator.value('session:login', { tenant: 'demo', login: 'agent', password: DEMO_PASSWORD });
    await supervisor.value('session:login', { tenant: 'demo', login: 'supervisor', password: DEMO_PASSWORD });
    const first = await supervisor.event('supervisor:summary', () => true);
    expect(first.today.hours).toHaveLength(24);

    const stamp = Date.now();
    await backend.deliver({ from: `aiko.${stamp}@example.net`, to: backend.mail.supportAddress, subject: `Refund ${stamp}`, text: 'Please refund.' });
    await operator.event('mail:queue', (queue) => queue.waiting >= 1);
    const offer = await operator.value('mail:offerNext', undefined);
    const replyId = crypto.randomUUID();
    await operator.value('reply:save', { replyId, mailId: offer.mail!.id, templateId: backend.mail.templateIds[1]! });
    const submitted = await operator.value('reply:submit', { replyId });
    expect(submitted.body).toContain('Dear');

    const pending = await supervisor.event('supervisor:summary', (summary) => summary.mails.pendingReview >= 1);
    expect(pending.agents.find((agent) => agent.displayName === '鈴木 一郎')?.status).toBe('available');
    const queue = await supervisor.value('review:queue', undefined);
    const item = queue.find((entry) => entry.reply.id === replyId)!;
    expect(item.mail?.subject).toBe(`Refund ${stamp}`);
    expect(item.contacts.map((contact) => contact.kind)).toContain('email');

    expect(await operator.call('review:approve', { replyId })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    await app.close();
    expect(await supervisor.call('review:approve', { replyId })).toMatchObject({ ok: false, error: { code: 'offline' } });
  });

  it('sets the operator offline at logout', async () => {
    const { url } = await serve();
    const operator = mailCore(url);
    await operator.value('session:login', { tenant: 'demo', login: 'agent', password: DEMO_PASSWORD });
    await expect.poll(() => presenceOf('agent'), { timeout: WAIT_LIMIT_MS }).toBe('available');
    await operator.value('session:logout', undefined);
    expect(await presenceOf('agent')).toBe('offline');
  });

  it('opens only http(s) and mailto links', async () => {
    const { url } = await serve();
    const core = mailCore(url);
    expect(await core.value('shell:openExternal', { url: 'https://example.com/a b' })).toEqual({ url: 'https://example.com/a%20b', opened: false });
    expect(await core.value('shell:openExternal', { url: 'mailto:help@example.com' })).toEqual({ url: 'mailto:help@example.com', opened: false });
    for (const bad of ['javascript:alert(1)', 'data:text/html,x', 'file:///etc/passwd', '/relative', 'http://']) {
      expect(await core.call('shell:openExternal', { url: bad }), bad).toMatchObject({ ok: false, error: { code: 'invalid_input', message: expect.stringContaining('url') } });
    }
  });
});

describe('MailDraftStore', () => {
  it('merges saves of the same reply, removes only the revision that was sent, and keeps refusals', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsunagu-drafts-'));
    try {
      const store = new MailDraftStore(dir);
      const first = store.save('r1', { mailId: 'm1', body: 'one' }, '2024-05-01T00:00:00.000Z');
      const second = store.save('r1', { subject: 'Re: x' }, '2024-05-01T00:01:00.000Z');
      expect(second.request).toEqual({ mailId: 'm1', body: 'one', subject: 'Re: x' });
      store.sent('r1', first.revision);
      expect(store.waiting().map((d) => d.replyId)).toEqual(['r1']);
      store.refused('r1', second.revision, 'conflict: the reply is pending_review');
      expect(store.waiting()).toEqual([]);
      expect(store.all()).toMatchObject([{ replyId: 'r1', error: 'conflict: the reply is pending_review' }]);
      store.save('r1', { body: 'two' }, '2024-05-01T00:02:00.000Z');
      expect(store.all()).toMatchObject([{ body: 'two', error: null }]);
      store.close();

      const reopened = new MailDraftStore(dir);
      expect(reopened.all()).toMatchObject([{ replyId: 'r1', body: 'two' }]);
      reopened.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a drafts file written by a newer app, and leaves it alone', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsunagu-drafts-'));
    try {
      const { default: Database } = await import('better-sqlite3');
      const db = new Database(path.join(dir, MAIL_DRAFTS_FILE));
      db.pragma('user_version = 99');
      db.close();
      expect(() => new MailDraftStore(dir)).toThrow(/newer version/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
