import { z } from 'zod';

export const Disposition = z.object({ code: z.string().min(1).max(50), label: z.string().min(1).max(100) });
export type Disposition = z.infer<typeof Disposition>;

/**
 * Wrap-up codes of a tenant that has not defined its own: what a Japanese contact center
 * records after most calls.
 * The app shows these labels in the operator's language when a tenant kept them unchanged.
 */
export const DEFAULT_DISPOSITIONS: readonly Disposition[] = [
  { code: 'resolved', label: '解決済み' },
  { code: 'information', label: 'ご案内済み' },
  { code: 'callback', label: '折り返し予定' },
  { code: 'escalated', label: '担当部署へ引き継ぎ' },
  { code: 'order', label: '受注・お申し込み' },
  { code: 'complaint', label: '苦情・ご意見' },
  { code: 'wrong_number', label: '間違い電話' },
  { code: 'silent', label: '無言・途中切断' },
];

export const TelephonySettings = z.object({
  dispositions: z.array(Disposition),
  /** SIP header that carries the customer id collected by the PBX's IVR. */
  customerIdHeader: z.string().regex(/^[A-Za-z0-9-]{1,64}$/),
  /** After-call work ends by itself after this long when the wrap-up is not saved. */
  afterCallWorkSeconds: z.number().int().min(0).max(3600),
  dtmfMode: z.enum(['rfc4733', 'info']),
  /** How long the PBX rings each agent it tries for a call before trying the next one. */
  ringSeconds: z.number().int().min(5).max(120),
  defaultRegion: z.string().length(2),
});
export type TelephonySettings = z.infer<typeof TelephonySettings>;
