import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API, CallbackListResponse, PushResponse, type OutboxEntry } from '../../../shared/api.js';
import { createUser } from '../testing/fixtures.js';
import { DIALECTS, startTestBackend, type TestBackend } from '../testing/harness.js';

const MINUTE = 60_000;

describe.each(DIALECTS)('callback worklist on %s', (dialect) => {
  let backend: TestBackend;
  const tokens: Record<'agent' | 'central' | 'osaka' | 'osaka2' | 'supervisor', string> = {
    agent: '',
    central: '',
    osaka: '',
    osaka2: '',
    supervisor: '',
  };

  beforeAll(async () => {
    backend = await startTestBackend(dialect);
    const { handle, config, demo } = backend;
    // central: the agent's team (no branch), allowed to read every customer; osaka2: the osaka agent's team.
    await createUser(handle, demo.tenant.id, { login: 'central', displayName: '中央 三郎', customerLimitAuthority: 1, password: demo.password }, config.argon2);
    await createUser(
      handle,
      demo.tenant.id,
      { login: 'osaka2', displayName: '大阪 四郎', branch: 'osaka', customerLimitAuthority: 2, password: demo.password },
      config.argon2,
    );
    for (const login of Object.keys(tokens) as Array<keyof typeof tokens>) tokens[login] = await backend.login(login === 'osaka' ? 'osaka' : login);
  });
  afterAll(() => backend?.dispose());

  const at = (offsetMs: number) => new Date(Date.now() + offsetMs).toISOString();
  const list = async (token: string) => {
    const response = await backend.get(API.callbacks, token);
    expect(response.statusCode, response.body).toBe(200);
    return CallbackListResponse.parse(response.json());
  };
  const push = async (entries: OutboxEntry[], token: string) => {
    const response = await backend.send('POST', API.syncPush, { entries }, token);
    expect(response.statusCode, response.body).toBe(200);
    return PushResponse.parse(response.json()).results;
  };
  const flag = (customer: 'yamada' | 'sato', callbackDueAt: string | undefined, startedAt = at(-10 * MINUTE)): Extract<OutboxEntry, { type: 'log_call' }> => {
    const { id, incidentIds } = backend.demo.customers[customer];
    const phone = customer === 'yamada' ? '+81312345678' : '+81661234567';
    return {
      type: 'log_call',
      clientId: randomUUID(),
      customerId: id,
      incidentId: incidentIds[0]!,
      newIncidentTitle: null,
      direction: 'inbound',
      summary: '折り返し希望',
      body: '',
      callMeta: { callId: `wl-${randomUUID()}`, from: phone, to: 'agent', startedAt, answeredAt: startedAt, endedAt: startedAt, callbackNeeded: true, callbackDueAt },
      createdAt: at(0),
    };
  };

  it("lists the operator's open callbacks soonest due first, overdue marked, a due time with an offset in UTC", async () => {
    const inTwoHours = flag('yamada', at(120 * MINUTE));
    const halfAnHourLate = flag('yamada', at(-30 * MINUTE));
    // A morning in Tokyo time, written with its offset: sorts after the two-hour one.
    const tomorrow = new Date(Date.now() + 48 * 60 * MINUTE);
    const tokyoMorning = `${tomorrow.toISOString().slice(0, 10)}T09:00:00+09:00`;
    const inTokyo = flag('yamada', tokyoMorning);
    const results = await push([inTwoHours, halfAnHourLate, inTokyo], tokens.agent);
    expect(results.map((r) => r.status)).toEqual(['applied', 'applied', 'applied']);

    const { mine, teamOverdue } = await list(tokens.agent);
    expect(mine.map((task) => [task.id, task.overdue])).toEqual([
      [halfAnHourLate.clientId, true],
      [inTwoHours.clientId, false],
      [inTokyo.clientId, false],
    ]);
    expect(mine.find((task) => task.id === inTokyo.clientId)?.dueAt).toBe(new Date(tokyoMorning).toISOString());
    expect(mine[0]).toMatchObject({ customerName: '山田 太郎', remote: '+81312345678', flaggedByName: '鈴木 一郎' });
    // Their own overdue callback is in their own list, not again under the team's.
    expect(teamOverdue).toEqual([]);

    const audit = await backend.handle.db.selectFrom('audit_events').select('details').where('action', '=', 'callback_flagged').execute();
    expect(audit.map((row) => JSON.parse(row.details).dueAt)).toContain(halfAnHourLate.callMeta.callbackDueAt);
  });

  it('makes a callback without a due time (an older app) due at once', async () => {
    const asap = flag('sato', undefined);
    expect((await push([asap], tokens.osaka))[0]?.status).toBe('applied');
    const { mine } = await list(tokens.osaka);
    expect(mine).toEqual([expect.objectContaining({ id: asap.clientId, dueAt: asap.createdAt, overdue: true })]);
  });

  it('shows overdue callbacks to the same team and to the supervisor, never past customer visibility', async () => {
    const { mine: agentsOwn } = await list(tokens.agent);
    const agentsOverdue = agentsOwn.filter((task) => task.overdue).map((task) => task.id);
    const osakaLate = flag('sato', at(-5 * MINUTE));
    expect((await push([osakaLate], tokens.osaka))[0]?.status).toBe('applied');

    // central shares the agent's team (no branch) and may read sato too, but osaka is another team.
    const central = await list(tokens.central);
    expect(central.mine).toEqual([]);
    expect(central.teamOverdue.map((task) => task.id)).toEqual(agentsOverdue);
    expect(central.teamOverdue[0]).toMatchObject({ flaggedByName: '鈴木 一郎', overdue: true });

    const osaka2 = await list(tokens.osaka2);
    expect(osaka2.teamOverdue.map((task) => task.id)).toContain(osakaLate.clientId);
    expect(osaka2.teamOverdue.map((task) => task.id)).not.toEqual(expect.arrayContaining(agentsOverdue));

    const supervisor = await list(tokens.supervisor);
    expect(supervisor.teamOverdue.map((task) => task.id)).toEqual(expect.arrayContaining([...agentsOverdue, osakaLate.clientId]));
    // Not yet due: not the team's business.
    expect(supervisor.teamOverdue.every((task) => task.overdue)).toBe(true);
  });

  it('closes the task when a later call with the customer is logged, by whoever made it', async () => {
    const before = await list(tokens.central);
    expect(before.teamOverdue.length).toBeGreaterThan(0);
    // central calls yamada back from the team list: the logged call closes every open callback of yamada.
    const callBack = flag('yamada', undefined, at(0));
    callBack.callMeta.callbackNeeded = false;
    callBack.callMeta.callbackDueAt = undefined;
    callBack.direction = 'outbound';
    expect((await push([callBack], tokens.central))[0]?.status).toBe('applied');
    expect((await list(tokens.agent)).mine.filter((task) => task.customerId === backend.demo.customers.yamada.id)).toEqual([]);
    expect((await list(tokens.central)).teamOverdue).toEqual([]);
  });

  it('refuses a due time that is not a time, naming the field', async () => {
    const response = await backend.send('POST', API.syncPush, { entries: [flag('yamada', 'tomorrow morning')] }, tokens.agent);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ error: { code: 'invalid_input', message: expect.stringMatching(/callMeta\.callbackDueAt: /) } });
  });
});
