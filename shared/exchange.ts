import { z } from 'zod';
import { CONTACT_KINDS, CUSTOMER_TYPES, INCIDENT_STATUSES, Id, IsoTime } from './domain.js';

/**
 * The PII-stripped exchange (issue 12 item 5): an admin exports incidents and contacts for a
 * partner business with personal data removed, and shares the export with a partner
 * organisation whose `partner` users download it. The backend builds it
 * (backend/src/exchange); the admin and partner screens live in renderer/src/exchange.
 */
export const EXCHANGE_API = {
  preview: '/api/exchange/preview',
  exports: '/api/exchange/exports',
  download: '/api/exchange/exports/:id/download',
  share: '/api/exchange/exports/:id/share',
  partners: '/api/exchange/partners',
} as const;

/** What one field of an exported record becomes. */
export const FIELD_ACTIONS = ['keep', 'pseudonymise', 'scrub', 'drop'] as const;
export const FieldAction = z.enum(FIELD_ACTIONS);
export type FieldAction = z.infer<typeof FieldAction>;

interface FieldRule {
  /** The policy when the admin says nothing: nothing personal leaves by default. */
  default: FieldAction;
  allowed: readonly FieldAction[];
}

const IDENTIFIER: FieldRule = { default: 'pseudonymise', allowed: ['pseudonymise', 'drop'] };
const PERSONAL: FieldRule = { default: 'pseudonymise', allowed: ['keep', 'pseudonymise', 'drop'] };
const PERSONAL_DROPPED: FieldRule = { default: 'drop', allowed: ['keep', 'pseudonymise', 'drop'] };
const FREE_TEXT: FieldRule = { default: 'scrub', allowed: ['keep', 'scrub', 'drop'] };
const FACT: FieldRule = { default: 'keep', allowed: ['keep', 'drop'] };

/**
 * Every field of an exported record (one record per contact, with its incident and customer),
 * in export order, with its safe default and the actions it allows. Ids are never kept: a
 * stored id would link the same customer across exports.
 */
export const EXCHANGE_FIELDS = {
  customerRef: IDENTIFIER,
  customerCode: PERSONAL,
  customerName: PERSONAL,
  customerNameKana: PERSONAL_DROPPED,
  customerPhones: PERSONAL,
  customerEmails: PERSONAL,
  customerPostalCode: PERSONAL_DROPPED,
  customerAddress: PERSONAL_DROPPED,
  customerType: FACT,
  customerBranch: FACT,
  incidentRef: IDENTIFIER,
  incidentTitle: FREE_TEXT,
  incidentStatus: FACT,
  incidentOpenedAt: FACT,
  contactRef: IDENTIFIER,
  contactKind: FACT,
  contactDirection: FACT,
  occurredAt: FACT,
  agentName: PERSONAL,
  callFrom: PERSONAL,
  callTo: PERSONAL,
  callDurationSeconds: FACT,
  callDisposition: FACT,
  summary: FREE_TEXT,
  body: FREE_TEXT,
} as const satisfies Record<string, FieldRule>;
export type ExchangeField = keyof typeof EXCHANGE_FIELDS;
export const EXCHANGE_FIELD_NAMES = Object.keys(EXCHANGE_FIELDS) as ExchangeField[];

/** The policy as the admin sends it: only the fields that differ from the defaults. */
export const ExchangePolicyInput = z
  .partialRecord(z.enum(EXCHANGE_FIELD_NAMES as [ExchangeField, ...ExchangeField[]]), FieldAction)
  .superRefine((policy, ctx) => {
    for (const [field, action] of Object.entries(policy) as [ExchangeField, FieldAction][]) {
      const allowed: readonly FieldAction[] = EXCHANGE_FIELDS[field].allowed;
      if (!allowed.includes(action)) {
        ctx.addIssue({ code: 'custom', path: [field], message: `${field} may be ${allowed.join(', ')}, not ${action}` });
      }
    }
  });
