import { createHash, randomUUID } from 'node:crypto';
import { sql, type Transaction } from 'kysely';
import type { CountryCode } from 'libphonenumber-js';
import { simpleParser, type AddressObject, type Attachment } from 'mailparser';
import { safeAttachmentName } from '../../../shared/mail-content.js';
import { recordAudit } from '../audit.js';
import type { DatabaseHandle } from '../db/database.js';
import { insertContact, insertCustomer, insertIncident, isUniqueViolation } from '../customers/writes.js';
import { writeTransaction, type WriteTx } from '../sync/changelog.js';
import type { MailConfig } from './config.js';
import { faxDocumentType } from './fax-pages.js';
import { FAX_SENDER_HEADERS, faxSenderNumber } from './fax.js';
import type { MailNotifier } from './notify.js';
import { sanitizeInboundHtml } from './sanitize.js';
import { mailTrx, type AttachmentRejection, type MailAddressKind, type MailDatabase, type MailMatchProblem, type ThreadMatch } from './schema.js';
import { ensureIncidentRef, extractMessageIds, latestOpenIncident, refFromSubject, refKeyMatches } from './threading.js';

/** Contact bodies are bounded by the shared Contact schema. */
const CONTACT_BODY_MAX = 100_000;
const CONTACT_SUMMARY_MAX = 500;
const INCIDENT_TITLE_MAX = 300;
/** The stored plain text of a mail; the raw message keeps the rest. */
const TEXT_BODY_MAX = 1_000_000;

/** Declared types we keep. Anything else keeps only its metadata; nothing is ever opened. */
const ALLOWED_ATTACHMENT_TYPES = new Set([
  'application/pdf',
  'image/tiff',
  'image/png',
  'image/jpeg',
  'image/gif',
  'image/webp',
  'text/plain',
  'text/csv',
  'message/rfc822',
  'application/msword',
  'application/vnd.ms-excel',
  'application/vnd.ms-powerpoint',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  'application/vnd.openxmlformats-officedocument.presentationml.presentation',
]);
/** The declared type is the sender's word; a name that would run or render on a click is refused whatever it claims. */
const REFUSED_EXTENSIONS =
  /\.(exe|com|bat|cmd|scr|pif|msi|msp|jar|js|jse|mjs|vbs|vbe|wsf|wsh|ps1|psm1|hta|lnk|reg|dll|cpl|html?|xhtml|svg|xml|iso|img|dmg|app|sh|apk)$/i;

export interface InboundRecipient {
  address: string;
  kind: MailAddressKind;
}

export interface InboundAttachment {
  filename: string;
  /** As the sender wrote it: checked against the refused extensions too. */
  sentFilename: string;
  contentType: string;
  size: number;
  sha256: string;
  content: Buffer;
  contentId: string | null;
  isFaxDocument: boolean;
}

/** A parsed inbound mail, typed and bounded: the only shape the rest of the module sees. */
export interface ParsedInbound {
  messageId: string;
  inReplyTo: string[];
  references: string[];
  subject: string;
  fromAddress: string;
  fromName: string;
  replyTo: string | null;
  to: string[];
  cc: string[];
  dateHeader: string | null;
  text: string;
  htmlSanitized: string | null;
  /** The sanitiser could not keep all of the HTML part's text. */
  htmlLostText: boolean;
  attachments: InboundAttachment[];
  /** The fax gateways' sender headers present on the mail (FAX_SENDER_HEADERS), lower-case names. */
  faxHeaders: Map<string, string>;
}

function addresses(value: AddressObject | AddressObject[] | undefined): { address: string; name: string }[] {
  const objects = value === undefined ? [] : Array.isArray(value) ? value : [value];
  const flat: { address: string; name: string }[] = [];
  const walk = (entries: AddressObject['value']) => {
    for (const entry of entries) {
      if (entry.group) walk(entry.group);
      else if (entry.address) flat.push({ address: entry.address.trim(), name: entry.name?.trim() ?? '' });
    }
  };
  for (const object of objects) walk(object.value);
  return flat;
}

