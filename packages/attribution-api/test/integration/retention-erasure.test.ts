import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/accounts/repository.ts';
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
const PATIENT = '+12125550123';
const NEIGHBOUR = '+13105550199';

let database: TestDatabase;
let app: FastifyInstance;
const clock = new TestClock(new Date(START));
let auth: Record<string, string>;
let plainAuth: Record<string, string>;
const sid = twilioSid();
const token = twilioToken();
const logs: string[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  const stream = new Writable({
    write(chunk, _encoding, done) {
      logs.push(String(chunk));
      done();
    },
  });
  app = await buildTestApp(database.db, { clock: clock.now, publicBaseUrl: BASE, logger: { level: 'info', stream } });
  const made = await makeAccount(database.db, 'Practice', { admin: true });
  auth = made.auth;
  plainAuth = { authorization: `Bearer ${(await createApiKey(database.db, made.account.id, 'staff', false)).key}` };
  await connectTelephonyAccount(app, auth, { provider: 'twilio', provider_account: sid, secret: token });
});

afterAll(async () => {
  await app.close();
  await database.close();
});

const at = (ms: number) => {
  clock.current = new Date(START.getTime() + ms);
};

async function visit(siteKey: string, visitor?: string) {
  const started = await startSession(app, siteKey, {
    url: `${SITE_ORIGIN}/clinic?utm_source=google&utm_medium=cpc&utm_campaign=checkups`,
    ...(visitor ? { visitor } : {}),
  });
  expect(started.status).toBe(200);
  return {
    session: started.body.session as string,
    visitor: started.body.visitor as string,
    number: started.body.swaps[0].number?.e164 as string,
  };
}

async function ring(to: string, from: string): Promise<string> {
  const id = callSid();
  const voice = await postTwilio(app, {
    path: '/v1/telephony/twilio/voice',
    params: voiceParams({ accountSid: sid, callSid: id, from, to }),
    authToken: token,
    signedUrl: `${BASE}/v1/telephony/twilio/voice`,
  });
  expect(voice.statusCode).toBe(200);
  const path = '/v1/telephony/twilio/recording';
  const params = {
    AccountSid: sid,
    CallSid: id,
    RecordingStatus: 'completed',
    RecordingUrl: `https://api.twilio.com/Recordings/RE${id.slice(2)}`,
  };
  expect((await postTwilio(app, { path, params, authToken: token, signedUrl: `${BASE}${path}` })).statusCode).toBe(204);
  return (
    await database.db.selectFrom('calls').select('id').where('provider_call_id', '=', id).executeTakeFirstOrThrow()
  ).id;
}

const callRow = (id: string) =>
  database.db.selectFrom('calls').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
const exists = async (table: 'sessions' | 'visitors', id: string) =>
  (await database.db.selectFrom(table).select('id').where('id', '=', id).execute()).length === 1;
const webhookEvents = async (callId: string) =>
  (await database.db.selectFrom('webhook_events').select('id').where('call_id', '=', callId).execute()).length;

/** Every row but the webhook queue's, which its worker changes as it pleases. */
const rows = async () => (await snapshotRows(database.db)).filter((row) => !row.startsWith('webhook_'));

const erase = (siteId: string, caller: string, as = auth) =>
  call(app, as, { method: 'POST', url: `/v1/sites/${siteId}/caller-erasures`, payload: { caller } });

