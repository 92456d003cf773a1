import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import SQLite from 'better-sqlite3';
import nodemailer from 'nodemailer';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MAIL_API, RepliesResponse, ReplyView, SupervisorSummary } from '../../../shared/api.js';
import { openDatabase } from '../db/database.js';
import { DIALECTS } from '../testing/harness.js';
import type { MailConfig } from './config.js';
import { MailSender } from './sender.js';
import { startMailServices } from './service.js';
import { CaptureRelay, RELAY_TEST_CERT_FILE } from './test-support/capture-smtp.js';
import { startMailBackend, testMailConfig, type MailTestBackend } from './test-support/mail-backend.js';
import type { MailLogger } from './smtp-listener.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const SENDER_PROCESS = path.join(REPO_ROOT, 'backend/src/mail/test-support/sender-process.ts');
const RELAY_USER = 'relay-user';
const RELAY_PASSWORD = 'relay-pass-never-logged';

describe.each(DIALECTS)('sending replies on %s', (dialect) => {
  let backend: MailTestBackend;
  let relay: CaptureRelay;
  let config: MailConfig;
  const logged: string[] = [];
  const log: MailLogger = {
    info: (details, message) => logged.push(`${message} ${JSON.stringify(details)}`),
    warn: (details, message) => logged.push(`${message} ${JSON.stringify(details)}`),
    error: (details, message) => logged.push(`${message} ${JSON.stringify(details)}`),
  };
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    backend = await startMailBackend(dialect);
    // Credentials need TLS (config.ts): the relay offers STARTTLS with a test certificate.
    relay = new CaptureRelay({ user: RELAY_USER, pass: RELAY_PASSWORD }, { starttls: true });
    await relay.start();
    config = testMailConfig({ relayUrl: relay.url, relayCaFile: RELAY_TEST_CERT_FILE });
  });
  afterEach(async () => {
    for (const child of children.splice(0)) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await once(child, 'exit');
      }
    }
    relay.accepted.length = 0;
    relay.answers.length = 0;
    relay.dataStarted = 0;
    relay.connections = 0;
    relay.releaseConnections();
  });
  afterAll(async () => {
    await relay?.stop();
    await backend?.dispose();
  });

  const newSender = () => new MailSender({ handle: backend.handle, config, log, notifier: backend.notifier });
  const replyRow = (id: string) => backend.db.selectFrom('mail_replies').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

  /** A customer's mail, answered by the agent and approved by the supervisor. */
  const approvedReply = async (subject: string) => {
    const messageId = `${randomUUID()}@customer.example`;
    await backend.deliver({
      from: 'Hanako Customer <hanako@customer.example>',
      to: backend.mail.supportAddress,
      subject,
      text: 'Please answer.',
      messageId: `<${messageId}>`,
      references: ['<older-1@customer.example>'],
    });
    const mail = await backend.db.selectFrom('mail_messages').selectAll().where('message_id', '=', messageId).executeTakeFirstOrThrow();
    const replyId = randomUUID();
    const drafted = await backend.call('PUT', MAIL_API.reply.replace(':id', replyId), backend.tokens.agent, { mailId: mail.id, body: `Answer to ${subject}` });
    expect(drafted.statusCode, drafted.body).toBe(200);
    expect((await backend.call('POST', MAIL_API.replySubmit.replace(':id', replyId), backend.tokens.agent)).statusCode).toBe(200);
    const approved = await backend.call('POST', MAIL_API.replyApprove.replace(':id', replyId), backend.tokens.supervisor, {});
    expect(approved.statusCode, approved.body).toBe(200);
    return { mail, reply: ReplyView.parse(approved.json()) };
  };

  /** Resolves once the reply's row satisfies `done`, re-checking on every mail notification. */
  const replyBecomes = async (id: string, done: (row: Awaited<ReturnType<typeof replyRow>>) => boolean) => {
    let unsubscribe = () => undefined as void;
    try {
      await new Promise<void>((resolve, reject) => {
        const check = () => replyRow(id).then((row) => (done(row) ? resolve() : undefined), reject);
        unsubscribe = backend.notifier.subscribe(backend.demo.tenant.id, () => void check());
        void check();
      });
    } finally {
      unsubscribe();
    }
  };

  /** The sender as a separate process, for the tests that kill it. */
  const startSenderProcess = (): ChildProcess => {
    const database = backend.config.database;
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      TSUNAGU_LOG_LEVEL: 'silent',
      TSUNAGU_SMTP_RELAY_URL: relay.url,
      TSUNAGU_SMTP_RELAY_CA_FILE: RELAY_TEST_CERT_FILE,
      TSUNAGU_MAIL_POLL_SECONDS: '0.1',
      TSUNAGU_MAIL_SEND_TIMEOUT_SECONDS: String(config.sender.sendTimeoutSeconds),
      ...(database.kind === 'sqlite' ? { TSUNAGU_DB_PATH: database.path } : { DATABASE_URL: database.url }),
    };
    const child = spawn(process.execPath, ['--import', 'tsx', SENDER_PROCESS], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    return child;
  };

  const kill = async (child: ChildProcess) => {
    child.kill('SIGKILL');
    if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
  };

  /** As if the send timeout had passed since the (dead) sender's claim. */
  const ageClaim = async (id: string) => {
    const past = new Date(Date.now() - (config.sender.sendTimeoutSeconds + 1) * 1000).toISOString();
    await backend.db.updateTable('mail_replies').set({ claimed_at: past }).where('id', '=', id).execute();
  };

  it('sends an approved reply once, with our Message-ID, the thread headers and the token, and files it in the incident', async () => {
    const { mail, reply } = await approvedReply('Where is my parcel?');
    const sender = newSender();
    expect(await sender.runOnce()).toMatchObject({ sent: 1, failed: 0 });
    expect(await sender.runOnce()).toMatchObject({ sent: 0 });
    expect(relay.accepted).toHaveLength(1);

    const [sent] = relay.accepted;
    const incident = await backend.db.selectFrom('incidents').select('ref_no').where('id', '=', mail.incident_id).executeTakeFirstOrThrow();
    expect(sent!.parsed.messageId).toBe(`<${reply.messageId}>`);
    expect(sent!.parsed.inReplyTo).toBe(`<${mail.message_id}>`);
    expect(sent!.parsed.references).toEqual(['<older-1@customer.example>', `<${mail.message_id}>`]);
    expect(sent!.parsed.subject).toMatch(new RegExp(`^Re: Where is my parcel\\? \\[#INC-${incident.ref_no}-[0-9A-Z]{8}\\]$`));
    expect(sent!.parsed.from?.value[0]?.address).toBe(backend.mail.supportAddress);
    expect(sent!.parsed.text?.trim()).toBe('Answer to Where is my parcel?');
    expect(sent!.envelopeTo).toEqual(['hanako@customer.example']);
    expect(sent!.user).toBe(RELAY_USER);
    expect(sent!.authenticatedOverTls).toBe(true);
    expect(logged.join('\n')).not.toContain(RELAY_PASSWORD);

    const row = await replyRow(reply.id);
    expect(row).toMatchObject({ state: 'sent', attempts: 1, failure: null });
    const contact = await backend.db.selectFrom('contacts').selectAll().where('id', '=', row.contact_id!).executeTakeFirstOrThrow();
    expect(contact).toMatchObject({ incident_id: mail.incident_id, kind: 'email', direction: 'outbound', agent_id: backend.demo.users.agent.id });
    const change = await backend.db.selectFrom('change_log').select(['entity', 'op']).where('entity_id', '=', contact.id).execute();
    expect(change).toEqual([{ entity: 'contact', op: 'upsert' }]);

    // The customer answers our reply: it threads by our Message-ID.
    await backend.deliver({
      from: 'hanako@customer.example',
      to: backend.mail.supportAddress,
      subject: 'Re: Where is my parcel?',
      text: 'Thanks!',
      messageId: '<thanks@customer.example>',
      inReplyTo: `<${reply.messageId}>`,
    });
    const answer = await backend.db.selectFrom('mail_messages').selectAll().where('message_id', '=', 'thanks@customer.example').executeTakeFirstOrThrow();
    expect(answer).toMatchObject({ incident_id: mail.incident_id, thread_match: 'in_reply_to' });
  });

  it('retries a temporary failure (4xx) with backoff until the relay accepts it', async () => {
    const { reply } = await approvedReply('Temporary failure');
    relay.answers.push({ kind: 'reply', code: 451, message: '4.3.0 try again later' });
    const sender = newSender();
    const first = await sender.runOnce();
    expect(first.retried).toBe(1);
    // At the first failure the supervisor's live view says so, with the relay's answer.
    const summary = SupervisorSummary.parse((await backend.call('GET', MAIL_API.supervisorSummary, backend.tokens.supervisor)).json());
    expect(summary.mails.relayTrouble).toEqual({ retrying: 1, lastError: expect.stringContaining('451') });
    await backend.db.updateTable('mail_replies').set({ next_attempt_at: new Date(0).toISOString() }).where('id', '=', reply.id).execute();
    sender.start();
    try {
      await replyBecomes(reply.id, (row) => row.state === 'sent');
    } finally {
      await sender.stop();
    }
    const after = SupervisorSummary.parse((await backend.call('GET', MAIL_API.supervisorSummary, backend.tokens.supervisor)).json());
    expect(after.mails.relayTrouble).toBeNull();
    expect(relay.accepted).toHaveLength(1);
    expect(relay.dataStarted).toBeGreaterThanOrEqual(2);
    const row = await replyRow(reply.id);
    expect(row).toMatchObject({ attempts: 2, state: 'sent' });
    const audit = await backend.db
      .selectFrom('audit_events')
      .select(['action', 'details'])
      .where('details', 'like', `%"replyId":"${reply.id}"%`)
      .where('action', 'in', ['reply_sending', 'reply_retry_scheduled', 'reply_sent'])
      .orderBy('id')
      .execute();
    expect(audit.map((a) => a.action)).toEqual(['reply_sending', 'reply_retry_scheduled', 'reply_sending', 'reply_sent']);
    expect(JSON.parse(audit[1]!.details)).toMatchObject({ error: expect.stringContaining('451') });
  });

  it('marks a permanent failure (5xx) failed, shows it to supervisors, and sends it again only when one re-queues it', async () => {
    const { reply } = await approvedReply('Permanent failure');
    relay.answers.push({ kind: 'reply', code: 550, message: '5.1.1 mailbox unavailable' });
    const sender = newSender();
    expect(await sender.runOnce()).toMatchObject({ failed: 1, sent: 0 });
    expect(await sender.runOnce()).toMatchObject({ failed: 0, sent: 0 });
    expect(await replyRow(reply.id)).toMatchObject({ state: 'failed', failure: 'rejected', last_error: expect.stringContaining('550') });

    expect((await backend.call('GET', MAIL_API.failedReplies, backend.tokens.agent)).statusCode).toBe(403);
    const failed = RepliesResponse.parse((await backend.call('GET', MAIL_API.failedReplies, backend.tokens.supervisor)).json());
    expect(failed.replies.find((r) => r.id === reply.id)).toMatchObject({ failure: 'rejected', lastError: expect.stringContaining('mailbox unavailable') });

    expect((await backend.call('POST', MAIL_API.replyRequeue.replace(':id', reply.id), backend.tokens.supervisor)).statusCode).toBe(200);
    expect(await sender.runOnce()).toMatchObject({ sent: 1 });
    expect(relay.accepted.map((m) => m.parsed.messageId)).toEqual([`<${reply.messageId}>`]);
  });

  it('never lets two senders on two instances send the same reply', async () => {
    const replies = await Promise.all(['Race A', 'Race B', 'Race C', 'Race D'].map((subject) => approvedReply(subject)));
    // A second instance has its own connection pool on PostgreSQL; SQLite serves one process.
    const otherHandle = dialect === 'postgres' ? await openDatabase(backend.config) : backend.handle;
    try {
      const other = new MailSender({ handle: otherHandle, config, log });
      const outcomes = await Promise.all([newSender().runOnce(), other.runOnce(), newSender().runOnce()]);
      expect(outcomes.reduce((sum, o) => sum + o.sent, 0)).toBe(replies.length);
    } finally {
      if (otherHandle !== backend.handle) await otherHandle.close();
    }
    const sentIds = relay.accepted.map((m) => m.parsed.messageId).sort();
    expect(sentIds).toEqual(replies.map(({ reply }) => `<${reply.messageId}>`).sort());
  });

  it('as a service, receives mail and sends what a supervisor approved as soon as it is approved', async () => {
    // Polling once an hour: only the approval's notification can wake the sender in time.
    const services = await startMailServices(backend.handle, log, {
      ...config,
      inbound: { ...config.inbound, port: 0 },
      sender: { ...config.sender, pollSeconds: 3600 },
    });
    try {
      expect(services.smtp?.port).toBeGreaterThan(0);
      const transport = nodemailer.createTransport({ host: '127.0.0.1', port: services.smtp!.port, secure: false, ignoreTLS: true });
      await transport.sendMail({ from: 'svc@customer.example', to: backend.mail.supportAddress, subject: 'Via the service', text: 'Hi', messageId: '<svc-1@customer.example>' });
      transport.close();
      const mail = await backend.db.selectFrom('mail_messages').select('id').where('message_id', '=', 'svc-1@customer.example').executeTakeFirstOrThrow();
      const replyId = randomUUID();
      await backend.call('PUT', MAIL_API.reply.replace(':id', replyId), backend.tokens.agent, { mailId: mail.id, body: 'Hello from the service.' });
      await backend.call('POST', MAIL_API.replySubmit.replace(':id', replyId), backend.tokens.agent);
      const accepted = relay.next('accepted');
      expect((await backend.call('POST', MAIL_API.replyApprove.replace(':id', replyId), backend.tokens.supervisor, {})).statusCode).toBe(200);
      await accepted;
      await replyBecomes(replyId, (row) => row.state === 'sent');
    } finally {
      await services.close();
    }
    expect(relay.accepted.map((m) => m.parsed.subject)).toEqual([expect.stringMatching(/^Re: Via the service \[#INC-\d+-[0-9A-Z]{8}\]$/)]);
  });

  it('after a crash between claim and send, another sender sends the reply, once', async () => {
    const { reply } = await approvedReply('Crash before sending');
    relay.holdConnections = true;
    const connected = relay.next('connection-held');
    const child = startSenderProcess();
    await connected;
    // The dead sender had claimed the reply and connected, but nothing of the message left.
    expect(await replyRow(reply.id)).toMatchObject({ state: 'sending', transmit_started_at: null, attempts: 1 });
    await kill(child);
    relay.releaseConnections();

    await ageClaim(reply.id);
    expect(await newSender().runOnce()).toMatchObject({ recovered: 1, sent: 1 });
    expect(relay.accepted).toHaveLength(1);
    expect(relay.accepted[0]!.parsed.messageId).toBe(`<${reply.messageId}>`);
    expect(await replyRow(reply.id)).toMatchObject({ state: 'sent', attempts: 2 });
  });

  it('after a crash in the middle of DATA, never sends again on its own and tells the supervisor it may not have gone', async () => {
    const { reply } = await approvedReply('Crash during DATA');
    relay.answers.push({ kind: 'hold' });
    const held = relay.nextHeld();
    const child = startSenderProcess();
    await held;
    expect((await replyRow(reply.id)).transmit_started_at).not.toBeNull();
    await kill(child);

    await ageClaim(reply.id);
    expect(await newSender().runOnce()).toMatchObject({ recovered: 1, sent: 0 });
    expect(await newSender().runOnce()).toMatchObject({ recovered: 0, sent: 0 });
    expect(relay.accepted).toHaveLength(0);
    expect(relay.dataStarted).toBe(1);
    const row = await replyRow(reply.id);
    expect(row).toMatchObject({ state: 'failed', failure: 'interrupted', last_error: expect.stringContaining('may or may not') });
  });

  it('after a crash between the relay accepting and the reply being recorded, does not send it twice', async () => {
    const { reply } = await approvedReply('Crash after acceptance');
    // Earlier tests' replies to the same customer share its open incident: count only new ones.
    const outboundContacts = () =>
      backend.db.selectFrom('contacts').select('id').where('incident_id', '=', reply.incidentId).where('direction', '=', 'outbound').execute();
    const outboundBefore = (await outboundContacts()).length;
    relay.answers.push({ kind: 'hold' });
    const heldPromise = relay.nextHeld();
    const child = startSenderProcess();
    const held = await heldPromise;

    // Block the dead-to-be sender's "sent" write, so the kill lands between the relay's 250
    // and that write whatever the scheduling.
    const database = backend.config.database;
    let unlock: () => Promise<void>;
    if (database.kind === 'sqlite') {
      const blocker = new SQLite(database.path);
      blocker.exec('begin immediate');
      unlock = async () => {
        blocker.exec('rollback');
        blocker.close();
      };
    } else {
      const blocker = new pg.Client({ connectionString: database.url });
      await blocker.connect();
      await blocker.query('begin');
      await blocker.query('select id from mail_replies where id = $1 for update', [reply.id]);
      unlock = async () => {
        await blocker.query('rollback');
        await blocker.end();
      };
    }
    const accepted = relay.next('accepted');
    held.release({ kind: 'accept' });
    await accepted;
    await kill(child);
    await unlock();

    await ageClaim(reply.id);
    expect(await newSender().runOnce()).toMatchObject({ recovered: 1, sent: 0 });
    expect(await newSender().runOnce()).toMatchObject({ recovered: 0, sent: 0 });
    expect(relay.accepted).toHaveLength(1);
    expect(await replyRow(reply.id)).toMatchObject({ state: 'failed', failure: 'interrupted' });
    expect(await outboundContacts()).toHaveLength(outboundBefore);
  });
});
