import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DAY_MS } from '../../src/retention/policy.ts';
import {
  buildTestApp,
  call,
  makeAccount,
  makeSiteWithPool,
  SITE_ORIGIN,
  startSession,
  TestClock,
} from '../support/app.ts';
import { createTestDatabase, snapshotRows, type TestDatabase } from '../support/database.ts';
import {
  callSid,
  connectTelephonyAccount,
  postTwilio,
  twilioSid,
  twilioToken,
  voiceParams,
} from '../support/telephony.ts';

const BASE = 'https://calls.example.com';
const START = new Date('2026-06-01T12:00:00Z');
const CALLER = '+12125550123';

let database: TestDatabase;
let app: FastifyInstance;
const clock = new TestClock();
let auth: Record<string, string>;
let plainAuth: Record<string, string>;
const sid = twilioSid();
const token = twilioToken();
let nextNumber = 2015550101;

beforeAll(async () => {
  database = await createTestDatabase();
  app = await buildTestApp(database.db, { clock: clock.now, publicBaseUrl: BASE });
  const account = await makeAccount(database.db, 'Retention', { admin: true });
  auth = account.auth;
  const plain = await createKey(account.account.id);
  plainAuth = { authorization: `Bearer ${plain}` };
  await connectTelephonyAccount(app, auth, { provider: 'twilio', provider_account: sid, secret: token });
});

afterAll(async () => {
  await app.close();
  await database.close();
});

beforeEach(() => {
  clock.current = new Date(START);
});

async function createKey(accountId: string): Promise<string> {
  const { createApiKey } = await import('../../src/accounts/repository.ts');
  return (await createApiKey(database.db, accountId, 'not admin', false)).key;
}

const at = (ms: number) => {
  clock.current = new Date(START.getTime() + ms);
};

async function site(size: number, settings: Record<string, unknown> = {}) {
  const made = await makeSiteWithPool(app, auth, { size, settings, firstNumber: nextNumber });
  nextNumber += size;
  return made;
}

async function visit(siteKey: string, visitor?: string) {
  const started = await startSession(app, siteKey, {
    url: `${SITE_ORIGIN}/implants?utm_source=google&utm_medium=cpc&utm_campaign=spring&gclid=Cj0-test`,
    ...(visitor ? { visitor } : {}),
  });
  expect(started.status).toBe(200);
  return {
    session: started.body.session as string,
    visitor: started.body.visitor as string,
    number: started.body.swaps[0].number?.e164 as string | undefined,
  };
}

const twilio = (path: string, params: Record<string, string>) =>
  postTwilio(app, { path, params: { AccountSid: sid, ...params }, authToken: token, signedUrl: `${BASE}${path}` });

/** A call through Twilio's signed webhooks, now, with a recording; returns its id. */
async function ring(to: string, from = CALLER): Promise<string> {
  const id = callSid();
  const answer = await postTwilio(app, {
    path: '/v1/telephony/twilio/voice',
    params: voiceParams({ accountSid: sid, callSid: id, from, to }),
    authToken: token,
    signedUrl: `${BASE}/v1/telephony/twilio/voice`,
  });
  expect(answer.statusCode).toBe(200);
  const recorded = await twilio('/v1/telephony/twilio/recording', {
    CallSid: id,
    RecordingStatus: 'completed',
    RecordingUrl: `https://api.twilio.com/2010-04-01/Accounts/${sid}/Recordings/RE${id.slice(2)}`,
    RecordingDuration: '42',
  });
  expect(recorded.statusCode).toBe(204);
  const row = await database.db
    .selectFrom('calls')
    .select('id')
    .where('provider_call_id', '=', id)
    .executeTakeFirstOrThrow();
  return row.id;
}

const callRow = (id: string) =>
  database.db.selectFrom('calls').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

async function run(siteId: string, as = auth) {
  return call(app, as, { method: 'POST', url: `/v1/sites/${siteId}/retention/run` });
}

async function counts(siteId: string) {
  const response = await run(siteId);
  expect(response.status).toBe(200);
  return response.body.counts as Record<string, number>;
}

