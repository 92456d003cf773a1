import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API, ChangedEvent, type Change } from '../../../shared/api.js';
import { EventStreamReader, type ServerSentEvent } from '../testing/event-stream.js';
import { DIALECTS, startTestBackend, type TestBackend } from '../testing/harness.js';
import { DeltaPokes } from './delta-pokes.js';
import type { ChangeFeed } from './feed.js';
import type { RecentChanges } from './recent-changes.js';

const changedOf = (event: ServerSentEvent): ChangedEvent | null => (event.event === 'changed' ? ChangedEvent.parse(event.data) : null);
const contactBodies = (changes: readonly Change[]) => changes.flatMap((change) => (change.op === 'upsert_contact' ? [change.contact.body] : []));

/**
 * Delta pokes (delta-pokes.ts): the `changed` event carries the changes, filtered per user
 * exactly as a pull would filter them. Demo tenant: `agent` (class 3, no branch) sees 山田
 * only; `osaka` (class 2, branch osaka) sees 佐藤 only.
 */
describe.each(DIALECTS)('delta pokes on %s', (dialect) => {
  let backend: TestBackend;
  let base: string;
  let tokens: Record<'agent' | 'osaka', string>;
  const streams: EventStreamReader[] = [];
  beforeAll(async () => {
    backend = await startTestBackend(dialect);
    base = await backend.listen();
    tokens = { agent: await backend.login('agent'), osaka: await backend.login('osaka') };
  });
  afterAll(async () => {
    for (const stream of streams) stream.close();
    await backend?.dispose();
  });

  const open = async (token: string) => {
    const stream = new EventStreamReader(`${base}${API.events}`, token);
    streams.push(stream);
    expect(await stream.status).toBe(200);
    await stream.next((event) => event.event === 'changed');
    return stream;
  };
  const addNote = (token: string, incidentId: string, body: string) => backend.pushNote(token, incidentId, body);
  const deltaWith = (stream: EventStreamReader, body: string) =>
    stream.next((event) => contactBodies(changedOf(event)?.changes ?? []).includes(body)).then((event) => changedOf(event)!);

  it('sends each stream the new changes its user may see, as the pull would give them', async () => {
    const { yamada, sato } = backend.demo.customers;
    const agentStream = await open(tokens.agent);
    const osakaStream = await open(tokens.osaka);
    const lastSeq = async () =>
      Number((await backend.handle.db.selectFrom('tenants').select('last_seq').where('id', '=', backend.demo.tenant.id).executeTakeFirstOrThrow()).last_seq);
    const before = await lastSeq();

    await addNote(tokens.agent, yamada.incidentIds[0]!, 'delta: 山田 note');
    await addNote(tokens.osaka, sato.incidentIds[0]!, 'delta: 佐藤 note');
    const agentDelta = await deltaWith(agentStream, 'delta: 山田 note');
    const osakaDelta = await deltaWith(osakaStream, 'delta: 佐藤 note');

    // What the delta carries is what a pull from its `from` gives (the pull filters per user).
    for (const [token, delta] of [
      [tokens.agent, agentDelta],
      [tokens.osaka, osakaDelta],
    ] as const) {
      expect(delta.from).toBeGreaterThanOrEqual(before);
      const pulled = await backend.get(`${API.syncChanges}?after=${delta.from}`, token);
      const page = pulled.json() as { changes: Change[]; cursor: number };
      expect(page.cursor).toBeGreaterThanOrEqual(delta.seq);
      expect(delta.changes).toEqual(page.changes.filter((change) => change.seq <= delta.seq));
    }
    // Every stream has been sent a position at or past the second note (as a delta or a bare
    // poke): nothing about either note can still be on its way.
    const after = await lastSeq();
    for (const stream of [agentStream, osakaStream]) await stream.next((event) => (changedOf(event)?.seq ?? -1) >= after);

    // Important: a customer a user may not see never reaches that user's stream, not even its id.
    const everything = (stream: EventStreamReader) => JSON.stringify(stream.events);
    expect(everything(osakaStream)).not.toContain(yamada.id);
    expect(everything(osakaStream)).not.toContain('delta: 山田 note');
    expect(everything(agentStream)).not.toContain(sato.id);
    expect(everything(agentStream)).not.toContain('delta: 佐藤 note');
  });

  it('filters the deltas with the new rights once they changed, never with the old ones', async () => {
    const { yamada, sato } = backend.demo.customers;
    const { agent } = backend.demo.users;
    const supervisor = await backend.login('supervisor');
    const agentStream = await open(tokens.agent);
    const setRights = async (rights: object) => {
      const response = await backend.send('PATCH', API.userRights.replace(':id', agent.id), rights, supervisor);
      expect(response.statusCode, response.body).toBe(200);
    };
    // The agent moves to the Osaka branch with class 2: 佐藤 becomes visible, 山田 does not any more.
    await setRights({ customerLimitAuthority: 2, branch: 'osaka' });
    const rightsPoke = agentStream.events.length;
    await agentStream.next((event) => changedOf(event)?.rights === true);
    try {
      await addNote(supervisor, yamada.incidentIds[0]!, 'rights: 山田 after the change');
      await addNote(supervisor, sato.incidentIds[0]!, 'rights: 佐藤 after the change');
      const { last_seq } = await backend.handle.db.selectFrom('tenants').select('last_seq').where('id', '=', backend.demo.tenant.id).executeTakeFirstOrThrow();
      // Either a delta with the new rights or, while they are re-read, a bare poke: never the old filter.
      await agentStream.next((event) => (changedOf(event)?.seq ?? -1) >= Number(last_seq));
      const since = agentStream.events.slice(rightsPoke);
      const deltas = since.flatMap((event) => changedOf(event)?.changes ?? []);
      expect(JSON.stringify(since)).not.toContain('rights: 山田 after the change');
      if (deltas.length > 0) expect(contactBodies(deltas)).toContain('rights: 佐藤 after the change');
    } finally {
      await setRights({ customerLimitAuthority: 3, branch: null });
    }
  });

  it('sends the same delta to every stream of one rights profile, and the stream of another instance its own', async () => {
    const { yamada } = backend.demo.customers;
    const other = backend.secondInstance();
    await other.listen({ host: '127.0.0.1', port: 0 });
    const address = other.server.address();
    if (!address || typeof address === 'string') throw new Error('no TCP address');
    const first = await open(tokens.agent);
    const second = await open(await backend.login('agent'));
    const elsewhere = new EventStreamReader(`http://127.0.0.1:${address.port}${API.events}`, tokens.agent);
    streams.push(elsewhere);
    expect(await elsewhere.status).toBe(200);
    await elsewhere.next((event) => event.event === 'changed');

    // The first write after a stream opened may still come as a bare poke on the other instance
    // (its memory starts at the stream's position): write until a delta reaches it.
    for (let i = 0; ; i++) {
      const body = `delta: shared ${i}`;
      await addNote(tokens.agent, yamada.incidentIds[0]!, body);
      const [a, b] = await Promise.all([deltaWith(first, body), deltaWith(second, body)]);
      expect(a).toEqual(b);
      const reached = await elsewhere.next((event) => {
        const changed = changedOf(event);
        return changed !== null && (contactBodies(changed.changes ?? []).includes(body) || (changed.changes === undefined && changed.seq >= a.seq));
      });
      if (changedOf(reached)?.changes) break;
      expect(i).toBeLessThan(3);
    }
    await other.close();
  });
});

describe('delta fan-out slices', () => {
  it('sizes the next slice to its wall-time budget at the pace of the last full slice, within bounds', () => {
    const quiet = { warn: () => undefined, info: () => undefined };
    const pokes = new DeltaPokes({} as ChangeFeed, {} as RecentChanges, quiet);
    try {
      pokes.sliceTook(pokes.streamsPerSlice, 3);
      expect(pokes.streamsPerSlice).toBe(500);
      // A loaded machine: 100 µs a stream would be 600 ms for the whole slice; the floor holds.
      pokes.sliceTook(500, 50);
      expect(pokes.streamsPerSlice).toBe(100);
      // The tail of a fan-out, shorter than a slice, says nothing about the pace.
      pokes.sliceTook(40, 0.05);
      expect(pokes.streamsPerSlice).toBe(100);
      pokes.sliceTook(100, 0.05);
      expect(pokes.streamsPerSlice).toBe(1_000);
    } finally {
      pokes.close();
    }
  });
});
