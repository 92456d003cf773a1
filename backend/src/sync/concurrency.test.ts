import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API, ChangesPage, PushResponse } from '../../../shared/api.js';
import { DIALECTS, startTestBackend, type TestBackend } from '../testing/harness.js';

const WRITERS = 8;
const NOTES_PER_WRITER = 50;
/** Small pages put many page boundaries among the concurrent commits. */
const READER_PAGE = 20;
/** Bounds the reader's loop; it ends far earlier once the writers are done. */
const MAX_READER_ROUNDS = 100_000;

/**
 * Requirement (a): many writers commit notes concurrently through real HTTP while a reader pulls
 * the change feed in a loop. A feed whose sequence order differs from commit order lets the
 * reader's cursor pass a change that commits late; the reader would then miss it for good.
 */
describe.each(DIALECTS)('concurrent writers and a pulling reader on %s', (dialect) => {
  let backend: TestBackend;
  let base: string;
  beforeAll(async () => {
    backend = await startTestBackend(dialect);
    base = await backend.listen();
  });
  afterAll(() => backend?.dispose());

  async function call<T>(path: string, token: string, parse: (body: unknown) => T, body?: unknown): Promise<T> {
    const response = await fetch(`${base}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    if (response.status !== 200) throw new Error(`${path}: ${response.status} ${text}`);
    return parse(JSON.parse(text));
  }

  it(`delivers every one of ${WRITERS * NOTES_PER_WRITER} notes to the reader, none skipped`, async () => {
    const { yamada, sato } = backend.demo.customers;
    const incidents = [yamada.incidentIds[0], sato.incidentIds[0]].filter((id): id is string => id !== undefined);
    const readerToken = await backend.login('supervisor');
    // One after the other: parallel sign-ins of one account are counted as failures until their
    // passwords are checked (auth/throttle.ts), so a burst of them is throttled by design.
    const writerTokens: string[] = [];
    for (let writer = 0; writer < WRITERS; writer += 1) writerTokens.push(await backend.login('supervisor'));

    const pull = (after: number) => call(`${API.syncChanges}?after=${after}&limit=${READER_PAGE}`, readerToken, (b) => ChangesPage.parse(b));
    let cursor = 0;
    for (let page = await pull(cursor); ; page = await pull(cursor)) {
      cursor = page.cursor;
      if (!page.hasMore) break;
    }

    let writersDone = false;
    const seen = new Set<string>();
    const seqs: number[] = [];
    let rounds = 0;
    const reader = (async () => {
      for (; rounds < MAX_READER_ROUNDS; rounds++) {
        // Read the flag before pulling: a pull that starts after the last commit sees them all.
        const finished = writersDone;
        const page = await pull(cursor);
        for (const change of page.changes) {
          seqs.push(change.seq);
          if (change.op === 'upsert_contact') seen.add(change.contact.id);
        }
        cursor = page.cursor;
        if (finished && !page.hasMore) return;
      }
      throw new Error(`reader gave up after ${MAX_READER_ROUNDS} rounds`);
    })();

    const writers = Array.from({ length: WRITERS }, async (_, writer) => {
      const token = writerTokens[writer] ?? '';
      const ids: string[] = [];
      for (let n = 0; n < NOTES_PER_WRITER; n++) {
        const entry = {
          type: 'add_note',
          clientId: randomUUID(),
          incidentId: incidents[(writer + n) % incidents.length],
          body: `writer ${writer} note ${n}`,
          createdAt: new Date().toISOString(),
        };
        const { results } = await call(API.syncPush, token, (b) => PushResponse.parse(b), { entries: [entry] });
        expect(results[0]?.status).toBe('applied');
        ids.push(results[0]?.contactId ?? '');
      }
      return ids;
    });
    let written: string[];
    try {
      written = (await Promise.all(writers)).flat();
    } finally {
      writersDone = true;
    }
    await reader;

    expect(new Set(written).size).toBe(WRITERS * NOTES_PER_WRITER);
    const missed = written.filter((id) => !seen.has(id));
    expect(missed).toEqual([]);
    expect(seen.size).toBe(WRITERS * NOTES_PER_WRITER);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1] ?? 0);
    // The reader really ran alongside the writers rather than once at the end.
    expect(rounds).toBeGreaterThan(1);
  });
});