export type ExchangePolicyInput = z.infer<typeof ExchangePolicyInput>;
export type ExchangePolicy = Record<ExchangeField, FieldAction>;

/** Every field's action: the admin's choices over the defaults. */
export function resolvePolicy(input: ExchangePolicyInput): ExchangePolicy {
  const policy = {} as ExchangePolicy;
  for (const field of EXCHANGE_FIELD_NAMES) policy[field] = input[field] ?? EXCHANGE_FIELDS[field].default;
  return policy;
}

/**
 * Which contacts an export takes. Incidents have no product field yet, so `product` is a
 * keyword the incident's title must contain; `customerTypes` and `incidentStatus` stand for
 * the incident's type.
 */
export const ExchangeFilter = z
  .object({
    from: IsoTime.optional(),
    to: IsoTime.optional(),
    product: z.string().trim().max(100).optional(),
    contactKinds: z.array(z.enum(CONTACT_KINDS)).max(CONTACT_KINDS.length).optional(),
    customerTypes: z.array(z.enum(CUSTOMER_TYPES)).max(CUSTOMER_TYPES.length).optional(),
    incidentStatus: z.enum(INCIDENT_STATUSES).optional(),
  })
  .refine((filter) => !filter.from || !filter.to || filter.from <= filter.to, { message: 'from must not be after to', path: ['from'] });
export type ExchangeFilter = z.infer<typeof ExchangeFilter>;

export const PREVIEW_LIMIT_MAX = 50;
/** The most contacts one export takes; a larger selection must be narrowed by its filter. */
export const EXPORT_RECORD_LIMIT = 20_000;

export const ExchangePreviewRequest = z.object({
  filter: ExchangeFilter,
  policy: ExchangePolicyInput.default({}),
  limit: z.number().int().min(1).max(PREVIEW_LIMIT_MAX).default(10),
});

/** One exported record: the fields the policy did not drop. Values are text, numbers or lists of text. */
export const ExchangeRecord = z.record(z.string(), z.union([z.string(), z.number(), z.null(), z.array(z.string())]));
export type ExchangeRecord = z.infer<typeof ExchangeRecord>;

export const ExchangePreview = z.object({
  total: z.number().int().min(0),
  fields: z.array(z.string()),
  records: z.array(ExchangeRecord),
});
export type ExchangePreview = z.infer<typeof ExchangePreview>;

export const ExchangeCreateRequest = z.object({
  title: z.string().trim().min(1).max(200),
  filter: ExchangeFilter,
  policy: ExchangePolicyInput.default({}),
});
export type ExchangeCreateRequest = z.input<typeof ExchangeCreateRequest>;

/** A partner organisation's name, as set on its users. */
export const PartnerOrg = z.string().trim().min(1).max(100);

export const ExchangeShareRequest = z.object({ partnerOrg: PartnerOrg });

export const ExchangeExportSummary = z.object({
  id: Id,
  title: z.string(),
  createdAt: IsoTime,
  createdBy: z.string(),
  recordCount: z.number().int().min(0),
  filter: ExchangeFilter,
  /** The partner organisations it is shared with (a partner sees only its own). */
  sharedWith: z.array(z.string()),
});
export type ExchangeExportSummary = z.infer<typeof ExchangeExportSummary>;

export const ExchangeExportList = z.object({ exports: z.array(ExchangeExportSummary) });
export const ExchangePartners = z.object({ partners: z.array(z.string()) });

export const EXCHANGE_FORMATS = ['json', 'csv'] as const;
export const ExchangeFormat = z.enum(EXCHANGE_FORMATS);
export type ExchangeFormat = z.infer<typeof ExchangeFormat>;
export const ExchangeDownloadQuery = z.object({ format: ExchangeFormat.default('json') });

/** A download as it crosses IPC: the file's text and the name to save it under. */
export const ExchangeDownload = z.object({ fileName: z.string(), mediaType: z.string(), content: z.string() });
export type ExchangeDownload = z.infer<typeof ExchangeDownload>;
