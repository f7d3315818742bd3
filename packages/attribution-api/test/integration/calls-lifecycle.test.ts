import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildTestApp, call, makeAccount, makeSiteWithPool, TestClock } from '../support/app.ts';
import { createTestDatabase, snapshotRows, type TestDatabase } from '../support/database.ts';
import {
  callSid,
  connectTelephonyAccount,
  postTwilio,
  twilioSid,
  twilioToken,
  twimlVerbs,
  voiceParams,
  type WebhookParams,
} from '../support/telephony.ts';

const BASE = 'https://calls.example.com';
const START = new Date('2026-06-01T12:00:00Z');

let database: TestDatabase;
let app: FastifyInstance;
const clock = new TestClock();
let auth: Record<string, string>;
const sid = twilioSid();
const token = twilioToken();
let nextNumber = 2015550101;

beforeAll(async () => {
  database = await createTestDatabase();
  app = await buildTestApp(database.db, { clock: clock.now, publicBaseUrl: BASE });
  ({ auth } = await makeAccount(database.db, 'Lifecycle'));
  await connectTelephonyAccount(app, auth, { provider: 'twilio', provider_account: sid, secret: token });
});

afterAll(async () => {
  await app.close();
  await database.close();
});

beforeEach(() => {
  clock.current = new Date(START);
});

/** A site of its own, with one pool number no other test uses. */
async function trackingNumber(settings: Record<string, unknown> = {}) {
  const made = await makeSiteWithPool(app, auth, { size: 1, settings, firstNumber: nextNumber++ });
  return { site: made.site, number: made.numbers[0]?.e164 ?? '' };
}

const hook = (kind: 'voice' | 'status' | 'recording', params: WebhookParams) => {
  const path = `/v1/telephony/twilio/${kind}`;
  return postTwilio(app, { path, params, authToken: token, signedUrl: `${BASE}${path}` });
};

const ring = (id: string, to: string, from = '+12125550123') =>
  hook('voice', voiceParams({ accountSid: sid, callSid: id, from, to }));

/** The dial action Twilio requests when the forward ends. */
const dialEnded = (id: string, status: string, seconds?: number) =>
  hook('status', {
    AccountSid: sid,
    CallSid: id,
    CallStatus: 'in-progress',
    DialCallStatus: status,
    ...(seconds === undefined ? {} : { DialCallDuration: String(seconds) }),
  });

/** A call-status callback about the call itself. */
const callStatus = (id: string, status: string, seconds?: number) =>
  hook('status', {
    AccountSid: sid,
    CallSid: id,
    CallStatus: status,
    ...(seconds === undefined ? {} : { CallDuration: String(seconds) }),
  });

const recordingDone = (id: string, url: string, seconds: number, state = 'completed') =>
  hook('recording', {
    AccountSid: sid,
    CallSid: id,
    RecordingSid: `RE${id.slice(2)}`,
    RecordingStatus: state,
    RecordingUrl: url,
    RecordingDuration: String(seconds),
  });

async function stored(id: string) {
  const rows = await database.db.selectFrom('calls').selectAll().where('provider_call_id', '=', id).execute();
  expect(rows).toHaveLength(1);
  const [row] = rows;
  if (!row) throw new Error('no call');
  return row;
}

const orphans = (id: string) =>
  database.db.selectFrom('call_orphan_events').selectAll().where('provider_call_id', '=', id).execute();

describe('a repeated voice webhook', () => {
  it('makes one call, answered with the same forward each time', async () => {
    const { number } = await trackingNumber();
    const id = callSid();
    const first = await ring(id, number);
    clock.advance(5);
    const again = await ring(id, number);
    expect(again.statusCode).toBe(200);
    expect(again.body).toBe(first.body);
    const row = await stored(id);
    // The first webhook's moment stands.
    expect(row.started_at.getTime()).toBe(START.getTime());
  });

  it('makes one call when the retries arrive all at once', async () => {
    const { number } = await trackingNumber();
    const id = callSid();
    const answers = await Promise.all(Array.from({ length: 8 }, () => ring(id, number)));
    expect(answers.map((a) => a.statusCode)).toEqual(Array(8).fill(200));
    expect(new Set(answers.map((a) => a.body)).size).toBe(1);
    await stored(id);
  });

  it('after the call ended, leaves it ended', async () => {
    const { number } = await trackingNumber();
    const id = callSid();
    await ring(id, number);
    clock.advance(90);
    await dialEnded(id, 'completed', 80);
    clock.advance(10);
    const late = await ring(id, number);
    expect(twimlVerbs(late.body)[0]?.name).toBe('Dial');
    expect(await stored(id)).toMatchObject({ status: 'completed', duration_s: 80, qualified: true });
  });
});

