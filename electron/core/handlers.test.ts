import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { IPC_CHANNELS } from '../../shared/ipc.js';
import { CodedError } from '../../shared/result.js';
import { createCore } from './core.js';
import { createIpcDispatcher } from './handlers.js';
import { createMemoryLogger } from './logger.js';
import { MemoryCacheKeyStore } from './cache/cache-keys.js';
import { MemoryTokenStore } from './token-store.js';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsunagu-handlers-'));
const logger = createMemoryLogger();
// Nothing listens on this port: these tests never get as far as the backend.
const core = createCore({ dataDir, backendUrl: 'http://127.0.0.1:9', tokenStore: new MemoryTokenStore(), cacheKeys: new MemoryCacheKeyStore(), logger });

afterAll(async () => {
  await core.dispose();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('IPC dispatcher', () => {
  it('has a handler for every channel of the contract', () => {
    expect(Object.keys(core.handlers).sort()).toEqual(Object.keys(IPC_CHANNELS).sort());
  });

  it.each([
    ['customers:search', { query: 5 }, /^query: /],
    ['customers:search', { query: 'ok', limit: 0 }, /^limit: /],
    ['customers:search', undefined, /^\(root\): /],
    ['customers:get', {}, /^customerId: /],
    ['customers:lookupCaller', {}, /phone or customerId is required/],
    ['customers:lookupCaller', { phone: 'x'.repeat(65) }, /^phone: /],
    ['notes:add', { incidentId: 'i-1', body: '   ' }, /^body: must not be empty/],
    ['notes:add', { incidentId: '', body: 'text' }, /^incidentId: /],
    ['session:login', { tenant: 'demo', login: 'agent' }, /^password: /],
    ['session:login', { tenant: ' ', login: 'agent', password: 'x' }, /^tenant: /],
    ['app:info', { unexpected: true }, /unexpected|Unrecognized/],
  ])('rejects a bad payload of %s naming the field', async (channel, payload, message) => {
    const result = await core.invoke(channel, payload);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe('invalid_input');
    expect(result.error.message).toMatch(message);
  });

  it('rejects an unknown channel', async () => {
    const result = await core.invoke('fs:readFile', { path: '/etc/passwd' });
    expect(result).toEqual({ ok: false, error: { code: 'invalid_input', message: 'channel: no such channel "fs:readFile"' } });
  });

  it('answers valid calls, and calls that need a session with unauthenticated', async () => {
    expect(await core.invoke('app:info', undefined)).toMatchObject({ ok: true, value: { backendUrl: 'http://127.0.0.1:9', shell: 'browser' } });
    expect(await core.invoke('sync:status', null)).toMatchObject({ ok: true, value: { phase: 'signed_out', online: false } });
    expect(await core.invoke('session:current', {})).toEqual({ ok: true, value: null });
    expect(await core.invoke('customers:search', { query: 'やまだ' })).toMatchObject({ ok: false, error: { code: 'unauthenticated' } });
    expect(await core.invoke('notes:add', { incidentId: 'i-1', body: 'text' })).toMatchObject({ ok: false, error: { code: 'unauthenticated' } });
  });

  it('passes a CodedError through and hides any other error behind a generic internal one', async () => {
    const dispatch = createIpcDispatcher(
      {
        ...core.handlers,
        'app:info': async () => {
          throw new Error('disk on fire at /home/operator/secret');
        },
        'sync:status': async () => {
          throw new CodedError('forbidden', 'not for you');
        },
      },
      logger,
    );
    const internal = await dispatch('app:info', undefined);
    expect(internal).toMatchObject({ ok: false, error: { code: 'internal' } });
    expect(JSON.stringify(internal)).not.toContain('secret');
    expect(logger.entries.find((e) => e.message === 'IPC handler failed')?.fields).toMatchObject({ channel: 'app:info' });
    expect(await dispatch('sync:status', undefined)).toEqual({ ok: false, error: { code: 'forbidden', message: 'not for you' } });
  });
});
