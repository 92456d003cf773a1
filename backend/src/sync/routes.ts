import type { FastifyInstance } from 'fastify';
import { API, ChangesQuery, PushRequest, SnapshotQuery, type ChangesPage, type PushResponse } from '../../../shared/api.js';
import type { User } from '../../../shared/domain.js';
import type { BackendContext } from '../context.js';
import { parseRequest } from '../http/errors.js';
import { resolveSessionByHash } from '../auth/sessions.js';
import { eventStreams } from '../http/server-sent-events.js';
import { readChangesPage } from './changes.js';
import { changesPageJson } from './changes-json.js';
import { currentSeq } from './changelog.js';
import { DeltaPokes } from './delta-pokes.js';
import { pacePokes, TenantStreams } from './poke-pacing.js';
import { applyPush } from './push.js';
import { RecentChanges } from './recent-changes.js';
import { RightsPokes } from './rights-pokes.js';
import { readSnapshotPage, snapshotPageBody, SnapshotTotals } from './snapshot.js';

export function registerSyncRoutes(app: FastifyInstance, ctx: BackendContext): void {
  const totals = new SnapshotTotals();
  app.get(API.syncSnapshot, async (request, reply): Promise<Buffer> => {
    const query = parseRequest(SnapshotQuery, request.query, 'query');
    const started = performance.now();
    const page = await readSnapshotPage(ctx.handle, request.auth, query, totals);
    const read = performance.now();
    // Assembled here rather than by Fastify so that its cost is measured: `bench:sync` reads
    // the split from Server-Timing (durations only, nothing about the data). The database wrote
    // the rows' JSON (snapshot-tables.ts) and its bytes are sent as they came: what is left is
    // putting the parts together.
    const body = snapshotPageBody(page);
    const serialised = performance.now();
    void reply
      .type('application/json; charset=utf-8')
      .header('server-timing', `db;dur=${(read - started).toFixed(1)}, json;dur=${(serialised - read).toFixed(1)}`);
    return body;
  });

  const recent = new RecentChanges(ctx.handle);
  const deltaPokes = new DeltaPokes(ctx.feed, recent, app.log);
  app.addHook('onClose', async () => deltaPokes.close());
  app.get(API.syncChanges, async (request, reply): Promise<string> => {
    const query = parseRequest(ChangesQuery, request.query, 'query');
    const page: ChangesPage = await readChangesPage(ctx.handle, request.auth, query, recent);
    void reply.type('application/json; charset=utf-8');
    return changesPageJson(page);
  });

  app.post(API.syncPush, async (request): Promise<PushResponse> => {
    const body = parseRequest(PushRequest, request.body, 'body');
    return { results: await applyPush(ctx.handle, request.auth, body.entries) };
  });

  registerEventsRoute(app, ctx, deltaPokes);
}

/**
 * GET /api/events: Server-Sent Events. `changed` (shared/api.ts `ChangedEvent`) carries the
 * new changes this user may see when the tenant's change log advances (delta-pokes.ts), else
 * `{ seq }`, paced for a tenant with many streams open (and once on connect, so a client that
 * reconnects pulls what it missed), and `{ seq, rights: true }` when this user's rights
 * changed; `ping` every 25 s keeps proxies from closing an idle stream and notices a session
 * that ended.
 */
function registerEventsRoute(app: FastifyInstance, ctx: BackendContext, deltaPokes: DeltaPokes): void {
  const openEventStream = eventStreams(app, ctx.handle);
  const tenantStreams = new TenantStreams();
  const rightsPokes = new RightsPokes(ctx.feed);
  app.get(API.events, async (request, reply) => {
    const { tenant } = request.auth;
    const userId = request.auth.user.id;
    const stream = openEventStream<'changed' | 'callme'>(request, reply);
    // "Call me": this operator's offer changed; the app asks for it (backend/src/callme).
    if (ctx.callmeOffers) stream.onEnd(ctx.callmeOffers.subscribe(tenant.id, userId, () => stream.send('callme', {})));
    stream.onEnd(tenantStreams.open(tenant.id));
    // Paced (poke-pacing.ts): when the apps must pull, a busy tenant's pull spread over a second, not all at once.
    const pokes = pacePokes(
      (seq) => stream.send('changed', { seq }),
      () => tenantStreams.spreadMs(tenant.id),
    );
    stream.onEnd(() => pokes.stop());
    let rights: User | null = request.auth.user;
    stream.onEnd(deltaPokes.add(tenant.id, { rights: () => rights, sendFramed: (framed) => stream.sendFramed(framed), poke: (seq) => pokes.poke(seq) }));
    // A rights poke goes to that user's streams only, at once and marked: it names no new
    // change, so without the mark an app that is up to date would not pull its new rights.
    // Until the new rights are read, this stream gets no delta filtered with the old ones.
    let rightsRead = 0;
    const onRightsPoke = (seq: number) => {
      rights = null;
      stream.send('changed', { seq, rights: true });
      const read = ++rightsRead;
      resolveSessionByHash(ctx.handle, request.auth.tokenHash)
        .then((session) => {
          if (read === rightsRead && session) rights = session.user;
        })
        .catch((error: unknown) => request.log.warn({ err: error }, 'event stream could not re-read the user\'s rights; it sends bare pokes'));
    };
    stream.onEnd(rightsPokes.subscribe(tenant.id, userId, onRightsPoke));
    // Subscribed first, then read: a change committed in between is announced twice, never lost.
    try {
      const seq = await currentSeq(ctx.handle, tenant.id);
      pokes.poke(seq);
      deltaPokes.opened(tenant.id, seq);
    } catch (error) {
      request.log.error({ err: error }, 'event stream could not read the change log');
      stream.end();
    }
  });
}
