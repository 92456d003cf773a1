import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { routeAnswer, startCtiBackendStub, type CtiBackendStub } from '../test-support/cti-backend-stub.js';
import { waitFor } from '../test-support/wait.js';
import { startCtiRelay, type RunningCtiRelay } from './relay.js';

describe('the CTI relay', () => {
  const token = randomBytes(24).toString('base64url');
  let dir: string;
  let backend: CtiBackendStub;
  let relay: RunningCtiRelay;
  const lines: string[] = [];
  const url = (pathname: string) => `http://127.0.0.1:${relay.port}${pathname}`;
  const auth = { authorization: `Bearer ${token}` };
  const postEvent = (body: unknown) =>
    fetch(url('/events'), { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const event = (callId: string, name: string) => ({ tenant: 'demo', callId, event: name, direction: 'inbound', caller: '0311112222', called: 'rep1.demo', agent: 'rep1.demo' });

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'tsunagu-relay-'));
    backend = await startCtiBackendStub(token);
    lines.length = 0;
    relay = await startCtiRelay({ port: 0, backendUrl: backend.url, token, routingBudgetMs: 200, spoolFile: path.join(dir, 'spool.sqlite'), log: (line) => lines.push(line) });
  });
  afterEach(async () => {
    await relay.stop();
    await backend.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses a request without the PBX token', async () => {
    expect((await fetch(url('/route?tenant=demo'))).status).toBe(401);
    expect((await fetch(url('/events'), { method: 'POST', body: '{}' })).status).toBe(401);
  });

  it("passes the backend's routing answer through, and answers fallback itself when the backend is silent or errs", async () => {
    backend.answerRoutesWith(() => ({ body: routeAnswer(['op1.demo']) }));
    const routed = (await (await fetch(url('/route?tenant=demo&callId=a1'), { headers: auth })).json()) as { action: string; targets: unknown[] };
    expect(routed).toMatchObject({ action: 'ring', targets: [{ sipUser: 'op1.demo' }] });
    expect(backend.routeRequests.at(-1)?.query).toMatchObject({ tenant: 'demo', callId: 'a1' });

    backend.answerRoutesWith(() => ({ delayMs: Number.POSITIVE_INFINITY }));
    expect(await (await fetch(url('/route?tenant=demo&callId=a2'), { headers: auth })).json()).toEqual({
      action: 'fallback',
      decidedBy: 'relay',
      reason: 'no answer from the backend within 200 ms',
    });
    backend.answerRoutesWith(() => ({ status: 500, body: {} }));
    expect(await (await fetch(url('/route?tenant=demo&callId=a3'), { headers: auth })).json()).toMatchObject({ action: 'fallback', reason: 'the backend answered HTTP 500' });
    expect(lines.join('\n')).toMatch(/route call a2: fallback group, no answer from the backend within 200 ms/);
  });

  it('names what is wrong with a bad event and stores nothing', async () => {
    const answer = await postEvent({ tenant: 'demo', event: 'ringing', agent: null });
    expect(answer.status).toBe(400);
    expect(JSON.stringify(await answer.json())).toMatch(/callId/);
    expect(relay.pendingEvents()).toBe(0);
  });

  it('keeps events while the backend refuses them and then delivers each once, in order', async () => {
    backend.failEventsWith(503);
    for (const name of ['ringing', 'answered', 'ended']) expect((await postEvent(event('c1', name))).status).toBe(200);
    // Kamailio sending one again (it did not see the answer) changes nothing.
    expect((await postEvent(event('c1', 'answered'))).status).toBe(200);
    expect(relay.pendingEvents()).toBe(3);
    backend.failEventsWith(undefined);
    await waitFor(async () => relay.pendingEvents(), (n) => n === 0, 'the spool to empty');
    expect(backend.events.map((e) => `${e.callId} ${e.event}`)).toEqual(['c1 ringing', 'c1 answered', 'c1 ended']);
    expect(lines.join('\n')).toMatch(/the backend does not take call events \(HTTP 503\); keeping them/);
  });
});