function toAttachment(part: Attachment): InboundAttachment {
  const content = part.content;
  return {
    // Stored neutralised: the name is the sender's word, shown to operators and offered as a file name.
    filename: safeAttachmentName(part.filename ?? ''),
    sentFilename: (part.filename ?? '').slice(0, 1000),
    contentType: (part.contentType || 'application/octet-stream').toLowerCase().slice(0, 200),
    size: content.length,
    sha256: createHash('sha256').update(content).digest('hex'),
    content,
    contentId: part.contentId ? extractMessageIds(part.contentId)[0] ?? null : null,
    // By the first bytes: the declared type of a fax gateway varies.
    isFaxDocument: faxDocumentType(content) !== null,
  };
}

export class InboundRejected extends Error {
  constructor(
    readonly responseCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'InboundRejected';
  }
}

/**
 * Parses a raw message. `envelopeFrom` (MAIL FROM) stands in for a missing From header; a mail
 * with neither has nobody to answer and is refused.
 */
export async function parseInbound(raw: Buffer, envelopeFrom: string | null): Promise<ParsedInbound> {
  const mail = await simpleParser(raw, { skipImageLinks: true, skipTextLinks: true });
  const from = addresses(mail.from)[0] ?? (envelopeFrom ? { address: envelopeFrom, name: '' } : null);
  if (!from) throw new InboundRejected(550, 'the message has no sender address (From header or MAIL FROM)');
  const messageId =
    extractMessageIds(mail.messageId)[0] ?? `sha256-${createHash('sha256').update(raw).digest('hex')}@tsunagu.invalid`;
  const html = typeof mail.html === 'string' && mail.html.trim() !== '' ? sanitizeInboundHtml(mail.html) : null;
  const date = mail.date && !Number.isNaN(mail.date.getTime()) ? mail.date.toISOString() : null;
  return {
    messageId,
    inReplyTo: extractMessageIds(mail.inReplyTo),
    references: extractMessageIds(mail.references),
    subject: (mail.subject ?? '').slice(0, 2000),
    fromAddress: from.address.toLowerCase(),
    fromName: from.name.slice(0, 200),
    replyTo: addresses(mail.replyTo)[0]?.address.toLowerCase() ?? null,
    to: addresses(mail.to).map((a) => a.address.toLowerCase()),
    cc: addresses(mail.cc).map((a) => a.address.toLowerCase()),
    dateHeader: date,
    text: (mail.text ?? '').slice(0, TEXT_BODY_MAX),
    htmlSanitized: html?.html ?? null,
    htmlLostText: html?.lostText ?? false,
    attachments: mail.attachments.map(toAttachment),
    faxHeaders: new Map(
      FAX_SENDER_HEADERS.flatMap((name) => {
        const value = mail.headers.get(name);
        return typeof value === 'string' ? [[name, value.slice(0, 200)] as const] : [];
      }),
    ),
  };
}

export interface IngestInput {
  tenantId: string;
  /** This tenant's addresses among the envelope recipients. */
  recipients: InboundRecipient[];
  raw: Buffer;
  parsed: ParsedInbound;
}

export interface IngestResult {
  mailId: string;
  duplicate: boolean;
  kind: 'email' | 'fax';
  customerId: string;
  incidentId: string;
  contactId: string;
  threadMatch: ThreadMatch;
}

interface Thread {
  incidentId: string;
  customerId: string;
  match: ThreadMatch;
}

