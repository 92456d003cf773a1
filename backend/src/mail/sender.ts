import { randomUUID } from 'node:crypto';
import type { Selectable } from 'kysely';
import MailComposer from 'nodemailer/lib/mail-composer';
import { recordAudit } from '../audit.js';
import { insertContact } from '../customers/writes.js';
import type { DatabaseHandle } from '../db/database.js';
import { writeTransaction } from '../sync/changelog.js';
import { markCallAnswered } from './call-replies.js';
import { addSeconds, databaseNow } from './clock.js';
import { describeRelay, type MailConfig } from './config.js';
import { openRelaySession } from './relay-connection.js';
import type { MailNotifier } from './notify.js';
import { mailDb, mailTrx, type MailRepliesTable, type ReplyFailure } from './schema.js';
import type { MailLogger } from './smtp-listener.js';

/**
 * Sends approved replies through the SMTP relay, exactly once where SMTP allows it.
 *
 * SMTP has no idempotency: once the relay has answered 250 to the final dot it has the
 * message, and a client that dies before recording that cannot later ask whether it did.
 * We choose AT-MOST-ONCE for the automatic path and make the uncertain window as small as
 * the protocol allows:
 *
 *   1. claim: `approved → sending` with a fresh claim id (one conditional UPDATE, so two
 *      senders on two instances never claim the same reply), attempts + 1;
 *   2. connect, EHLO, (STARTTLS), AUTH: nothing of the message has left yet;
 *   3. mark `transmit_started_at`, but only while our claim still stands;
 *   4. MAIL FROM, RCPT TO, DATA, the message, the final dot;
 *   5. `sending → sent` with the outbound contact (through the change log) in one transaction.
 *
 * A sender that dies in 1–3 left a claim without `transmit_started_at`: nothing was sent, and
 * any sender recovers it to `approved` once the claim is older than the send timeout, so it
 * goes out once. A sender that dies in 4–5 may or may not have delivered: the recovery marks
 * the reply `failed` / `interrupted` and shows it to the supervisor instead of sending it
 * again. Re-queueing it is a person's decision, and the copy carries the same Message-ID (fixed
 * at approval), which lets the customer's mail client recognise a duplicate.
 *
 * The relay's own answers are certain: 4xx means not accepted (retry later with backoff, up
 * to the attempt limit), 5xx means refused for good (`failed` / `rejected`). A failure to
 * connect or log in happens before step 3 and is retried like a 4xx.
 *
 * Important: recovery relies on every SMTP transaction ending within `sendTimeoutSeconds`;
 * the sender enforces that on itself by closing the connection at the deadline.
 */

type ReplyRow = Selectable<MailRepliesTable>;

export interface SendOutcome {
  sent: number;
  retried: number;
  failed: number;
  recovered: number;
}

interface SmtpFailure {
  responseCode: number | null;
  message: string;
}

class ClaimLost extends Error {}

function describeError(error: unknown): SmtpFailure {
  const code = (error as { responseCode?: unknown } | null)?.responseCode;
  const message = error instanceof Error ? error.message : String(error);
  return { responseCode: typeof code === 'number' ? code : null, message: message.slice(0, 1000) };
}

export interface MailSenderOptions {
  handle: DatabaseHandle;
  config: MailConfig;
  log: MailLogger;
  notifier?: MailNotifier | null;
}

export class MailSender {
  readonly #handle: DatabaseHandle;
  readonly #config: MailConfig;
  readonly #log: MailLogger;
  readonly #notifier: MailNotifier | null;
  #running: Promise<void> | null = null;
  #stopped = false;
  #wake: (() => void) | null = null;
  #woken = false;
  #unsubscribe: (() => void) | null = null;

  constructor(options: MailSenderOptions) {
    this.#handle = options.handle;
    this.#config = options.config;
    this.#log = options.log;
    this.#notifier = options.notifier ?? null;
  }

