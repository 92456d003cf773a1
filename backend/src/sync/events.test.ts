import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API } from '../../../shared/api.js';
import { EventStreamReader, type ServerSentEvent } from '../testing/event-stream.js';
import { DIALECTS, startTestBackend, type TestBackend } from '../testing/harness.js';

const seqOf = (event: ServerSentEvent) => (event.data as { seq: number }).seq;

describe.each(DIALECTS)('event stream on %s', (dialect) => {
  let backend: TestBackend;
  let base: string;
  let token: string;
  const streams: EventStreamReader[] = [];
  beforeAll(async () => {
    backend = await startTestBackend(dialect);
    base = await backend.listen();
    token = await backend.login('agent');
  });
  afterAll(async () => {
    for (const stream of streams) stream.close();
    await backend?.dispose();
  });

  const open = (url: string, bearerToken?: string) => {
    const stream = new EventStreamReader(url, bearerToken);
    streams.push(stream);
    return stream;
  };
  const addNote = (body: string) =>
    backend.send(
      'POST',
      API.syncPush,
      { entries: [{ type: 'add_note', clientId: randomUUID(), incidentId: backend.demo.customers.yamada.incidentIds[0], body, createdAt: new Date().toISOString() }] },
      token,
    );

  it('sends `changed` with the new sequence after a write (token in the query)', async () => {
    const stream = open(`${base}${API.events}?token=${token}`);
    expect(await stream.status).toBe(200);
    const initial = seqOf(await stream.next((e) => e.event === 'changed'));
    const pushed = await addNote('SSE test');
    expect(pushed.statusCode).toBe(200);
    const poked = await stream.next((e) => e.event === 'changed' && seqOf(e) > initial);
    const { last_seq } = await backend.handle.db.selectFrom('tenants').select('last_seq').where('id', '=', backend.demo.tenant.id).executeTakeFirstOrThrow();
    expect(seqOf(poked)).toBe(Number(last_seq));
  });

  it('takes the token from the Authorization header too, and refuses a stream without one', async () => {
    const stream = open(`${base}${API.events}`, token);
    expect(await stream.status).toBe(200);
    await stream.next((e) => e.event === 'changed');
    const refused = open(`${base}${API.events}?token=wrong`);
    expect(await refused.status).toBe(401);
  });

  it('pokes the stream of one backend instance for a write through another', async () => {
    const other = backend.secondInstance();
    await other.listen({ host: '127.0.0.1', port: 0 });
    const address = other.server.address();
    if (!address || typeof address === 'string') throw new Error('no TCP address');
    const stream = open(`http://127.0.0.1:${address.port}${API.events}?token=${token}`);
    expect(await stream.status).toBe(200);
    const initial = seqOf(await stream.next((e) => e.event === 'changed'));
    expect((await addNote('written through the first instance')).statusCode).toBe(200);
    await stream.next((e) => e.event === 'changed' && seqOf(e) > initial);
  });

  it('pokes when a user\'s rights change, so the app pulls its new rights at once', async () => {
    const stream = open(`${base}${API.events}?token=${token}`);
    const opened = seqOf(await stream.next((e) => e.event === 'changed'));
    const before = stream.events.length;
    // The delta of the previous test's note may reach this stream after it opened: the app
    // skips a delta it is already past, and so does this test.
    const news = (e: ServerSentEvent) => e.event === 'changed' && !((e.data as { from?: number }).from !== undefined && seqOf(e) <= opened);
    const supervisor = await backend.login('supervisor');
    // Another user's rights: this stream hears nothing of it.
    const other = await backend.send('PATCH', API.userRights.replace(':id', backend.demo.users.osakaAgent.id), { mayHandleUnregisteredCallers: false }, supervisor);
    expect(other.statusCode).toBe(200);
    // This user's: the poke is marked, since its sequence is one the app already has.
    const changed = await backend.send('PATCH', API.userRights.replace(':id', backend.demo.users.agent.id), { mayHandleUnregisteredCallers: false }, supervisor);
    expect(changed.statusCode).toBe(200);
    const poked = await stream.next((e) => news(e) && stream.events.indexOf(e) >= before);
    expect(typeof poked.data === 'string' ? JSON.parse(poked.data) : poked.data).toMatchObject({ rights: true });
    expect(stream.events.slice(before).filter(news)).toHaveLength(1);
  });
});
