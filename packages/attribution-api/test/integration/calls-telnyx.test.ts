import { sign } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildTestApp, call, makeAccount, makeSiteWithPool, TestClock } from '../support/app.ts';
import { createTestDatabase, snapshotRows, type TestDatabase } from '../support/database.ts';
import {
  callSid,
  connectTelephonyAccount,
  formBody,
  postTelnyx,
  telnyxKeys,
  twimlVerbs,
  voiceParams,
} from '../support/telephony.ts';

const BASE = 'https://calls.example.com';
const VOICE = '/v1/telephony/telnyx/voice';
const CALLER = '+12125550123';
// Telnyx TeXML sends its connection's id in AccountSid.
const CONNECTION = 'telnyx-connection-1';

let database: TestDatabase;
let app: FastifyInstance;
const clock = new TestClock();
let auth: Record<string, string>;
const keys = telnyxKeys();
let number = '';

beforeAll(async () => {
  database = await createTestDatabase();
  app = await buildTestApp(database.db, { clock: clock.now, publicBaseUrl: BASE });
  ({ auth } = await makeAccount(database.db, 'Telnyx'));
  await connectTelephonyAccount(app, auth, {
    provider: 'telnyx',
    provider_account: CONNECTION,
    secret: keys.publicKey,
  });
  const { numbers } = await makeSiteWithPool(app, auth, { size: 1 });
  number = numbers[0]?.e164 ?? '';
});

afterAll(async () => {
  await app.close();
  await database.close();
});

beforeEach(() => {
  clock.current = new Date('2026-06-01T12:00:00Z');
});

const now = () => Math.floor(clock.current.getTime() / 1000);
const voice = () => voiceParams({ accountSid: CONNECTION, callSid: callSid(), from: CALLER, to: number });
const callsWith = (providerCallId: string) =>
  database.db.selectFrom('calls').selectAll().where('provider_call_id', '=', providerCallId).execute();

/** Sends the webhook and checks that not one row of the database changed. */
async function refused(webhook: Parameters<typeof postTelnyx>[1], status: number, error: string) {
  const before = await snapshotRows(database.db);
  const response = await postTelnyx(app, webhook);
  expect(response.statusCode).toBe(status);
  expect(response.json().error).toBe(error);
  expect(await snapshotRows(database.db)).toEqual(before);
}

