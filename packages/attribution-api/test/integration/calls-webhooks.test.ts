import { request as httpRequest } from 'node:http';
import type { FastifyInstance } from 'fastify';
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, call, makeAccount, makeSiteWithPool, TestClock } from '../support/app.ts';
import { createTestDatabase, snapshotRows, type TestDatabase } from '../support/database.ts';
import {
  callSid,
  connectTelephonyAccount,
  formBody,
  postTwilio,
  twilioSid,
  twilioToken,
  twimlVerbs,
  voiceParams,
  type WebhookParams,
} from '../support/telephony.ts';

const BASE = 'https://calls.example.com';
const VOICE = '/v1/telephony/twilio/voice';
const CALLER = '+12125550123';

let database: TestDatabase;
let app: FastifyInstance;
const clock = new TestClock();
const apps: FastifyInstance[] = [];

let auth: Record<string, string>;
const sid = twilioSid();
const token = twilioToken();
/** Pool number forwarding to the site's own number, recording off. */
let plain = '';
/** Pool number with its own forward-to and recording on. */
let recorded = '';
const RECORDED_FORWARD = '+12125550142';

beforeAll(async () => {
  database = await createTestDatabase();
  app = await buildTestApp(database.db, { clock: clock.now, publicBaseUrl: BASE });
  apps.push(app);
  ({ auth } = await makeAccount(database.db, 'Webhooks'));
  await connectTelephonyAccount(app, auth, { provider: 'twilio', provider_account: sid, secret: token });
  const { pool, numbers } = await makeSiteWithPool(app, auth, { size: 1 });
  plain = numbers[0]?.e164 ?? '';
  const added = await call(app, auth, {
    method: 'POST',
    url: `/v1/pools/${pool.id}/numbers`,
    payload: { numbers: [{ number: '(201) 555-0160', forward_to: '212-555-0142', recording: true }] },
  });
  expect(added.status).toBe(201);
  recorded = added.body.numbers[0].e164;
});

afterAll(async () => {
  for (const instance of apps) await instance.close();
  await database.close();
});

/** An app answering at another public URL, on the same database. */
async function appAt(publicBaseUrl: string | undefined) {
  const other = await buildTestApp(database.db, { clock: clock.now, publicBaseUrl });
  apps.push(other);
  return other;
}

const callsWith = (providerCallId: string) =>
  database.db.selectFrom('calls').selectAll().where('provider_call_id', '=', providerCallId).execute();

const voice = (overrides: Partial<Parameters<typeof voiceParams>[0]> = {}) =>
  voiceParams({ accountSid: sid, callSid: callSid(), from: CALLER, to: plain, ...overrides });

