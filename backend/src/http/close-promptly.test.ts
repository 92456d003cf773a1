import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API } from '../../../shared/api.js';
import { startTestBackend, type TestBackend } from '../testing/harness.js';

describe('closing the backend', () => {
  let backend: TestBackend;
  let port: number;
  let token: string;

  beforeAll(async () => {
    backend = await startTestBackend('sqlite');
    port = Number(new URL(await backend.listen()).port);
    token = await backend.login('admin');
  });

  afterAll(async () => {
    await backend?.dispose();
  });

  // Without closePromptly the close waits out Node's headers timeout for the first connection
  // (60-90 s) and the keep-alive timeout for the second (72 s): this test times out.
  it('does not wait for a connection that never sent a request, nor for an event stream it ended', async () => {
    const preconnected = net.connect(port, '127.0.0.1');
    await once(preconnected, 'connect');
    const preconnectClosed = once(preconnected, 'close');

    const agent = new http.Agent({ keepAlive: true });
    const request = http.get({ host: '127.0.0.1', port, path: API.events, agent, headers: { authorization: `Bearer ${token}` } });
    const [response] = (await once(request, 'response')) as [http.IncomingMessage];
    expect(response.statusCode).toBe(200);
    response.resume();
    const streamEnded = once(response, 'end');
    const streamSocketClosed = once(response.socket, 'close');

    await backend.app.close();
    await Promise.all([preconnectClosed, streamEnded, streamSocketClosed]);
    expect(preconnected.destroyed).toBe(true);
    agent.destroy();
  });
});