/** The incident an answer belongs to: the mails and replies it cites, most direct first. */
async function threadByHeaders(trx: Transaction<MailDatabase>, tenantId: string, parsed: ParsedInbound): Promise<Thread | null> {
  const cited = [...parsed.inReplyTo, ...[...parsed.references].reverse()];
  if (cited.length === 0) return null;
  const ids = cited.slice(0, 100);
  const inbound = await trx
    .selectFrom('mail_messages as m')
    .innerJoin('incidents as i', 'i.id', 'm.incident_id')
    .select(['m.message_id', 'm.incident_id', 'i.customer_id'])
    .where('m.tenant_id', '=', tenantId)
    .where('m.message_id', 'in', ids)
    .execute();
  const ours = await trx
    .selectFrom('mail_replies as r')
    .innerJoin('incidents as i', 'i.id', 'r.incident_id')
    .select(['r.message_id', 'r.incident_id', 'i.customer_id'])
    .where('r.tenant_id', '=', tenantId)
    .where('r.message_id', 'in', ids)
    .execute();
  const known = new Map<string, { incidentId: string; customerId: string }>();
  for (const row of [...inbound, ...ours]) {
    if (row.message_id) known.set(row.message_id, { incidentId: row.incident_id, customerId: row.customer_id });
  }
  for (const id of ids) {
    const hit = known.get(id);
    if (hit) return { ...hit, match: parsed.inReplyTo.includes(id) ? 'in_reply_to' : 'references' };
  }
  return null;
}

/** The incident a subject token names, and whether the token carries that incident's key. */
async function claimBySubjectToken(
  trx: Transaction<MailDatabase>,
  tenantId: string,
  subject: string,
): Promise<{ incidentId: string; customerId: string; keyMatches: boolean } | null> {
  const token = refFromSubject(subject);
  if (token === null) return null;
  const incident = await trx
    .selectFrom('incidents')
    .select(['id', 'customer_id', 'ref_key'])
    .where('tenant_id', '=', tenantId)
    .where('ref_no', '=', token.refNo)
    .executeTakeFirst();
  return incident ? { incidentId: incident.id, customerId: incident.customer_id, keyMatches: refKeyMatches(token.key, incident.ref_key) } : null;
}

/** Customers with this phone number (E.164), most recently updated first: a fax's sender by the number its gateway names. */
async function customersByFaxNumber(trx: Transaction<MailDatabase>, tenantId: string, e164: string): Promise<string[]> {
  const rows = await trx
    .selectFrom('customer_phones as p')
    .innerJoin('customers as c', 'c.id', 'p.customer_id')
    .select(['c.id', 'c.updated_at'])
    .where('p.tenant_id', '=', tenantId)
    .where('p.e164', '=', e164)
    .orderBy('c.updated_at', 'desc')
    .orderBy('c.id')
    .execute();
  return [...new Set(rows.map((row) => row.id))];
}

/** Customers with this address, most recently updated first (an address may be shared, e.g. a family's). */
async function customersBySender(trx: Transaction<MailDatabase>, tenantId: string, address: string): Promise<string[]> {
  const rows = await trx
    .selectFrom('customer_emails as e')
    .innerJoin('customers as c', 'c.id', 'e.customer_id')
    .select(['c.id', 'c.updated_at'])
    .where('e.tenant_id', '=', tenantId)
    .where(sql<string>`lower(e.email)`, '=', address.toLowerCase())
    .orderBy('c.updated_at', 'desc')
    .orderBy('c.id')
    .execute();
  return [...new Set(rows.map((row) => row.id))];
}

interface NeedsMatching {
  problem: MailMatchProblem;
  claimedIncidentId: string;
}

type Filing = { kind: 'thread'; thread: Thread } | { kind: 'own_incident'; needsMatching: NeedsMatching | null };

/**
 * Where a mail may go. A mail enters an existing incident (and may reopen it) only on proof
 * that it belongs there: it cites one of the thread's Message-IDs (which only the thread's
 * participants have seen; a colleague answering in the thread is fine) and is not from
 * another customer's address, or its subject token carries the incident's random key and it
 * comes from one of that customer's addresses. Anything else that points at an incident gets
 * an incident of its own with its sender and waits, not offered, until an operator matches it.
 */
