/**
 * The worker's claims, on both databases, with workers driven by hand (no service around them): a
 * worker that stops gives its deliveries in flight back untried, and a worker that lost its claim
 * (it stalled past locked_until and another worker took the delivery) records nothing.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertDeliveries, insertEndpoint, insertEvents, purgeEvents } from '../../src/webhooks/repository.ts';
import { WebhookWorker } from '../../src/webhooks/worker.ts';
import { makeAccount, TestClock } from '../support/app.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { Receiver, waitFor } from './webhooks-receiver.ts';

let database: TestDatabase;
let receiver: Receiver;
const clock = new TestClock();
const SECRET = `whsec_${'w'.repeat(43)}`;
/** Answers held until the test lets them go. */
const held: (() => void)[] = [];
let hold = true;

beforeAll(async () => {
  database = await createTestDatabase();
  receiver = await Receiver.start({
    secret: () => SECRET,
    nowMs: () => clock.now().getTime(),
    respond: async (_request, _n, aborted) => {
      if (hold) await Promise.race([new Promise<void>((resolve) => held.push(resolve)), aborted]);
      return 200;
    },
  });
});

afterAll(async () => {
  for (const release of held) release();
  await receiver?.close();
  await database?.close();
});

/** One event queued for one endpoint on the receiver. */
async function queued(name: string) {
  const { account } = await makeAccount(database.db, name);
  const now = clock.now();
  const endpoint = await insertEndpoint(database.db, {
    account_id: account.id,
    url: receiver.url(`/${name}`),
    description: null,
    events: ['call.started'],
    secret: SECRET,
    created_at: now,
    updated_at: now,
  });
  const id = randomUUID();
  const body = JSON.stringify({ id, type: 'call.started', created_at: now.toISOString(), data: { call: {} } });
  await insertEvents(database.db, [
    { id, account_id: account.id, type: 'call.started', call_id: null, body, created_at: now },
  ]);
  await insertDeliveries(database.db, [
    {
      account_id: account.id,
      endpoint_id: endpoint.id,
      event_id: id,
      event_type: 'call.started',
      run_started_at: now,
      next_attempt_at: now,
      created_at: now,
      updated_at: now,
    },
  ]);
  const state = () =>
    database.db
      .selectFrom('webhook_deliveries')
      .select(['state', 'attempts', 'locked_until', 'claim_id'])
      .where('event_id', '=', id)
      .executeTakeFirstOrThrow();
  const attempts = () =>
    database.db
      .selectFrom('webhook_attempts')
      .innerJoin('webhook_deliveries', 'webhook_deliveries.id', 'webhook_attempts.delivery_id')
      .select(['succeeded', 'status_code'])
      .where('webhook_deliveries.event_id', '=', id)
      .execute();
  const sent = () => receiver.requests.filter((r) => r.event?.id === id);
  return { id, state, attempts, sent };
}

const worker = (options: { stopGraceMs?: number } = {}) =>
  new WebhookWorker(database.db, { clock: clock.now, pollMs: 50, ...options });

describe('a worker', () => {
  it('that stops gives a delivery in flight back untried after its grace, for the next worker to send', async () => {
    hold = true;
    const q = await queued('stopping');
    const first = worker({ stopGraceMs: 200 });
    first.start();
    await waitFor('the delivery in flight', () => q.sent().length === 1);
    expect((await q.state()).claim_id).not.toBeNull();
    const stopping = performance.now();
    await first.stop();
    expect(performance.now() - stopping).toBeGreaterThanOrEqual(190);
    // Given back: no attempt counted or logged, no claim left, due at once.
    expect(await q.state()).toEqual({ state: 'pending', attempts: 0, locked_until: null, claim_id: null });
    expect(await q.attempts()).toEqual([]);

    hold = false;
    const next = worker();
    next.start();
    try {
      await waitFor('delivered by the next worker', async () => (await q.state()).state === 'delivered');
    } finally {
      await next.stop();
    }
    expect(await q.attempts()).toEqual([{ succeeded: true, status_code: 200 }]);
    expect(q.sent()).toHaveLength(2);
  });

  it('that lost its claim records nothing: one logged success per event, whoever finishes last', async () => {
    hold = true;
    const q = await queued('stalled');
    const stalled = worker();
    const stalledRun = stalled.runOnce();
    await waitFor('the first worker’s delivery in flight', () => q.sent().length === 1);

    // The first worker seems dead: its claim expires and another takes the delivery and sends it.
    clock.advance(31);
    hold = false;
    const other = worker();
    expect(await other.runOnce()).toBe(1);
    expect(await q.attempts()).toEqual([{ succeeded: true, status_code: 200 }]);

    // The first worker wakes up, gets its 200, and finds its claim gone.
    for (const release of held.splice(0)) release();
    expect(await stalledRun).toBe(1);
    expect(await q.attempts()).toEqual([{ succeeded: true, status_code: 200 }]);
    expect(await q.state()).toMatchObject({ state: 'delivered', attempts: 1, claim_id: null });
    expect(q.sent().map((r) => r.status)).toEqual([200, 200]);
  });

  it('skips a delivery another worker holds, and takes nothing of a disabled endpoint', async () => {
    hold = true;
    const q = await queued('held');
    const holder = worker();
    const holding = holder.runOnce();
    await waitFor('the delivery in flight', () => q.sent().length === 1);
    expect(await worker().runOnce()).toBe(0);
    hold = false;
    for (const release of held.splice(0)) release();
    await holding;

    const off = await queued('disabled');
    await database.db
      .updateTable('webhook_endpoints')
      .set({ enabled: false })
      .where('url', '=', receiver.url('/disabled'))
      .execute();
    expect(await worker().runOnce()).toBe(0);
    expect(off.sent()).toEqual([]);
    expect(await off.state()).toMatchObject({ state: 'pending', attempts: 0 });
  });

  it('deletes finished events past their keeping time with their log, never one still pending', async () => {
    hold = false;
    const done = await queued('purge-done');
    const pending = await queued('purge-pending');
    await database.db
      .updateTable('webhook_endpoints')
      .set({ enabled: false })
      .where('url', '=', receiver.url('/purge-pending'))
      .execute();
    await worker().runOnce();
    expect(await done.state()).toMatchObject({ state: 'delivered' });
    const events = () =>
      database.db.selectFrom('webhook_events').select('id').where('id', 'in', [done.id, pending.id]).execute();

    // Not yet past the keeping time: nothing goes.
    await purgeEvents(database.db, clock.now());
    expect(await events()).toHaveLength(2);
    const later = new Date(clock.now().getTime() + 1);
    expect(await purgeEvents(database.db, later)).toBeGreaterThanOrEqual(1);
    expect((await events()).map((e) => e.id)).toEqual([pending.id]);
    expect(await done.attempts()).toEqual([]);
    const left = await database.db
      .selectFrom('webhook_deliveries')
      .select('id')
      .where('event_id', '=', done.id)
      .execute();
    expect(left).toEqual([]);
  });
});