describe('X-Twilio-Signature', () => {
  // Each case: the app's PUBLIC_BASE_URL, the path Twilio requests, the URL Twilio signed (its console's setting).
  const cases: {
    name: string;
    base: string;
    path: string;
    signedUrl: string;
    accepted: boolean;
    /** The URL as it reaches the service, when inject's URL normalisation changes it. */
    received?: string;
  }[] = [
    { name: 'same URL', base: BASE, path: VOICE, signedUrl: `${BASE}${VOICE}`, accepted: true },
    { name: 'signed with :443', base: BASE, path: VOICE, signedUrl: `${BASE}:443${VOICE}`, accepted: true },
    {
      name: 'base with :443, signed without',
      base: `${BASE}:443`,
      path: VOICE,
      signedUrl: `${BASE}${VOICE}`,
      accepted: true,
    },
    {
      name: 'base with :443, signed with',
      base: `${BASE}:443`,
      path: VOICE,
      signedUrl: `${BASE}:443${VOICE}`,
      accepted: true,
    },
    { name: 'base with a trailing slash', base: `${BASE}/`, path: VOICE, signedUrl: `${BASE}${VOICE}`, accepted: true },
    {
      name: 'non-default port',
      base: `${BASE}:8443`,
      path: VOICE,
      signedUrl: `${BASE}:8443${VOICE}`,
      accepted: true,
    },
    {
      name: 'query string',
      base: BASE,
      path: `${VOICE}?site=main&tag=a%20b`,
      signedUrl: `${BASE}${VOICE}?site=main&tag=a%20b`,
      accepted: true,
    },
    {
      name: 'query string with escaped characters',
      base: BASE,
      path: `${VOICE}?city=S%C3%A3o+Paulo&q=%27quoted%27&empty=`,
      signedUrl: `${BASE}${VOICE}?city=S%C3%A3o+Paulo&q=%27quoted%27&empty=`,
      accepted: true,
    },
    {
      // Signed with a raw ' that arrives escaped (inject, like a proxy, escapes it): twilio-node's legacy form.
      name: 'query string signed unescaped, received escaped',
      base: BASE,
      path: `${VOICE}?note=it's&page=2`,
      signedUrl: `${BASE}${VOICE}?note=it's&page=2`,
      received: `${BASE}${VOICE}?note=it%27s&page=2`,
      accepted: true,
    },
    { name: 'http for https', base: BASE, path: VOICE, signedUrl: `http://calls.example.com${VOICE}`, accepted: false },
    { name: 'another host', base: BASE, path: VOICE, signedUrl: `https://evil.example.com${VOICE}`, accepted: false },
    {
      name: 'another path',
      base: BASE,
      path: VOICE,
      signedUrl: `${BASE}/v1/telephony/twilio/status`,
      accepted: false,
    },
    { name: 'another port', base: BASE, path: VOICE, signedUrl: `${BASE}:8443${VOICE}`, accepted: false },
    {
      name: 'query string left out of the signature',
      base: BASE,
      path: `${VOICE}?site=main`,
      signedUrl: `${BASE}${VOICE}`,
      accepted: false,
    },
    {
      name: 'query string changed',
      base: BASE,
      path: `${VOICE}?site=other`,
      signedUrl: `${BASE}${VOICE}?site=main`,
      accepted: false,
    },
  ];

  it.each(cases)('$name: accepted exactly when twilio-node accepts it', async (c) => {
    const { base, path, signedUrl, accepted } = c;
    const target = base === BASE ? app : await appAt(base);
    const params = voice();
    const signature = twilio.getExpectedTwilioSignature(token, signedUrl, params);
    // The oracle: twilio-node's own validator, given the URL the request arrived at.
    const received = c.received ?? `${base.replace(/\/$/, '')}${path}`;
    expect(twilio.validateRequest(token, signature, received, params)).toBe(accepted);

    const before = await snapshotRows(database.db);
    const response = await postTwilio(target, { path, params, authToken: token, signedUrl });
    const stored = await callsWith(String(params.CallSid));
    if (accepted) {
      expect(response.statusCode).toBe(200);
      expect(twimlVerbs(response.body).map((verb) => verb.name)).toEqual(['Dial']);
      expect(stored).toHaveLength(1);
    } else {
      expect(response.statusCode).toBe(403);
      expect(response.json().error).toBe('bad_signature');
      expect(await snapshotRows(database.db)).toEqual(before);
    }
  });

  it('checks the query string exactly as it came over the wire (real HTTP, unescaped characters)', async () => {
    const served = await appAt(BASE);
    const address = await served.listen({ port: 0, host: '127.0.0.1' });
    const path = `${VOICE}?note=it's&city=S%C3%A3o+Paulo&x=(1)*!~`;
    const send = (params: WebhookParams, signedUrl: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const body = formBody(params);
        // node:http sends the path as given, as Twilio does; fetch and inject would escape the '.
        const { hostname, port } = new URL(address);
        const request = httpRequest(
          {
            hostname,
            port,
            path,
            method: 'POST',
            headers: {
              'content-type': 'application/x-www-form-urlencoded',
              'content-length': Buffer.byteLength(body),
              'x-twilio-signature': twilio.getExpectedTwilioSignature(token, signedUrl, params),
            },
          },
          (response) => {
            let text = '';
            response.setEncoding('utf8');
            response.on('data', (chunk: string) => {
              text += chunk;
            });
            response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
          },
        );
        request.on('error', reject);
        request.end(body);
      });
    const ok = voice();
    const accepted = await send(ok, `${BASE}${path}`);
    expect(accepted.status).toBe(200);
    expect(twimlVerbs(accepted.body).map((v) => v.name)).toEqual(['Dial']);
    expect(await callsWith(String(ok.CallSid))).toHaveLength(1);

    const before = await snapshotRows(database.db);
    const bad = voice();
    // Signed for the escaped form Twilio never sends for this URL.
    expect((await send(bad, `${BASE}${VOICE}?note=it%27s&city=S%C3%A3o%20Paulo&x=(1)*!~`)).status).toBe(403);
    expect(await snapshotRows(database.db)).toEqual(before);
  });

  it('takes the URL from the request when no PUBLIC_BASE_URL is set', async () => {
    const direct = await appAt(undefined);
    const params = voice();
    const response = await direct.inject({
      method: 'POST',
      url: VOICE,
      headers: {
        host: 'ringpool.internal:3000',
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': twilio.getExpectedTwilioSignature(token, `http://ringpool.internal:3000${VOICE}`, params),
      },
      payload: formBody(params),
    });
    expect(response.statusCode).toBe(200);
    expect(await callsWith(String(params.CallSid))).toHaveLength(1);
  });

  it('signs repeated keys and values needing encoding as twilio-node does', async () => {
    const params: WebhookParams = {
      ...voice(),
      // Repeated, out of order, one value twice: twilio-node signs each distinct value once, sorted.
      StirVerstat: ['TN-Validation-Passed-B', 'TN-Validation-Passed-A', 'TN-Validation-Passed-B'],
      CallerName: 'O’Brien & Sons + Co = 100% "best" <ltd>',
      FromCity: 'São Paulo 🚀',
      'Custom Field': 'a b\tc\nd',
      ZEmpty: '',
      aLower: 'sorted after upper case, by code unit',
      Ämlaut: 'after ASCII',
    };
    const signedUrl = `${BASE}${VOICE}`;
    const signature = twilio.getExpectedTwilioSignature(token, signedUrl, params);
    expect(twilio.validateRequest(token, signature, signedUrl, params)).toBe(true);

    const response = await postTwilio(app, { path: VOICE, params, authToken: token, signedUrl });
    expect(response.statusCode).toBe(200);
    const [stored] = await callsWith(String(params.CallSid));
    expect(stored).toMatchObject({ caller: CALLER, tracking_number: plain, provider: 'twilio', status: 'ringing' });

    // The same fields with the repeated key's values in another order still sign the same.
    const reordered = {
      ...params,
      CallSid: callSid(),
      StirVerstat: ['TN-Validation-Passed-A', 'TN-Validation-Passed-B'],
    };
    const again = await postTwilio(app, {
      path: VOICE,
      params: reordered,
      authToken: token,
      signedUrl,
      signature: twilio.getExpectedTwilioSignature(token, signedUrl, { ...params, CallSid: reordered.CallSid }),
    });
    expect(again.statusCode).toBe(200);
    expect(await callsWith(String(reordered.CallSid))).toHaveLength(1);
  });

  it('signs the callback URLs its TwiML hands out, so Twilio’s status callback is accepted', async () => {
    for (const base of [BASE, `${BASE}:443`]) {
      const target = base === BASE ? app : await appAt(base);
      const params = voice();
      const answer = await postTwilio(target, {
        path: `${VOICE}?site=main`,
        params,
        authToken: token,
        signedUrl: `${base}${VOICE}?site=main`,
      });
      const action = twimlVerbs(answer.body)[0]?.attributes.action ?? '';
      expect(action).toBe(`${base}/v1/telephony/twilio/status`);
      const status: WebhookParams = {
        AccountSid: sid,
        CallSid: String(params.CallSid),
        CallStatus: 'in-progress',
        DialCallStatus: 'completed',
        DialCallDuration: '42',
      };
      const ended = await postTwilio(target, {
        path: new URL(action).pathname,
        params: status,
        authToken: token,
        signedUrl: action,
      });
      expect(ended.statusCode).toBe(200);
      expect(twimlVerbs(ended.body)).toEqual([]);
      const [stored] = await callsWith(String(params.CallSid));
      expect(stored).toMatchObject({ status: 'completed', duration_s: 42 });
    }
  });
});

