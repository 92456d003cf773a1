/**
 * The media UA's calls to the backend's CTI routes (CTI-CONTRACT §3 and the queue poll of §4),
 * with the PBX's bearer token. Answers are parsed with zod: a backend that answers something
 * else is treated as a backend that failed.
 */
import { z } from 'zod';

export type IvrCheck =
  | { kind: 'found'; customerId: string }
  | { kind: 'not_found' }
  /** The backend refuses more tries for this call. */
  | { kind: 'refused' }
  | { kind: 'error'; message: string };

export type QueuePoll = { kind: 'status'; ready: boolean; position: number | null } | { kind: 'error'; message: string };

const FoundBody = z.object({ customerId: z.string().min(1).max(64) });
const QueueBody = z.object({ ready: z.boolean(), position: z.number().int().min(0).nullable().optional() });

export interface BackendClient {
  checkCustomer(input: { tenant: string; code: string; callId: string }): Promise<IvrCheck>;
  queueStatus(input: { tenant: string; callId: string }): Promise<QueuePoll>;
}

export function createBackendClient(options: { backendUrl: string; ctiToken: string; timeoutMs: number }): BackendClient {
  const base = options.backendUrl.replace(/\/+$/, '');
  const get = async (pathname: string, query: Record<string, string>): Promise<{ status: number; body: unknown }> => {
    const response = await fetch(`${base}${pathname}?${new URLSearchParams(query)}`, {
      headers: { authorization: `Bearer ${options.ctiToken}`, accept: 'application/json' },
      signal: AbortSignal.timeout(options.timeoutMs),
    });
    const text = await response.text();
    let body: unknown = null;
    try {
      body = JSON.parse(text);
    } catch {
      body = null;
    }
    return { status: response.status, body };
  };
  const failure = (error: unknown): { kind: 'error'; message: string } => ({
    kind: 'error',
    message: error instanceof Error ? error.message : String(error),
  });
  return {
    async checkCustomer(input) {
      try {
        const { status, body } = await get('/api/cti/ivr/customer', input);
        if (status === 200) {
          const parsed = FoundBody.safeParse(body);
          return parsed.success ? { kind: 'found', customerId: parsed.data.customerId } : { kind: 'error', message: 'customer check: unexpected body' };
        }
        if (status === 404) return { kind: 'not_found' };
        if (status === 429) return { kind: 'refused' };
        return { kind: 'error', message: `customer check: HTTP ${status}` };
      } catch (error) {
        return failure(error);
      }
    },
    async queueStatus(input) {
      try {
        const { status, body } = await get('/api/cti/queue', input);
        if (status !== 200) return { kind: 'error', message: `queue poll: HTTP ${status}` };
        const parsed = QueueBody.safeParse(body);
        if (!parsed.success) return { kind: 'error', message: 'queue poll: unexpected body' };
        return { kind: 'status', ready: parsed.data.ready, position: parsed.data.position ?? null };
      } catch (error) {
        return failure(error);
      }
    },
  };
}