describe('status reports', () => {
  it('move a call forward: ringing → in progress → completed, with its times', async () => {
    const { number } = await trackingNumber();
    const id = callSid();
    await ring(id, number);
    expect(await stored(id)).toMatchObject({ status: 'ringing', answered_at: null, ended_at: null, duration_s: null });
    clock.advance(8);
    expect((await dialEnded(id, 'answered')).statusCode).toBe(200);
    const answered = await stored(id);
    expect(answered.status).toBe('in-progress');
    expect(answered.answered_at?.getTime()).toBe(START.getTime() + 8_000);
    clock.advance(75);
    await dialEnded(id, 'completed', 75);
    const ended = await stored(id);
    expect(ended).toMatchObject({ status: 'completed', duration_s: 75, qualified: true });
    expect(ended.answered_at?.getTime()).toBe(START.getTime() + 8_000);
    expect(ended.ended_at?.getTime()).toBe(START.getTime() + 83_000);
  });

  it('never move a completed call backwards, whatever arrives late', async () => {
    const { number } = await trackingNumber();
    const id = callSid();
    await ring(id, number);
    clock.advance(100);
    await dialEnded(id, 'completed', 95);
    const ended = await stored(id);
    for (const late of ['ringing', 'in-progress', 'queued', 'initiated', 'busy', 'no-answer', 'completed']) {
      clock.advance(1);
      const response = await callStatus(id, late, late === 'completed' ? 12 : undefined);
      expect(response.statusCode).toBe(200);
    }
    await dialEnded(id, 'answered');
    const after = await stored(id);
    expect(after).toMatchObject({ status: 'completed', duration_s: 95, qualified: true });
    expect(after.ended_at).toEqual(ended.ended_at);
    expect(after.answered_at).toEqual(ended.answered_at);
  });

  it('take a duration reported after the ending that lacked one', async () => {
    const { number } = await trackingNumber();
    const id = callSid();
    await ring(id, number);
    clock.advance(70);
    await callStatus(id, 'completed');
    expect(await stored(id)).toMatchObject({ status: 'completed', duration_s: null, qualified: false });
    await dialEnded(id, 'completed', 64);
    expect(await stored(id)).toMatchObject({ status: 'completed', duration_s: 64, qualified: true });
  });

  it('refuse a status the service does not know, changing nothing', async () => {
    const { number } = await trackingNumber();
    const id = callSid();
    await ring(id, number);
    const before = await snapshotRows(database.db);
    const response = await callStatus(id, 'exploded');
    expect(response.statusCode).toBe(400);
    expect(response.json().message).toMatch(/exploded/);
    expect((await callStatus(id, 'completed', -5 as number)).statusCode).toBe(400);
    expect(await snapshotRows(database.db)).toEqual(before);
  });
});

describe('qualified calls', () => {
  it('are completed calls at least the site’s threshold long (default 60 s)', async () => {
    const { number } = await trackingNumber();
    const results: Record<string, boolean> = {};
    for (const [status, seconds] of [
      ['completed', 59],
      ['completed', 60],
      ['completed', 61],
      ['no-answer', 0],
      ['busy', 90],
    ] as const) {
      const id = callSid();
      await ring(id, number);
      clock.advance(120);
      await dialEnded(id, status, seconds);
      results[`${status} ${seconds}`] = (await stored(id)).qualified;
    }
    expect(results).toEqual({
      'completed 59': false,
      'completed 60': true,
      'completed 61': true,
      'no-answer 0': false,
      'busy 90': false,
    });
  });

  it('follow the site’s own threshold', async () => {
    const { number } = await trackingNumber({ qualified_call_s: 30 });
    const short = callSid();
    const enough = callSid();
    await ring(short, number);
    await ring(enough, number);
    clock.advance(60);
    await dialEnded(short, 'completed', 29);
    await dialEnded(enough, 'completed', 30);
    expect((await stored(short)).qualified).toBe(false);
    expect((await stored(enough)).qualified).toBe(true);
    const listed = await call(app, auth, { method: 'GET', url: '/v1/calls?qualified=true' });
    const ids = listed.body.calls.map((c: { provider_call_id: string }) => c.provider_call_id);
    expect(ids).toContain(enough);
    expect(ids).not.toContain(short);
  });
});