async function decideFiling(trx: Transaction<MailDatabase>, tenantId: string, parsed: ParsedInbound, senders: string[]): Promise<Filing> {
  const byHeaders = await threadByHeaders(trx, tenantId, parsed);
  if (byHeaders) {
    if (senders.length === 0 || senders.includes(byHeaders.customerId)) return { kind: 'thread', thread: byHeaders };
    return { kind: 'own_incident', needsMatching: { problem: 'customer_mismatch', claimedIncidentId: byHeaders.incidentId } };
  }
  const claim = await claimBySubjectToken(trx, tenantId, parsed.subject);
  if (!claim) return { kind: 'own_incident', needsMatching: null };
  const fromTheCustomer = senders.includes(claim.customerId);
  if (fromTheCustomer && claim.keyMatches) {
    return { kind: 'thread', thread: { incidentId: claim.incidentId, customerId: claim.customerId, match: 'subject_token' } };
  }
  const problem: MailMatchProblem = fromTheCustomer ? 'unverified_token' : senders.length > 0 ? 'customer_mismatch' : 'unknown_sender';
  return { kind: 'own_incident', needsMatching: { problem, claimedIncidentId: claim.incidentId } };
}

function incidentTitle(subject: string): string {
  const title = subject.replace(/\s+/g, ' ').trim();
  return (title || '(no subject)').slice(0, INCIDENT_TITLE_MAX);
}

async function reopenIfClosed(tx: WriteTx, trx: Transaction<MailDatabase>, tenantId: string, thread: Thread): Promise<void> {
  const reopened = await trx
    .updateTable('incidents')
    .set({ status: 'open', closed_at: null, updated_at: new Date().toISOString() })
    .where('id', '=', thread.incidentId)
    .where('status', '=', 'closed')
    .executeTakeFirst();
  if (Number(reopened.numUpdatedRows) > 0) {
    await tx.recordChange({ tenantId, entity: 'incident', entityId: thread.incidentId, customerId: thread.customerId, op: 'upsert' });
  }
}