const count = async (
  table: 'sessions' | 'leases' | 'call_intents' | 'pool_exhaustions' | 'visitors',
  ids: string[],
) => {
  if (table === 'visitors') {
    return (await database.db.selectFrom('visitors').select('id').where('id', 'in', ids).execute()).length;
  }
  const column = table === 'sessions' ? 'id' : 'session_id';
  const rows = await sql<{
    n: string;
  }>`SELECT count(*) AS n FROM ${sql.table(table)} WHERE ${sql.ref(column)} = ANY(${ids}::uuid[])`.execute(database.db);
  return Number(rows.rows[0]?.n);
};

describe('masking callers and dropping recording links', () => {
  it('happens to a call exactly when it is older than the window, not a millisecond before', async () => {
    const { site: s, numbers } = await site(1, { retention_caller_days: 90, retention_recording_days: 30 });
    const first = await ring(numbers[0]?.e164 as string);
    at(1);
    const second = await ring(numbers[0]?.e164 as string, '+442079460958');

    at(30 * DAY_MS);
    expect(await counts(s.id)).toMatchObject({ recordings_dropped: 0, callers_masked: 0 });
    expect((await callRow(first)).recording_url).toMatch(/^https:\/\/api\.twilio\.com\//);

    at(30 * DAY_MS + 1);
    expect(await counts(s.id)).toMatchObject({ recordings_dropped: 1, callers_masked: 0 });
    expect(await callRow(first)).toMatchObject({ recording_url: null, recording_duration_s: null, caller: CALLER });
    expect(await callRow(second)).toMatchObject({ recording_duration_s: 42 });

    at(30 * DAY_MS + 2);
    expect(await counts(s.id)).toMatchObject({ recordings_dropped: 1 });
    expect((await callRow(second)).recording_url).toBeNull();

    at(90 * DAY_MS);
    expect(await counts(s.id)).toMatchObject({ callers_masked: 0 });
    at(90 * DAY_MS + 1);
    expect(await counts(s.id)).toMatchObject({ callers_masked: 1 });
    const masked = await callRow(first);
    expect(masked.caller).toBe('+1********23');
    expect(masked.caller_masked_at).toEqual(clock.current);
    expect((await callRow(second)).caller).toBe('+442079460958');
    at(90 * DAY_MS + 2);
    expect(await counts(s.id)).toMatchObject({ callers_masked: 1 });
    expect((await callRow(second)).caller).toBe('+44********58');

    // The calls API shows the masked form; the call is still counted, with its attribution.
    const listed = await call(app, auth, { method: 'GET', url: `/v1/calls?site_id=${s.id}` });
    expect(listed.body.calls.map((c: { caller: string }) => c.caller).sort()).toEqual([
      '+1********23',
      '+44********58',
    ]);
  });

  it('no longer links a new call to a masked one: repeat callers are recognised within the window', async () => {
    const { site: s, numbers } = await site(1, { retention_caller_days: 90 });
    const to = numbers[0]?.e164 as string;
    const first = await ring(to);
    at(DAY_MS);
    const repeat = await ring(to);
    expect(await callRow(repeat)).toMatchObject({ is_first_call: false, first_call_id: first });

    at(91 * DAY_MS);
    await counts(s.id);
    const later = await ring(to);
    // The first call is masked, the repeat (90 days old less one) is not: the new call links to it.
    expect(await callRow(later)).toMatchObject({ is_first_call: false, first_call_id: repeat });
    at(200 * DAY_MS);
    await counts(s.id);
    const afterAll = await ring(to);
    expect(await callRow(afterAll)).toMatchObject({ is_first_call: true, first_call_id: null });
    // Links made before masking stay.
    expect(await callRow(repeat)).toMatchObject({ caller: '+1********23', first_call_id: first });
  });
});

describe('purging visits', () => {
  it('deletes a visit older than the window with its leases, taps, exhaustions and lone visitor, and strips its calls', async () => {
    const { site: s } = await site(1, { retention_session_days: 180 });
    const old = await visit(s.public_key);
    // The pool's one number is taken: this visit counts an exhaustion.
    const crowded = await visit(s.public_key);
    expect(crowded.number).toBeUndefined();
    const tapped = await app.inject({
      method: 'POST',
      url: `/v1/public/sites/${s.public_key}/sessions/${old.session}/intents`,
      headers: { origin: SITE_ORIGIN, 'content-type': 'text/plain' },
      payload: JSON.stringify({ number: `tel:${old.number}` }),
    });
    expect(tapped.statusCode).toBe(204);
    at(60_000);
    const attributed = await ring(old.number as string);
    expect(await callRow(attributed)).toMatchObject({
      session_id: old.session,
      landing_url: `${SITE_ORIGIN}/implants`,
    });

    // A returning visitor: an old visit and one inside the window.
    const returning = await visit(s.public_key);
    at(100 * DAY_MS);
    const recent = await visit(s.public_key, returning.visitor);
    expect(recent.visitor).toBe(returning.visitor);

    const oldSessions = [old.session, crowded.session, returning.session];
    expect(await count('leases', [old.session])).toBe(1);
    expect(await count('call_intents', [old.session])).toBe(1);
    expect(await count('pool_exhaustions', [crowded.session])).toBe(1);

    // The first two visits were last seen at START, the returning one a minute later: each is kept up to
    // and at exactly 180 days after that, and purged a millisecond later.
    at(180 * DAY_MS);
    expect(await counts(s.id)).toMatchObject({ sessions_purged: 0, visitors_purged: 0 });
    at(180 * DAY_MS + 1);
    expect(await counts(s.id)).toMatchObject({ sessions_purged: 2, visitors_purged: 2 });
    expect(await count('sessions', [returning.session])).toBe(1);
    at(180 * DAY_MS + 60_000);
    expect(await counts(s.id)).toMatchObject({ sessions_purged: 0 });
    at(180 * DAY_MS + 60_001);
    expect(await counts(s.id)).toMatchObject({ sessions_purged: 1, visitors_purged: 0 });

    expect(await count('sessions', oldSessions)).toBe(0);
    expect(await count('leases', [old.session])).toBe(0);
    expect(await count('call_intents', [old.session])).toBe(0);
    expect(await count('pool_exhaustions', [crowded.session])).toBe(0);
    expect(await count('visitors', [old.visitor, crowded.visitor])).toBe(0);
    // The returning visitor still has a visit: its first touch stays.
    expect(await count('visitors', [returning.visitor])).toBe(1);
    expect(await count('sessions', [recent.session])).toBe(1);

    // The call keeps what reports need, and loses the visit.
    expect(await callRow(attributed)).toMatchObject({
      session_id: null,
      landing_url: null,
      candidates: [],
      source: 'google',
      medium: 'cpc',
      campaign: 'spring',
      device_type: 'desktop',
      confidence: 'high',
    });
    const detail = await call(app, auth, { method: 'GET', url: `/v1/calls/${attributed}` });
    expect(detail.body).toMatchObject({ visit: null, candidates: [], source: 'google' });
  });

  it('clears the visit detail of an old call whose visits are gone or never won it', async () => {
    const { site: s } = await site(1, { retention_session_days: 30 });
    const shown = await visit(s.public_key);
    // Two days after release: the call is unattributed, but its candidates name the visit.
    at(3 * DAY_MS);
    const unattributed = await ring(shown.number as string);
    expect(await callRow(unattributed)).toMatchObject({ session_id: null });
    expect((await callRow(unattributed)).candidates).toHaveLength(1);

    at(33 * DAY_MS);
    expect(await counts(s.id)).toMatchObject({ sessions_purged: 1, calls_visit_cleared: 0 });
    expect((await callRow(unattributed)).candidates).toHaveLength(1);
    at(33 * DAY_MS + 1);
    expect(await counts(s.id)).toMatchObject({ sessions_purged: 0, calls_visit_cleared: 1 });
    expect((await callRow(unattributed)).candidates).toEqual([]);
  });

  it('never purges a visit whose lease still holds its number, even past the window', async () => {
    const { site: s } = await site(1, { idle_timeout_s: 86_400, retention_session_days: 3 });
    // A window shorter than the lease can only be set in the database itself; the pass still holds back.
    await database.db.updateTable('sites').set({ retention_session_days: 1 }).where('id', '=', s.id).execute();
    const holding = await visit(s.public_key);

    // Past the 1-day window, inside the lease's cooldown (idle 1 day + 15 min).
    at(DAY_MS + 1);
    expect(await counts(s.id)).toMatchObject({ sessions_purged: 0 });
    at(DAY_MS + 15 * 60_000 - 1);
    expect(await counts(s.id)).toMatchObject({ sessions_purged: 0 });
    expect(await count('sessions', [holding.session])).toBe(1);
    at(DAY_MS + 15 * 60_000);
    expect(await counts(s.id)).toMatchObject({ sessions_purged: 1 });
    expect(await count('leases', [holding.session])).toBe(0);
    // The number is free for the next visit.
    expect((await visit(s.public_key)).number).toBe(holding.number);
  });
});

describe('a pass', () => {
  it('changes nothing the second time, and nothing of a site with other windows', async () => {
    const { site: short, numbers } = await site(1, {
      retention_caller_days: 2,
      retention_recording_days: 1,
      retention_session_days: 2,
    });
    const { site: kept, numbers: keptNumbers } = await site(1, {
      retention_caller_days: null,
      retention_recording_days: null,
      retention_session_days: null,
    });
    const { site: longer, numbers: longerNumbers } = await site(1);
    const shortVisit = await visit(short.public_key);
    for (const s of [kept, longer]) await visit(s.public_key);
    at(60_000);
    const shortCall = await ring(numbers[0]?.e164 as string);
    for (const n of [keptNumbers, longerNumbers]) await ring(n[0]?.e164 as string);

    at(10 * DAY_MS);
    // Every row of every table, but the short site's own and the retention schedule.
    const shortIds = [short.id, shortVisit.session, shortVisit.visitor, shortCall, ...numbers.map((n) => n.id)];
    const pool = await database.db.selectFrom('pools').select('id').where('site_id', '=', short.id).execute();
    shortIds.push(...pool.map((p) => p.id));
    const untouched = async () =>
      (await snapshotRows(database.db)).filter(
        (row) => !row.startsWith('site_retention') && !shortIds.some((id) => row.includes(id)),
      );
    const others = await untouched();
    const first = await counts(short.id);
    expect(first).toEqual({
      callers_masked: 1,
      recordings_dropped: 1,
      sessions_purged: 1,
      visitors_purged: 1,
      calls_visit_cleared: 1,
    });
    expect(await untouched()).toEqual(others);
    for (const s of [kept, longer]) {
      expect(await counts(s.id)).toEqual({
        callers_masked: 0,
        recordings_dropped: 0,
        sessions_purged: 0,
        visitors_purged: 0,
        calls_visit_cleared: 0,
      });
    }

    const before = (await snapshotRows(database.db)).filter((row) => !row.startsWith('site_retention'));
    expect(Object.values(await counts(short.id)).every((n) => n === 0)).toBe(true);
    expect((await snapshotRows(database.db)).filter((row) => !row.startsWith('site_retention'))).toEqual(before);

    // Ten years on, the site that keeps everything still has its caller and recording.
    at(3650 * DAY_MS);
    await counts(kept.id);
    const row = await database.db
      .selectFrom('calls')
      .select(['caller', 'recording_url', 'session_id'])
      .where('site_id', '=', kept.id)
      .executeTakeFirstOrThrow();
    expect(row.caller).toBe(CALLER);
    expect(row.recording_url).not.toBeNull();
    expect(row.session_id).not.toBeNull();
  });
});

describe('the retention routes', () => {
  it('show the windows, what they cut off now, and the last pass', async () => {
    const { site: s } = await site(1, { retention_caller_days: 60 });
    const before = await call(app, plainAuth, { method: 'GET', url: `/v1/sites/${s.id}/retention` });
    expect(before.status).toBe(200);
    expect(before.body).toEqual({
      site_id: s.id,
      retention_caller_days: 60,
      retention_recording_days: 30,
      retention_session_days: 180,
      cutoffs: {
        callers: new Date(START.getTime() - 60 * DAY_MS).toISOString(),
        recordings: new Date(START.getTime() - 30 * DAY_MS).toISOString(),
        sessions: new Date(START.getTime() - 180 * DAY_MS).toISOString(),
      },
      interval_s: 3600,
      next_run_at: null,
      last_run: null,
    });

    expect(await run(s.id)).toMatchObject({ status: 200, body: { trigger: 'manual' } });
    const after = await call(app, plainAuth, { method: 'GET', url: `/v1/sites/${s.id}/retention` });
    expect(after.body.last_run).toEqual({
      trigger: 'manual',
      started_at: START.toISOString(),
      finished_at: START.toISOString(),
      counts: {
        callers_masked: 0,
        recordings_dropped: 0,
        sessions_purged: 0,
        visitors_purged: 0,
        calls_visit_cleared: 0,
      },
    });
    expect(after.body.next_run_at).toBe(new Date(START.getTime() + 3600_000).toISOString());
  });

  it('run a pass for an admin key only, and answer 404 for another account’s site', async () => {
    const { site: s, numbers } = await site(1, { retention_recording_days: 1 });
    await ring(numbers[0]?.e164 as string);
    at(2 * DAY_MS);
    const refused = await run(s.id, plainAuth);
    expect(refused).toMatchObject({ status: 403, body: { error: 'forbidden' } });
    expect(
      (await database.db.selectFrom('calls').select('recording_url').where('site_id', '=', s.id).execute())[0],
    ).toMatchObject({ recording_url: expect.any(String) });

    const other = await makeAccount(database.db, 'Other practice', { admin: true });
    expect((await run(s.id, other.auth)).status).toBe(404);
    const peek = await call(app, other.auth, { method: 'GET', url: `/v1/sites/${s.id}/retention` });
    expect(peek.status).toBe(404);
    expect((await call(app, auth, { method: 'GET', url: '/v1/sites/not-a-uuid/retention' })).status).toBe(400);
    expect((await call(app, {}, { method: 'GET', url: `/v1/sites/${s.id}/retention` })).status).toBe(401);
    expect(
      await database.db.selectFrom('site_retention').select('site_id').where('site_id', '=', s.id).execute(),
    ).toEqual([]);
  });
});

describe('retention settings on the site API', () => {
  it('come with their defaults, and take integers from 1 to 3650 or null', async () => {
    const created = await call(app, auth, {
      method: 'POST',
      url: '/v1/sites',
      payload: { name: 'Defaults', allowed_origins: [SITE_ORIGIN], swap_targets: ['(201) 555-0100'] },
    });
    expect(created.body).toMatchObject({
      retention_caller_days: 90,
      retention_recording_days: 30,
      retention_session_days: 180,
    });
    const patched = await call(app, auth, {
      method: 'PATCH',
      url: `/v1/sites/${created.body.id}`,
      payload: { retention_caller_days: null, retention_recording_days: 3650, retention_session_days: 2 },
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({
      retention_caller_days: null,
      retention_recording_days: 3650,
      retention_session_days: 2,
    });
    const listed = await call(app, auth, { method: 'GET', url: '/v1/sites' });
    expect(listed.body.sites.find((x: { id: string }) => x.id === created.body.id)).toMatchObject({
      retention_caller_days: null,
    });
  });

  it('refuses a window out of range, not an integer, or too short for attribution, changing nothing', async () => {
    const { site: s } = await site(1);
    const before = await snapshotRows(database.db);
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ retention_caller_days: 0 }, /retention_caller_days/],
      [{ retention_recording_days: 3651 }, /retention_recording_days/],
      [{ retention_session_days: 1.5 }, /retention_session_days/],
      [{ retention_caller_days: '90' }, /retention_caller_days/],
      [{ retention_session_days: 1 }, /at least 2/],
      [{ idle_timeout_s: 86_400, cooldown_s: 86_400, retention_session_days: 2 }, /at least 3/],
    ];
    for (const [payload, message] of bad) {
      const response = await call(app, auth, { method: 'PATCH', url: `/v1/sites/${s.id}`, payload });
      expect(response.status, JSON.stringify(payload)).toBe(400);
      expect(JSON.stringify(response.body)).toMatch(message);
    }
    // Longer lease timings against the current (short) window are refused too.
    await call(app, auth, { method: 'PATCH', url: `/v1/sites/${s.id}`, payload: { retention_session_days: 2 } });
    const snapshot = await snapshotRows(database.db);
    const longer = await call(app, auth, {
      method: 'PATCH',
      url: `/v1/sites/${s.id}`,
      payload: { idle_timeout_s: 86_400 },
    });
    expect(longer.status).toBe(400);
    expect(longer.body.message).toMatch(/retention_session_days must be at least 3/);
    expect(await snapshotRows(database.db)).toEqual(snapshot);

    const create = await call(app, auth, {
      method: 'POST',
      url: '/v1/sites',
      payload: {
        name: 'Too short',
        allowed_origins: [SITE_ORIGIN],
        swap_targets: ['(201) 555-0100'],
        retention_session_days: 1,
      },
    });
    expect(create.status).toBe(400);
    expect(before.length).toBeGreaterThan(0);
    expect((await snapshotRows(database.db)).filter((row) => row.includes('"Too short"'))).toEqual([]);
  });
});
