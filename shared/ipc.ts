import { z } from 'zod';
import { CustomerRecord, CustomerSummary } from './api.js';
import { Contact, Customer, Id, Incident, IsoTime, User } from './domain.js';
import type { Result } from './result.js';

/**
 * The IPC contract between the renderer and the desktop core: every channel, its request
 * schema and its result schema are declared here and nowhere else. Both shells (Electron's
 * ipcMain/contextBridge and the browser shell's loopback WebSocket) carry exactly this.
 *
 * To add a channel: (1) add it to IPC_CHANNELS below, (2) add its handler to the table in
 * electron/core/handlers.ts (the compiler insists), (3) call it from the renderer through
 * `invoke` in renderer/src/api.ts. Nothing else declares a channel.
 */

export const SessionInfo = z.object({
  user: User,
  tenant: z.object({ id: Id, name: z.string(), defaultRegion: z.string().length(2) }),
  backendUrl: z.string(),
});
export type SessionInfo = z.infer<typeof SessionInfo>;

export const SYNC_PHASES = ['signed_out', 'snapshot', 'deltas', 'idle', 'offline', 'error'] as const;
export const SyncStatus = z.object({
  phase: z.enum(SYNC_PHASES),
  online: z.boolean(),
  lastSyncedAt: IsoTime.nullable(),
  pendingOutbox: z.number().int().min(0),
  /** Set during the first sync (snapshot), for the progress bar. */
  progress: z.object({ done: z.number().int().min(0), total: z.number().int().min(0) }).nullable(),
  lastError: z.string().nullable(),
  cachedCustomers: z.number().int().min(0),
});
export type SyncStatus = z.infer<typeof SyncStatus>;

/** A contact as the app shows it: `pending` while it waits in the outbox. */
export const CachedContact = Contact.extend({ pending: z.boolean() });
export type CachedContact = z.infer<typeof CachedContact>;

export const DATA_SOURCES = ['cache', 'online'] as const;
export const CustomerDetail = z.object({
  customer: Customer,
  incidents: z.array(Incident),
  contacts: z.array(CachedContact),
  source: z.enum(DATA_SOURCES),
});
export type CustomerDetail = z.infer<typeof CustomerDetail>;

export const SearchResult = z.object({
  customers: z.array(CustomerSummary),
  source: z.enum(DATA_SOURCES),
});
export type SearchResult = z.infer<typeof SearchResult>;

export const AppInfo = z.object({
  version: z.string(),
  shell: z.enum(['electron', 'browser']),
  locale: z.string(),
  backendUrl: z.string(),
});
export type AppInfo = z.infer<typeof AppInfo>;

const NoPayload = z.undefined().or(z.null()).or(z.object({}).strict());

export const IPC_CHANNELS = {
  'app:info': { request: NoPayload, result: AppInfo },
  'session:login': {
    request: z.object({
      tenant: z.string().trim().min(1).max(100),
      login: z.string().trim().min(1).max(200),
      password: z.string().min(1).max(1000),
    }),
    result: SessionInfo,
  },
  'session:logout': { request: NoPayload, result: z.null() },
  'session:current': { request: NoPayload, result: SessionInfo.nullable() },
  'sync:status': { request: NoPayload, result: SyncStatus },
  'sync:now': { request: NoPayload, result: SyncStatus },
  'customers:search': {
    request: z.object({
      query: z.string().max(200),
      limit: z.number().int().min(1).max(100).optional(),
    }),
    result: SearchResult,
  },
  'customers:get': { request: z.object({ customerId: Id }), result: CustomerDetail },
  /** Screen pop: an IVR customer id wins over the number. Null when nobody matches. */
  'customers:lookupCaller': {
    request: z
      .object({ phone: z.string().max(64).optional(), customerId: Id.optional() })
      .refine((v) => v.phone !== undefined || v.customerId !== undefined, 'phone or customerId is required'),
    result: CustomerDetail.nullable(),
  },
  'notes:add': {
    request: z.object({ incidentId: Id, body: z.string().trim().min(1, 'must not be empty').max(20_000) }),
    result: CachedContact,
  },
} as const;

export type IpcChannel = keyof typeof IPC_CHANNELS;
export type IpcRequest<C extends IpcChannel> = z.input<(typeof IPC_CHANNELS)[C]['request']>;
export type IpcResult<C extends IpcChannel> = z.infer<(typeof IPC_CHANNELS)[C]['result']>;

/** Core → renderer events. */
export const IPC_EVENTS = {
  'sync:status': SyncStatus,
  'session:expired': z.object({ reason: z.string() }),
} as const;
export type IpcEvent = keyof typeof IPC_EVENTS;
export type IpcEventPayload<E extends IpcEvent> = z.infer<(typeof IPC_EVENTS)[E]>;

/** What `window.tsunagu` is, in both shells. */
export interface TsunaguBridge {
  invoke<C extends IpcChannel>(channel: C, payload: IpcRequest<C>): Promise<Result<IpcResult<C>>>;
  on<E extends IpcEvent>(event: E, listener: (payload: IpcEventPayload<E>) => void): () => void;
}

/** The core's handler table; a missing channel is a compile error. */
export type IpcHandlerTable = {
  [C in IpcChannel]: (payload: z.infer<(typeof IPC_CHANNELS)[C]['request']>) => Promise<IpcResult<C>>;
};

/**
 * Wire format of the browser shell's WebSocket (JSON text frames) at ws://127.0.0.1:PORT/ipc.
 * The first frame must be the hello with the per-launch secret (the page gets it in its URL
 * fragment, which is never sent over HTTP); the host closes the socket with code 4401
 * otherwise, and also refuses an Origin other than its own.
 */
export const ShellHelloFrame = z.object({ type: z.literal('hello'), secret: z.string().min(16).max(200) });
export const SHELL_CLOSE_UNAUTHORISED = 4401;

export const ShellRequestFrame = z.object({
  id: z.number().int().min(0),
  channel: z.string().max(100),
  payload: z.unknown(),
});
export type ShellResponseFrame = { id: number; result: Result<unknown> };
export type ShellEventFrame = { event: IpcEvent; payload: unknown };

export function isIpcChannel(name: string): name is IpcChannel {
  return Object.prototype.hasOwnProperty.call(IPC_CHANNELS, name);
}

export type { CustomerRecord };
