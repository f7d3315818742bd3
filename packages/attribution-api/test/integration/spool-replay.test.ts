import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallEvent } from '../../src/calls/events.ts';
import { CallSpool } from '../../src/calls/spool.ts';
import { buildTestApp, makeAccount, makeSiteWithPool, TestClock } from '../support/app.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

let database: TestDatabase;
let app: FastifyInstance;
let spool: CallSpool;
const clock = new TestClock();

beforeAll(async () => {
  database = await createTestDatabase();
  spool = new CallSpool({ dir: mkdtempSync(path.join(tmpdir(), 'ringpool-replay-')) });
  app = await buildTestApp(database.db, { clock: clock.now, callSpool: spool });
});

afterAll(async () => {
  await app.close();
  spool.close();
  await database.close();
});

describe('replaying the call spool', () => {
  it('writes spooled calls once, applies their updates, and sets aside an event the database refuses', async () => {
    const { account, auth } = await makeAccount(database.db, 'Replay');
    const { numbers } = await makeSiteWithPool(app, auth, { size: 1 });
    const number = numbers[0]?.e164 ?? '';
    const at = clock.now().toISOString();
    const base = { accountId: account.id, provider: 'generic', at };
    const events: CallEvent[] = [
      { type: 'call.started', ...base, callId: 'c1', to: number, from: '+12015550199', forwardedTo: '+12015550100' },
      { type: 'call.started', ...base, callId: 'c1', to: number, from: '+12015550199', forwardedTo: '+12015550100' },
      // A status the calls table does not allow: the database refuses it whatever happens.
      { type: 'call.status', ...base, callId: 'c1', status: 'exploded' as 'completed', durationS: 3 },
      { type: 'call.status', ...base, callId: 'c1', status: 'completed', durationS: 61 },
      { type: 'call.status', ...base, callId: 'c2', status: 'completed', durationS: 30 },
      { type: 'call.started', ...base, callId: 'c2', to: number, from: null, forwardedTo: '+12015550100' },
    ];
    for (const event of events) spool.append(event);

    await app.callRecorder.replay();

    const calls = await database.db
      .selectFrom('calls')
      .select(['provider_call_id', 'status', 'duration_s', 'qualified'])
      .orderBy('provider_call_id')
      .execute();
    expect(calls).toEqual([
      { provider_call_id: 'c1', status: 'completed', duration_s: 61, qualified: true },
      { provider_call_id: 'c2', status: 'completed', duration_s: 30, qualified: false },
    ]);
    expect(spool.pendingCount()).toBe(0);
    const poison = readFileSync(path.join(spool.dir, 'poison.ndjson'), 'utf8').trim().split('\n');
    expect(poison).toHaveLength(1);
    expect(JSON.parse(poison[0] ?? '{}').event).toMatchObject({ callId: 'c1', status: 'exploded' });
    expect(await database.db.selectFrom('call_orphan_events').selectAll().execute()).toEqual([]);
  });
});