describe('erasing a caller on request', () => {
  it('strips every call of the number, masked ones too, and deletes the visits of the browser behind them', async () => {
    const { site } = await makeSiteWithPool(app, auth, { size: 2 });
    const hook = await call(app, auth, {
      method: 'POST',
      url: '/v1/webhook-endpoints',
      payload: { url: 'http://127.0.0.1:9/ringpool', events: ['call.started'] },
    });
    expect(hook.status).toBe(201);

    // The patient's first visit and call; a neighbour's visit and call on the other number.
    const first = await visit(site.public_key);
    const other = await visit(site.public_key);
    at(60_000);
    const call1 = await ring(first.number, PATIENT);
    const neighbourCall = await ring(other.number, NEIGHBOUR);
    // A day later the patient comes back from the same browser, calls again, and browses once more.
    at(DAY_MS);
    const second = await visit(site.public_key, first.visitor);
    const call2 = await ring(second.number, PATIENT);
    at(DAY_MS + 3_600_000);
    const third = await visit(site.public_key, first.visitor);
    expect(await callRow(call2)).toMatchObject({ session_id: second.session, first_call_id: call1 });

    // Three months on, the first calls are masked; then the patient calls once more.
    at(90 * DAY_MS + 120_000);
    const pass = await call(app, auth, { method: 'POST', url: `/v1/sites/${site.id}/retention/run` });
    expect(pass.body.counts.callers_masked).toBe(2);
    const call3 = await ring(second.number, PATIENT);
    expect(await callRow(call3)).toMatchObject({ first_call_id: call2, is_first_call: false });
    expect(await webhookEvents(call3)).toBe(1);
    expect(await webhookEvents(neighbourCall)).toBe(1);

    const erased = await erase(site.id, '(212) 555-0123');
    expect(erased.status).toBe(200);
    expect(erased.body).toEqual({
      caller: PATIENT,
      calls: 3,
      recordings_dropped: 1,
      sessions_deleted: 3,
      visitors_deleted: 1,
    });

    for (const id of [call1, call2, call3]) {
      const row = await callRow(id);
      expect(row).toMatchObject({
        caller: null,
        caller_masked_at: clock.current,
        recording_url: null,
        recording_duration_s: null,
        session_id: null,
        first_call_id: null,
        landing_url: null,
        candidates: [],
      });
      expect(await webhookEvents(id)).toBe(0);
    }
    // Still counted, with the attribution reports need.
    expect(await callRow(call1)).toMatchObject({ source: 'google', campaign: 'checkups', is_first_call: true });
    for (const gone of [first.session, second.session, third.session])
      expect(await exists('sessions', gone)).toBe(false);
    expect(await exists('visitors', first.visitor)).toBe(false);

    // The neighbour keeps everything the windows let them keep.
    expect(await callRow(neighbourCall)).toMatchObject({ caller: '+1********99', session_id: other.session });
    expect(await exists('sessions', other.session)).toBe(true);
    expect(await exists('visitors', other.visitor)).toBe(true);
    expect(await webhookEvents(neighbourCall)).toBe(1);
    const listed = await call(app, auth, { method: 'GET', url: `/v1/calls?site_id=${site.id}` });
    expect(listed.body.calls).toHaveLength(4);

    // Asked again: nothing is left to erase.
    const before = await rows();
    expect((await erase(site.id, PATIENT)).body).toEqual({
      caller: PATIENT,
      calls: 0,
      recordings_dropped: 0,
      sessions_deleted: 0,
      visitors_deleted: 0,
    });
    expect(await rows()).toEqual(before);

    // Neither the request nor the pass wrote the number to the log.
    const log = logs.join('');
    expect(log).toMatch(/caller erased on request/);
    expect(log).toMatch(/retention pass/);
    expect(log).not.toMatch(/2125550123|555-0123/);
  });

  it('needs an admin key, a number, and the account’s own site', async () => {
    const { site } = await makeSiteWithPool(app, auth, { size: 1, firstNumber: 2015550301 });
    const before = await rows();
    const other = await makeAccount(database.db, 'Another practice', { admin: true });
    expect((await erase(site.id, PATIENT, plainAuth)).status).toBe(403);
    expect((await erase(site.id, PATIENT, other.auth)).status).toBe(404);
    expect((await erase(site.id, 'not a number')).status).toBe(400);
    expect((await erase(site.id, '555')).status).toBe(400);
    const extra = await call(app, auth, {
      method: 'POST',
      url: `/v1/sites/${site.id}/caller-erasures`,
      payload: { caller: PATIENT, everything: true },
    });
    expect(extra.status).toBe(400);
    expect((await call(app, {}, { method: 'POST', url: `/v1/sites/${site.id}/caller-erasures` })).status).toBe(401);
    // Only the second account's own rows are new.
    expect((await rows()).filter((row) => !row.includes(other.account.id))).toEqual(before);
  });
});
