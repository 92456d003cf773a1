import { IPC_CHANNELS, isIpcChannel, type IpcHandlerTable } from '../../shared/ipc.js';
import { CodedError, fail, ok, type Result } from '../../shared/result.js';
import { describeZodError } from '../../shared/validation.js';
import { cacheProblemOf, unwritableCacheError } from './cache/cache-health.js';
import type { Logger } from './logger.js';

/** Calls one channel with an untrusted payload; what both shells put behind their transport. */
export type IpcDispatcher = (channel: string, payload: unknown) => Promise<Result<unknown>>;

/**
 * Wraps the core's handler table for a shell: the channel must be known, the payload must
 * match the channel's request schema (otherwise `invalid_input` naming the field), a
 * CodedError becomes its Result, a write the local cache could not take (read-only folder,
 * full disk) becomes `cache_unwritable` saying which, and anything else becomes a generic
 * `internal` error (logged here, never shown: its message may carry details the renderer has
 * no business seeing).
 */
export function createIpcDispatcher(handlers: IpcHandlerTable, logger: Logger): IpcDispatcher {
  return async (channel, payload) => {
    if (!isIpcChannel(channel)) {
      return fail('invalid_input', `channel: no such channel ${JSON.stringify(channel.slice(0, 100))}`);
    }
    const parsed = IPC_CHANNELS[channel].request.safeParse(payload);
    if (!parsed.success) return fail('invalid_input', describeZodError(parsed.error));
    try {
      const handler = handlers[channel] as (payload: unknown) => Promise<unknown>;
      return ok(await handler(parsed.data));
    } catch (error) {
      if (error instanceof CodedError) return fail(error.code, error.message, error.retryAfterSeconds);
      const problem = cacheProblemOf(error);
      if (problem === 'read_only' || problem === 'disk_full') {
        logger.error('IPC handler could not write the local cache', { channel, problem, error: error instanceof Error ? error.message : String(error) });
        const refused = unwritableCacheError(problem);
        return fail(refused.code, refused.message);
      }
      logger.error('IPC handler failed', {
        channel,
        error: error instanceof Error ? (error.stack ?? error.message) : String(error),
      });
      return fail('internal', 'Something went wrong inside the app; the details are in its log');
    }
  };
}