/** The operator who last handled this customer, to whom dispatch offers the mail first. */
async function lastHandler(trx: Transaction<MailDatabase>, customerId: string): Promise<string | null> {
  const row = await trx
    .selectFrom('contacts')
    .select('agent_id')
    .where('customer_id', '=', customerId)
    .where('agent_id', 'is not', null)
    .orderBy('occurred_at', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row?.agent_id ?? null;
}

interface AttachmentDecision {
  attachment: InboundAttachment;
  rejected: AttachmentRejection | null;
}

function decideAttachments(attachments: InboundAttachment[], limits: MailConfig['inbound']): AttachmentDecision[] {
  return attachments.map((attachment, index) => {
    let rejected: AttachmentRejection | null = null;
    if (index >= limits.maxAttachments) rejected = 'too_many';
    else if (attachment.size > limits.maxAttachmentBytes) rejected = 'too_large';
    else if (
      !ALLOWED_ATTACHMENT_TYPES.has(attachment.contentType) ||
      REFUSED_EXTENSIONS.test(attachment.filename) ||
      // Windows drops trailing dots and spaces: `setup.exe.` runs as `setup.exe`.
      // eslint-disable-next-line no-control-regex -- matching control characters is the point
      REFUSED_EXTENSIONS.test(attachment.sentFilename.replace(/[\s.\u0000-\u001f]+$/, ''))
    ) {
      rejected = 'type_not_allowed';
    }
    return { attachment, rejected };
  });
}

function contactBody(parsed: ParsedInbound, decisions: AttachmentDecision[]): string {
  const listed = decisions.map(({ attachment, rejected }) => `- ${attachment.filename} (${attachment.size} bytes${rejected ? `, ${rejected}` : ''})`);
  const tail = listed.length > 0 ? `\n\n[attachments]\n${listed.join('\n')}` : '';
  const room = CONTACT_BODY_MAX - tail.length;
  const text = parsed.text.length > room ? `${parsed.text.slice(0, Math.max(0, room - 1))}…` : parsed.text;
  return `${text}${tail}`.slice(0, CONTACT_BODY_MAX);
}

/**
 * Stores one inbound mail for one tenant and threads it (see decideFiling): the incident of a
 * mail or reply it cites (In-Reply-To, then References newest first), else the incident of a
 * keyed `[#INC-n-KEY]` token from that customer's address, else a new incident of the customer
 * with the sender's address, else a new prospect customer; a mail that points at an incident
 * without proof waits in "needs matching". Customer, incident and contact are written through the change log, so
 * the apps' caches get them; the mail row, its attachments and the audit event commit in the
 * same transaction. The same Message-ID delivered again (per tenant) is stored once.
 */
export async function ingestInbound(
  handle: DatabaseHandle,
  notifier: MailNotifier | null,
  config: MailConfig,
  input: IngestInput,
): Promise<IngestResult> {
  const { tenantId, parsed, raw } = input;
  const faxAddress = input.recipients.find((recipient) => recipient.kind === 'fax');
  const decisions = decideAttachments(parsed.attachments, config.inbound);
  const kind: 'email' | 'fax' =
    faxAddress && decisions.some((d) => d.rejected === null && d.attachment.isFaxDocument) ? 'fax' : 'email';
  const recipientAddress = (kind === 'fax' ? faxAddress : input.recipients.find((r) => r.kind === 'support') ?? input.recipients[0])
    ?.address;
  if (!recipientAddress) throw new Error('ingestInbound: no recipient address of the tenant');

  const findDuplicate = async (): Promise<IngestResult | null> => {
    const existing = await handle.db
      .withTables<Pick<MailDatabase, 'mail_messages'>>()
      .selectFrom('mail_messages')
      .select(['id', 'kind', 'customer_id', 'incident_id', 'contact_id', 'thread_match'])
      .where('tenant_id', '=', tenantId)
      .where('message_id', '=', parsed.messageId)
      .executeTakeFirst();
    if (!existing) return null;
    return {
      mailId: existing.id,
      duplicate: true,
      kind: existing.kind,
      customerId: existing.customer_id,
      incidentId: existing.incident_id,
      contactId: existing.contact_id,
      threadMatch: existing.thread_match,
    };
  };

  const before = await findDuplicate();
  if (before) return before;

  let result: IngestResult;
  try {
    result = await writeTransaction(handle, async (tx) => {
      const trx = mailTrx(tx.trx);
      const receivedAt = new Date().toISOString();
      const summary = (parsed.subject.trim() || '(no subject)').slice(0, CONTACT_SUMMARY_MAX);

      // Important: a fax's From is the gateway, shared by every fax; its sender is the number
      // the gateway names, and only that number may file it under a customer.
      const tenant = await trx.selectFrom('tenants').select('default_region').where('id', '=', tenantId).executeTakeFirstOrThrow();
      const faxSender = kind === 'fax' ? faxSenderNumber(parsed.faxHeaders, parsed.subject, tenant.default_region as CountryCode) : null;
      const senders =
        kind === 'fax'
          ? faxSender === null ? [] : await customersByFaxNumber(trx, tenantId, faxSender)
          : await customersBySender(trx, tenantId, parsed.fromAddress);
      const filing = await decideFiling(trx, tenantId, parsed, senders);
      let thread: Thread;
      const needsMatching = filing.kind === 'own_incident' ? filing.needsMatching : null;
      if (filing.kind === 'thread') {
        thread = filing.thread;
        await reopenIfClosed(tx, trx, tenantId, thread);
      } else {
        let customerId = senders[0] ?? null;
        const match: ThreadMatch = customerId ? 'sender' : 'new_customer';
        if (!customerId) {
          customerId = await insertCustomer(tx, tenantId, {
            code: `${kind === 'fax' ? 'FAX' : 'MAIL'}-${randomUUID().slice(0, 8).toUpperCase()}`,
            name: (kind === 'fax' ? `FAX ${faxSender ?? parsed.subject.trim()}` : parsed.fromName || parsed.fromAddress).slice(0, 200),
            nameKana: '',
            phones: faxSender === null ? [] : [{ e164: faxSender, kind: 'landline' }],
            emails: kind === 'fax' ? [] : [parsed.fromAddress],
            postalCode: '',
            address: '',
            branch: null,
            assignedRepId: null,
            // A stranger's mail is the least confidential class, so every operator may answer it.
            classification: 3,
            type: 'prospect',
          });
        }
        // A mail that waits for matching gets an incident of its own, so "keep with sender" or a
        // move to the claimed incident never has to pick it out of an existing conversation.
        const openIncidentId = match === 'sender' && !needsMatching ? await latestOpenIncident(trx, tenantId, customerId) : null;
        const incidentId =
          openIncidentId ??
          (await insertIncident(tx, tenantId, {
            customerId,
            title: incidentTitle(parsed.subject),
            status: 'open',
            assigneeId: null,
            openedAt: receivedAt,
          }));
        await ensureIncidentRef(trx, tenantId, incidentId);
        thread = { incidentId, customerId, match };
      }

      const contactId = await insertContact(tx, tenantId, {
        incidentId: thread.incidentId,
        customerId: thread.customerId,
        kind,
        direction: 'inbound',
        occurredAt: receivedAt,
        agentId: null,
        summary,
        body: contactBody(parsed, decisions),
        callMeta: null,
      });

      const mailId = randomUUID();
      const rawStored = raw.length > config.inbound.maxRawBytes ? raw.subarray(0, config.inbound.maxRawBytes) : raw;
      await trx
        .insertInto('mail_messages')
        .values({
          id: mailId,
          tenant_id: tenantId,
          kind,
          message_id: parsed.messageId,
          in_reply_to: parsed.inReplyTo[0] ?? null,
          references_ids: JSON.stringify(parsed.references),
          from_address: parsed.fromAddress,
          from_name: parsed.fromName,
          reply_to: parsed.replyTo,
          to_addresses: JSON.stringify(parsed.to),
          cc_addresses: JSON.stringify(parsed.cc),
          recipient_address: recipientAddress,
          subject: parsed.subject,
          date_header: parsed.dateHeader,
          received_at: receivedAt,
          text_body: parsed.text,
          html_sanitized: parsed.htmlSanitized,
          raw: rawStored,
          raw_size: raw.length,
          raw_truncated: rawStored.length < raw.length ? 1 : 0,
          thread_match: thread.match,
          customer_id: thread.customerId,
          incident_id: thread.incidentId,
          contact_id: contactId,
          queue_state: 'waiting',
          preferred_user_id: await lastHandler(trx, thread.customerId),
          lease_user_id: null,
          lease_expires_at: null,
          leased_at: null,
          handled_by: null,
          handled_at: null,
          close_note: null,
          match_state: needsMatching ? 'needs_matching' : 'matched',
          match_problem: needsMatching?.problem ?? null,
          claimed_incident_id: needsMatching?.claimedIncidentId ?? null,
          html_lost_text: parsed.htmlLostText ? 1 : 0,
          fax_sender: faxSender,
        })
        .execute();

      if (decisions.length > 0) {
        await trx
          .insertInto('mail_attachments')
          .values(
            decisions.map(({ attachment, rejected }, position) => ({
              id: randomUUID(),
              tenant_id: tenantId,
              mail_id: mailId,
              position,
              filename: attachment.filename,
              content_type: attachment.contentType,
              size: attachment.size,
              sha256: attachment.sha256,
              content: rejected ? null : attachment.content,
              rejected_reason: rejected,
              content_id: attachment.contentId,
            })),
          )
          .execute();
      }

      await recordAudit(tx.trx, {
        tenantId,
        userId: null,
        action: 'mail_received',
        customerId: thread.customerId,
        details: {
          mailId,
          kind,
          messageId: parsed.messageId,
          from: parsed.fromAddress,
          faxSender,
          to: recipientAddress,
          incidentId: thread.incidentId,
          threadMatch: thread.match,
          needsMatching: needsMatching?.problem ?? null,
          claimedIncidentId: needsMatching?.claimedIncidentId ?? null,
          size: raw.length,
          attachments: decisions.length,
          refusedAttachments: decisions.filter((d) => d.rejected).length,
        },
      });
      return {
        mailId,
        duplicate: false,
        kind,
        customerId: thread.customerId,
        incidentId: thread.incidentId,
        contactId,
        threadMatch: thread.match,
      };
    });
  } catch (error) {
    // Two deliveries of one message raced past the first check: the loser is the duplicate.
    if (isUniqueViolation(error)) {
      const duplicate = await findDuplicate();
      if (duplicate) return duplicate;
    }
    throw error;
  }
  await notifier?.publish(tenantId);
  return result;
}