describe('a webhook that is not Twilio’s', () => {
  const signedUrl = `${BASE}${VOICE}`;

  /** Sends the webhook and checks that not one row of the database changed. */
  async function refused(webhook: Parameters<typeof postTwilio>[1], status: number, error: string) {
    const before = await snapshotRows(database.db);
    const response = await postTwilio(app, webhook);
    expect(response.statusCode).toBe(status);
    expect(response.json().error).toBe(error);
    expect(response.body).not.toContain(token);
    expect(await snapshotRows(database.db)).toEqual(before);
  }

  it('is refused when a parameter was changed, added or dropped after signing', async () => {
    const params = voice();
    const signature = twilio.getExpectedTwilioSignature(token, signedUrl, params);
    const tampered = [
      { ...params, From: '+12125559999' },
      { ...params, To: recorded },
      { ...params, Extra: '1' },
      Object.fromEntries(Object.entries(params).filter(([name]) => name !== 'Direction')),
    ];
    for (const body of tampered) {
      await refused(
        { path: VOICE, params, body: formBody(body), authToken: token, signedUrl, signature },
        403,
        'bad_signature',
      );
    }
  });

  it('is refused when signed with another token, or with a signature that is not one', async () => {
    await refused({ path: VOICE, params: voice(), authToken: twilioToken(), signedUrl }, 403, 'bad_signature');
    await refused(
      { path: VOICE, params: voice(), authToken: token, signedUrl, signature: 'bm9wZQ==' },
      403,
      'bad_signature',
    );
    await refused(
      { path: VOICE, params: voice(), authToken: token, signedUrl, signature: '' },
      400,
      'missing_signature',
    );
  });

  it('is a 400 without the signature header', async () => {
    for (const path of [VOICE, '/v1/telephony/twilio/status', '/v1/telephony/twilio/recording']) {
      await refused({ path, params: voice(), authToken: token, signedUrl, signature: null }, 400, 'missing_signature');
    }
  });

  it('is refused for an AccountSid no account connected, even when signed with its own token', async () => {
    const stranger = twilioSid();
    const strangerToken = twilioToken();
    await refused(
      { path: VOICE, params: voice({ accountSid: stranger }), authToken: strangerToken, signedUrl },
      403,
      'bad_signature',
    );
    // And a status or recording callback for it changes nothing either.
    await refused(
      {
        path: '/v1/telephony/twilio/status',
        params: { AccountSid: stranger, CallSid: callSid(), CallStatus: 'completed', CallDuration: '90' },
        authToken: strangerToken,
        signedUrl: `${BASE}/v1/telephony/twilio/status`,
      },
      403,
      'bad_signature',
    );
  });

  it('is refused once its telephony account is disconnected', async () => {
    const other = { sid: twilioSid(), token: twilioToken() };
    const connected = await connectTelephonyAccount(app, auth, {
      provider: 'twilio',
      provider_account: other.sid,
      secret: other.token,
    });
    const params = voice({ accountSid: other.sid });
    expect((await postTwilio(app, { path: VOICE, params, authToken: other.token, signedUrl })).statusCode).toBe(200);
    const removed = await call(app, auth, { method: 'DELETE', url: `/v1/telephony-accounts/${connected.id}` });
    expect(removed.status).toBe(204);
    await refused(
      { path: VOICE, params: voice({ accountSid: other.sid }), authToken: other.token, signedUrl },
      403,
      'bad_signature',
    );
  });
});