describe('Telnyx TeXML webhooks', () => {
  it('accept a body signed with the account’s Ed25519 key and answer the forward', async () => {
    const params = voice();
    const response = await postTelnyx(app, { path: VOICE, params, privateKey: keys.privateKey, timestamp: now() });
    expect(response.statusCode).toBe(200);
    const [dial, ...rest] = twimlVerbs(response.body);
    expect(rest).toEqual([]);
    expect(dial?.attributes).toEqual({
      action: `${BASE}/v1/telephony/telnyx/status`,
      callerId: CALLER,
      answerOnBridge: 'true',
      timeout: '30',
    });
    expect(dial?.children.map((c) => [c.name, c.text])).toEqual([['Number', '+12015550100']]);
    const stored = await callsWith(String(params.CallSid));
    expect(stored).toMatchObject([{ provider: 'telnyx', tracking_number: number, caller: CALLER, status: 'ringing' }]);
    expect(stored[0]?.started_at.getTime()).toBe(clock.current.getTime());

    // Its status callback, signed the same way, ends the call.
    const ended = await postTelnyx(app, {
      path: '/v1/telephony/telnyx/status',
      params: { AccountSid: CONNECTION, CallSid: String(params.CallSid), CallStatus: 'completed', CallDuration: '61' },
      privateKey: keys.privateKey,
      timestamp: now(),
    });
    expect(ended.statusCode).toBe(200);
    expect(await callsWith(String(params.CallSid))).toMatchObject([
      { status: 'completed', duration_s: 61, qualified: true },
    ]);
  });

  it('accept a timestamp up to 300 s away from the service’s clock, either way', async () => {
    for (const skew of [-300, 300]) {
      const params = voice();
      const response = await postTelnyx(app, {
        path: VOICE,
        params,
        privateKey: keys.privateKey,
        timestamp: now() + skew,
      });
      expect(response.statusCode).toBe(200);
      expect(await callsWith(String(params.CallSid))).toHaveLength(1);
    }
  });

  it('refuse a stale or future timestamp (more than 300 s off the app clock), even correctly signed', async () => {
    await refused(
      { path: VOICE, params: voice(), privateKey: keys.privateKey, timestamp: now() - 301 },
      403,
      'bad_signature',
    );
    await refused(
      { path: VOICE, params: voice(), privateKey: keys.privateKey, timestamp: now() + 301 },
      403,
      'bad_signature',
    );
    // The service's clock decides, not the machine's: a webhook fresh by the wall clock is stale here.
    clock.advance(3600);
    await refused(
      { path: VOICE, params: voice(), privateKey: keys.privateKey, timestamp: Math.floor(Date.now() / 1000) },
      403,
      'bad_signature',
    );
  });

  it('refuse a body changed after signing, or signed by another key', async () => {
    const params = voice();
    await refused(
      {
        path: VOICE,
        params,
        privateKey: keys.privateKey,
        timestamp: now(),
        body: formBody({ ...params, From: '+12125559999' }),
      },
      403,
      'bad_signature',
    );
    await refused(
      { path: VOICE, params, privateKey: keys.privateKey, timestamp: now(), body: `${formBody(params)}&Extra=1` },
      403,
      'bad_signature',
    );
    await refused({ path: VOICE, params, privateKey: telnyxKeys().privateKey, timestamp: now() }, 403, 'bad_signature');
  });

  it('refuse a signature made for another timestamp than the header’s', async () => {
    const params = voice();
    const body = formBody(params);
    const signedAt = now();
    const signature = sign(null, Buffer.from(`${signedAt}|${body}`), keys.privateKey).toString('base64');
    // The same body and signature under a fresher timestamp header: a replay, refused.
    clock.advance(600);
    const before = await snapshotRows(database.db);
    const replayed = await app.inject({
      method: 'POST',
      url: VOICE,
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'telnyx-signature-ed25519': signature,
        'telnyx-timestamp': String(now()),
      },
      payload: body,
    });
    expect(replayed.statusCode).toBe(403);
    expect(await snapshotRows(database.db)).toEqual(before);
    // With its own timestamp it is stale by now: refused too.
    const stale = await app.inject({
      method: 'POST',
      url: VOICE,
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'telnyx-signature-ed25519': signature,
        'telnyx-timestamp': String(signedAt),
      },
      payload: body,
    });
    expect(stale.statusCode).toBe(403);
    expect(await snapshotRows(database.db)).toEqual(before);
  });

  it('answer 400 when the signature or the timestamp header is missing', async () => {
    for (const omit of [['signature'], ['timestamp'], ['signature', 'timestamp']] as const) {
      await refused(
        { path: VOICE, params: voice(), privateKey: keys.privateKey, timestamp: now(), omit: [...omit] },
        400,
        'missing_signature',
      );
    }
  });

  it('refuse an AccountSid no account connected, and a Twilio signature on the Telnyx route', async () => {
    await refused(
      {
        path: VOICE,
        params: { ...voice(), AccountSid: 'telnyx-unknown' },
        privateKey: keys.privateKey,
        timestamp: now(),
      },
      403,
      'bad_signature',
    );
    const before = await snapshotRows(database.db);
    const response = await app.inject({
      method: 'POST',
      url: VOICE,
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': 'c2lnbmF0dXJl' },
      payload: formBody(voice()),
    });
    expect(response.statusCode).toBe(400);
    expect(await snapshotRows(database.db)).toEqual(before);
  });

  it('connects only a real Ed25519 public key', async () => {
    const bad = await call(app, auth, {
      method: 'POST',
      url: '/v1/telephony-accounts',
      payload: {
        provider: 'telnyx',
        provider_account: 'telnyx-connection-2',
        secret: 'bm90IGEga2V5IGF0IGFsbCwgbm90IGF0IGFsbA==',
      },
    });
    expect(bad.status).toBe(400);
    const listed = await call(app, auth, { method: 'GET', url: '/v1/telephony-accounts' });
    expect(listed.body.telephony_accounts.map((a: { provider_account: string }) => a.provider_account)).toEqual([
      CONNECTION,
    ]);
  });
});