describe('recordings', () => {
  it('are kept with the call once finished; repeats and unfinished ones change nothing', async () => {
    const { number } = await trackingNumber();
    const id = callSid();
    await ring(id, number);
    const url = `https://api.twilio.com/2010-04-01/Accounts/${sid}/Recordings/RE${id.slice(2)}`;
    expect((await recordingDone(id, url, 0, 'in-progress')).statusCode).toBe(204);
    expect(await stored(id)).toMatchObject({ recording_url: null });
    clock.advance(120);
    expect((await recordingDone(id, url, 73)).statusCode).toBe(204);
    const row = await stored(id);
    expect(row).toMatchObject({ recording_url: url, recording_duration_s: 73 });
    const before = await snapshotRows(database.db);
    clock.advance(5);
    await recordingDone(id, url, 73);
    expect(await snapshotRows(database.db)).toEqual(before);

    const detail = await call(app, auth, { method: 'GET', url: `/v1/calls/${row.id}` });
    expect(detail.body.recording).toEqual({ url, duration_s: 73 });
  });

  it('refuse a recording URL that is not https', async () => {
    const { number } = await trackingNumber();
    const id = callSid();
    await ring(id, number);
    const before = await snapshotRows(database.db);
    const response = await recordingDone(id, 'http://api.twilio.com/rec/1', 30);
    expect(response.statusCode).toBe(400);
    const script = await recordingDone(id, 'javascript:alert(1)', 30);
    expect(script.statusCode).toBe(400);
    expect(await snapshotRows(database.db)).toEqual(before);
  });
});

describe('updates that arrive before their call', () => {
  it('wait for it, and are applied once it arrives, in order', async () => {
    const { number } = await trackingNumber();
    const id = callSid();
    const url = `https://api.twilio.com/2010-04-01/Accounts/${sid}/Recordings/RE${id.slice(2)}`;
    // The call was answered at START+5 and ended at START+80; its voice event reaches the database last,
    // as when the process that took it spooled it while another process took the callbacks.
    clock.advance(80);
    expect((await dialEnded(id, 'completed', 75)).statusCode).toBe(200);
    clock.advance(10);
    expect((await recordingDone(id, url, 74)).statusCode).toBe(204);
    clock.advance(1);
    expect((await callStatus(id, 'in-progress')).statusCode).toBe(200);
    expect(await database.db.selectFrom('calls').where('provider_call_id', '=', id).selectAll().execute()).toEqual([]);
    expect(await orphans(id)).toHaveLength(3);

    clock.current = new Date(START);
    await ring(id, number);
    const row = await stored(id);
    expect(row).toMatchObject({
      status: 'completed',
      duration_s: 75,
      qualified: true,
      recording_url: url,
      recording_duration_s: 74,
    });
    expect(row.started_at.getTime()).toBe(START.getTime());
    expect(row.answered_at?.getTime()).toBe(START.getTime() + 5_000);
    expect(row.ended_at?.getTime()).toBe(START.getTime() + 80_000);
    expect(await orphans(id)).toEqual([]);

    // The voice webhook again: nothing more to apply, nothing changes.
    const before = await snapshotRows(database.db);
    clock.advance(200);
    await ring(id, number);
    expect(await snapshotRows(database.db)).toEqual(before);
  });

  it('never leave a call ending before it started, even when the call’s own webhook is the late one', async () => {
    const { number } = await trackingNumber();
    const id = callSid();
    clock.advance(60);
    await dialEnded(id, 'completed', 45);
    clock.advance(30);
    await ring(id, number);
    const row = await stored(id);
    expect(row).toMatchObject({ status: 'completed', duration_s: 45 });
    expect(row.answered_at?.getTime()).toBeGreaterThanOrEqual(row.started_at.getTime());
    expect(row.ended_at?.getTime()).toBeGreaterThanOrEqual(row.started_at.getTime());
  });

  it('belong to the account whose provider sent them', async () => {
    const { number } = await trackingNumber();
    const other = await makeAccount(database.db, 'Other tenant');
    const otherSid = twilioSid();
    const otherToken = twilioToken();
    await connectTelephonyAccount(app, other.auth, {
      provider: 'twilio',
      provider_account: otherSid,
      secret: otherToken,
    });
    const id = callSid();
    // The other tenant's Twilio reports a completion for a call id that will be ours.
    const path = '/v1/telephony/twilio/status';
    await postTwilio(app, {
      path,
      params: { AccountSid: otherSid, CallSid: id, CallStatus: 'completed', CallDuration: '300' },
      authToken: otherToken,
      signedUrl: `${BASE}${path}`,
    });
    await ring(id, number);
    expect(await stored(id)).toMatchObject({ status: 'ringing', duration_s: null, qualified: false });
  });
});