describe('the TwiML answer', () => {
  const signedUrl = `${BASE}${VOICE}`;

  it('dials the forward-to number with the caller’s id, answerOnBridge and a ring timeout', async () => {
    const params = voice();
    const response = await postTwilio(app, { path: VOICE, params, authToken: token, signedUrl });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/xml/);
    const verbs = twimlVerbs(response.body);
    expect(verbs).toHaveLength(1);
    const [dial] = verbs;
    expect(dial?.name).toBe('Dial');
    // No recording attributes: this number does not record.
    expect(dial?.attributes).toEqual({
      action: `${BASE}/v1/telephony/twilio/status`,
      callerId: CALLER,
      answerOnBridge: 'true',
      timeout: '30',
    });
    expect(dial?.children.map((c) => [c.name, c.text])).toEqual([['Number', '+12015550100']]);
    const [stored] = await callsWith(String(params.CallSid));
    expect(stored).toMatchObject({ forwarded_to: '+12015550100', tracking_number: plain, caller: CALLER });
  });

  it('records both legs from answer, with a recording callback, when the number records', async () => {
    const params = voice({ to: recorded });
    const response = await postTwilio(app, { path: VOICE, params, authToken: token, signedUrl });
    const [dial] = twimlVerbs(response.body);
    expect(dial?.attributes).toEqual({
      action: `${BASE}/v1/telephony/twilio/status`,
      callerId: CALLER,
      answerOnBridge: 'true',
      timeout: '30',
      record: 'record-from-answer-dual',
      recordingStatusCallback: `${BASE}/v1/telephony/twilio/recording`,
      recordingStatusCallbackEvent: 'completed',
    });
    expect(dial?.children.map((c) => [c.name, c.text])).toEqual([['Number', RECORDED_FORWARD]]);
    expect(await callsWith(String(params.CallSid))).toMatchObject([{ forwarded_to: RECORDED_FORWARD }]);
  });

  it('shows the tracking number as caller id when the caller withheld theirs', async () => {
    for (const from of ['anonymous', 'Restricted', '']) {
      const params = voice({ from });
      const response = await postTwilio(app, { path: VOICE, params, authToken: token, signedUrl });
      const [dial] = twimlVerbs(response.body);
      expect(dial?.attributes.callerId).toBe(plain);
      expect(await callsWith(String(params.CallSid))).toMatchObject([{ caller: null, is_first_call: true }]);
    }
  });

  it('rejects a call to a number Ringpool does not know, storing nothing', async () => {
    for (const to of ['+19995550123', 'sip:front-desk@example.com', '']) {
      const before = await snapshotRows(database.db);
      const response = await postTwilio(app, { path: VOICE, params: voice({ to }), authToken: token, signedUrl });
      if (to === '') {
        expect(response.statusCode).toBe(400);
      } else {
        expect(response.statusCode).toBe(200);
        const verbs = twimlVerbs(response.body);
        expect(verbs.map((v) => [v.name, v.attributes])).toEqual([['Reject', { reason: 'rejected' }]]);
      }
      expect(await snapshotRows(database.db)).toEqual(before);
    }
  });

  it('sends a call to an unknown number to the telephony account’s default, storing nothing', async () => {
    const other = { sid: twilioSid(), token: twilioToken() };
    await connectTelephonyAccount(app, auth, {
      provider: 'twilio',
      provider_account: other.sid,
      secret: other.token,
      unknown_forward_to: '(212) 555-0199',
    });
    const before = await snapshotRows(database.db);
    const params = voice({ accountSid: other.sid, to: '+19995550123' });
    const response = await postTwilio(app, { path: VOICE, params, authToken: other.token, signedUrl });
    expect(response.statusCode).toBe(200);
    const [dial, ...rest] = twimlVerbs(response.body);
    expect(rest).toEqual([]);
    expect(dial?.name).toBe('Dial');
    expect(dial?.attributes.callerId).toBe(CALLER);
    expect(dial?.attributes.record).toBeUndefined();
    expect(dial?.children.map((c) => [c.name, c.text])).toEqual([['Number', '+12125550199']]);
    expect(await snapshotRows(database.db)).toEqual(before);

    // Its known numbers still forward to their own forward-to.
    const known = voice({ accountSid: other.sid });
    const forwarded = await postTwilio(app, { path: VOICE, params: known, authToken: other.token, signedUrl });
    expect(twimlVerbs(forwarded.body)[0]?.children[0]?.text).toBe('+12015550100');
    expect(await callsWith(String(known.CallSid))).toHaveLength(1);
  });
});