  start(): void {
    if (this.#running) return;
    this.#stopped = false;
    this.#unsubscribe = this.#notifier?.subscribeAll(() => this.wake()) ?? null;
    this.#log.info({ relay: describeRelay(this.#config.relay) }, 'mail sender started');
    this.#running = this.#loop();
  }

  /** Look for work now rather than at the next poll. */
  wake(): void {
    this.#woken = true;
    this.#wake?.();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#unsubscribe?.();
    this.#unsubscribe = null;
    this.#wake?.();
    await this.#running;
    this.#running = null;
  }

  async #loop(): Promise<void> {
    while (!this.#stopped) {
      this.#woken = false;
      let delayMs = this.#config.sender.pollSeconds * 1000;
      try {
        await this.runOnce();
        delayMs = Math.min(delayMs, await this.#untilNextDue());
      } catch (error) {
        this.#log.error({ err: error }, 'mail sender: a round failed; trying again later');
      }
      if (this.#stopped || this.#woken) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.max(0, delayMs));
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.#wake = done;
      });
      this.#wake = null;
    }
  }

  async #untilNextDue(): Promise<number> {
    const db = mailDb(this.#handle.db);
    const next = await db
      .selectFrom('mail_replies')
      .select((eb) => eb.fn.min('next_attempt_at').as('due'))
      .where('state', '=', 'approved')
      .executeTakeFirst();
    if (!next?.due) return Number.POSITIVE_INFINITY;
    const now = await databaseNow(db, this.#handle.dialect);
    return new Date(next.due).getTime() - new Date(now).getTime();
  }

  /** One round: recover dead claims, then send every reply that is due. */
  async runOnce(): Promise<SendOutcome> {
    const outcome: SendOutcome = { sent: 0, retried: 0, failed: 0, recovered: await this.#recoverDeadClaims() };
    for (;;) {
      if (this.#stopped) break;
      const reply = await this.#claimNext();
      if (!reply) break;
      const result = await this.#send(reply);
      outcome[result] += 1;
    }
    return outcome;
  }

  async #recoverDeadClaims(): Promise<number> {
    const db = mailDb(this.#handle.db);
    const now = await databaseNow(db, this.#handle.dialect);
    const deadBefore = addSeconds(now, -this.#config.sender.sendTimeoutSeconds);
    const stale = await db
      .selectFrom('mail_replies')
      .select(['id', 'tenant_id', 'customer_id', 'claim_id', 'transmit_started_at'])
      .where('state', '=', 'sending')
      .where('claimed_at', '<=', deadBefore)
      .execute();
    let recovered = 0;
    for (const reply of stale) {
      const maybeSent = reply.transmit_started_at !== null;
      const changed = await this.#handle.db.transaction().execute(async (raw) => {
        const trx = mailTrx(raw);
        const updated = await trx
          .updateTable('mail_replies')
          .set(
            maybeSent
              ? {
                  state: 'failed',
                  failure: 'interrupted',
                  last_error: 'the sender stopped while handing the reply to the relay: it may or may not have been sent',
                  updated_at: now,
                }
              : { state: 'approved', claim_id: null, claimed_at: null, next_attempt_at: now, updated_at: now },
          )
          .where('id', '=', reply.id)
          .where('state', '=', 'sending')
          .where('claim_id', '=', reply.claim_id)
          .executeTakeFirst();
        if (Number(updated.numUpdatedRows) === 0) return false;
        await recordAudit(raw, {
          tenantId: reply.tenant_id,
          userId: null,
          action: maybeSent ? 'reply_failed' : 'reply_retry_scheduled',
          customerId: reply.customer_id,
          details: { replyId: reply.id, claimId: reply.claim_id, reason: maybeSent ? 'interrupted' : 'claim_recovered' },
        });
        return true;
      });
      if (!changed) continue;
      recovered += 1;
      this.#log.warn({ replyId: reply.id, maybeSent }, maybeSent ? 'mail sender: interrupted send marked failed' : 'mail sender: dead claim recovered');
      await this.#notifier?.publish(reply.tenant_id);
    }
    return recovered;
  }

  async #claimNext(): Promise<ReplyRow | null> {
    const db = mailDb(this.#handle.db);
    const now = await databaseNow(db, this.#handle.dialect);
    const due = await db
      .selectFrom('mail_replies')
      .select('id')
      .where('state', '=', 'approved')
      .where('next_attempt_at', '<=', now)
      .orderBy('next_attempt_at')
      .orderBy('id')
      .limit(10)
      .execute();
    for (const { id } of due) {
      const claimId = randomUUID();
      const claimed = await this.#handle.db.transaction().execute(async (raw) => {
        const trx = mailTrx(raw);
        const row = await trx
          .updateTable('mail_replies')
          .set((eb) => ({
            state: 'sending',
            claim_id: claimId,
            claimed_at: now,
            transmit_started_at: null,
            attempts: eb('attempts', '+', 1),
            updated_at: now,
          }))
          .where('id', '=', id)
          .where('state', '=', 'approved')
          .returningAll()
          .executeTakeFirst();
        if (!row) return null;
        await recordAudit(raw, {
          tenantId: row.tenant_id,
          userId: null,
          action: 'reply_sending',
          customerId: row.customer_id,
          details: { replyId: row.id, claimId, attempt: row.attempts, messageId: row.message_id },
        });
        return row;
      });
      if (claimed) return claimed;
    }
    return null;
  }

  async #compose(reply: ReplyRow): Promise<Buffer> {
    const tenant = await this.#handle.db.selectFrom('tenants').select('name').where('id', '=', reply.tenant_id).executeTakeFirstOrThrow();
    const references = (JSON.parse(reply.references_ids) as string[]).map((id) => `<${id}>`);
    const composer = new MailComposer({
      from: { name: tenant.name, address: reply.from_address },
      to: reply.to_address,
      subject: reply.subject,
      text: reply.body,
      messageId: `<${reply.message_id}>`,
      ...(reply.in_reply_to !== null ? { inReplyTo: `<${reply.in_reply_to}>`, references } : {}),
      date: new Date(),
      headers: { 'Auto-Submitted': 'no' },
    });
    return composer.compile().build();
  }

  /** Marks that the message is about to leave; false when our claim was taken from us. */
  async #markTransmitStarted(reply: ReplyRow): Promise<boolean> {
    const db = mailDb(this.#handle.db);
    const now = await databaseNow(db, this.#handle.dialect);
    const updated = await db
      .updateTable('mail_replies')
      .set({ transmit_started_at: now, updated_at: now })
      .where('id', '=', reply.id)
      .where('state', '=', 'sending')
      .where('claim_id', '=', reply.claim_id)
      .executeTakeFirst();
    return Number(updated.numUpdatedRows) === 1;
  }

  /** The SMTP transaction; resolves with whether transmission started, rejects with the SMTP error. */
  async #transmit(reply: ReplyRow, message: Buffer, state: { transmitStarted: boolean }): Promise<void> {
    const session = await openRelaySession(this.#config, this.#config.sender.sendTimeoutSeconds * 1000);
    try {
      if (!(await this.#markTransmitStarted(reply))) throw new ClaimLost(`reply ${reply.id}: claim lost before sending`);
      state.transmitStarted = true;
      await session.send({ from: reply.from_address, to: [reply.to_address] }, message);
    } finally {
      session.close();
    }
  }

  async #send(reply: ReplyRow): Promise<'sent' | 'retried' | 'failed'> {
    const state = { transmitStarted: false };
    try {
      const message = await this.#compose(reply);
      await this.#transmit(reply, message, state);
    } catch (error) {
      if (error instanceof ClaimLost) {
        this.#log.warn({ replyId: reply.id }, 'mail sender: claim lost before sending; left to its new owner');
        return 'retried';
      }
      return this.#recordFailure(reply, describeError(error), state.transmitStarted);
    }
    await this.#recordSent(reply);
    return 'sent';
  }

  async #recordSent(reply: ReplyRow): Promise<void> {
    await writeTransaction(this.#handle, async (tx) => {
      const trx = mailTrx(tx.trx);
      const now = await databaseNow(trx, this.#handle.dialect);
      // A reply recovered as `interrupted` while we were still at it was in fact delivered:
      // the claim id tells it is the same attempt.
      const updated = await trx
        .updateTable('mail_replies')
        .set({ state: 'sent', sent_at: now, failure: null, last_error: null, updated_at: now })
        .where('id', '=', reply.id)
        .where('claim_id', '=', reply.claim_id)
        .where('state', 'in', ['sending', 'failed'])
        .executeTakeFirst();
      if (Number(updated.numUpdatedRows) === 0) {
        this.#log.warn({ replyId: reply.id }, 'mail sender: sent, but the reply was re-queued meanwhile');
        return;
      }
      const contactId = await insertContact(tx, reply.tenant_id, {
        incidentId: reply.incident_id,
        customerId: reply.customer_id,
        kind: 'email',
        direction: 'outbound',
        occurredAt: now,
        agentId: reply.author_id,
        summary: reply.subject.slice(0, 500),
        body: reply.body.slice(0, 100_000),
        callMeta: null,
      });
      await trx.updateTable('mail_replies').set({ contact_id: contactId }).where('id', '=', reply.id).execute();
      if (reply.call_key !== null) await markCallAnswered(tx, { ...reply, call_key: reply.call_key }, contactId, now);
      await recordAudit(tx.trx, {
        tenantId: reply.tenant_id,
        userId: null,
        action: 'reply_sent',
        customerId: reply.customer_id,
        details: { replyId: reply.id, messageId: reply.message_id, attempt: reply.attempts, contactId },
      });
    });
    this.#log.info({ replyId: reply.id, attempt: reply.attempts }, 'mail sender: reply sent');
    await this.#notifier?.publish(reply.tenant_id);
  }

  async #recordFailure(reply: ReplyRow, failure: SmtpFailure, transmitStarted: boolean): Promise<'retried' | 'failed'> {
    const { sender } = this.#config;
    const code = failure.responseCode;
    let permanent: ReplyFailure | null = null;
    if (code !== null && code >= 500 && transmitStarted) permanent = 'rejected';
    else if (code === null && transmitStarted) permanent = 'interrupted';
    else if (reply.attempts >= sender.maxAttempts) permanent = 'gave_up';
    const lastError = code !== null ? `${code} ${failure.message}` : failure.message;

    await this.#handle.db.transaction().execute(async (raw) => {
      const trx = mailTrx(raw);
      const now = await databaseNow(trx, this.#handle.dialect);
      const delay = Math.min(sender.retryMaxSeconds, sender.retryBaseSeconds * 2 ** Math.max(0, reply.attempts - 1));
      const updated = await trx
        .updateTable('mail_replies')
        .set(
          permanent
            ? { state: 'failed', failure: permanent, last_error: lastError, updated_at: now }
            : { state: 'approved', claim_id: null, claimed_at: null, next_attempt_at: addSeconds(now, delay), last_error: lastError, updated_at: now },
        )
        .where('id', '=', reply.id)
        .where('state', '=', 'sending')
        .where('claim_id', '=', reply.claim_id)
        .executeTakeFirst();
      if (Number(updated.numUpdatedRows) === 0) return;
      await recordAudit(raw, {
        tenantId: reply.tenant_id,
        userId: null,
        action: permanent ? 'reply_failed' : 'reply_retry_scheduled',
        customerId: reply.customer_id,
        details: { replyId: reply.id, attempt: reply.attempts, error: lastError, ...(permanent ? { failure: permanent } : { retryInSeconds: delay }) },
      });
    });
    this.#log.warn({ replyId: reply.id, attempt: reply.attempts, error: lastError, failure: permanent }, 'mail sender: sending failed');
    await this.#notifier?.publish(reply.tenant_id);
    return permanent ? 'failed' : 'retried';
  }
}

