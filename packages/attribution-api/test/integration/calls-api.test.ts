import { randomUUID } from 'node:crypto';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, makeAccount, makeSiteWithPool, SITE_ORIGIN, startSession, TestClock } from '../support/app.ts';
import { createTestDatabase, snapshotRows, type TestDatabase } from '../support/database.ts';
import { callSid, postTwilio, twilioSid, twilioToken, twimlVerbs, voiceParams } from '../support/telephony.ts';

type Auth = Record<string, string>;
interface ListedCall {
  id: string;
  provider_call_id: string;
  started_at: string;
  [field: string]: unknown;
}

const BASE = 'https://calls.example.com';
const T0 = new Date('2026-06-01T12:00:00Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000).toISOString();

let database: TestDatabase;
let app: FastifyInstance;
const clock = new TestClock(new Date(T0));
let nextNumber = 2015550101;

/** Every response body this file receives, to prove no telephony secret ever leaves the service. */
const bodies: string[] = [];
const secrets: string[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  app = await buildTestApp(database.db, { clock: clock.now, publicBaseUrl: BASE });
});

afterAll(async () => {
  await app.close();
  await database.close();
});

/** `call` that also keeps the raw body. */
async function api(auth: Auth, options: InjectOptions) {
  const response = await app.inject({ ...options, headers: { ...auth, ...(options.headers ?? {}) } });
  bodies.push(response.body);
  return { status: response.statusCode, body: response.body ? JSON.parse(response.body) : undefined };
}

async function tenant(name: string) {
  const made = await makeAccount(database.db, name);
  const sid = twilioSid();
  const token = twilioToken();
  secrets.push(token);
  const connected = await api(made.auth, {
    method: 'POST',
    url: '/v1/telephony-accounts',
    payload: { provider: 'twilio', provider_account: sid, secret: token },
  });
  expect(connected.status).toBe(201);
  return { ...made, sid, token, telephonyAccountId: connected.body.id as string };
}

async function site(auth: Auth, size: number) {
  const made = await makeSiteWithPool(app, auth, { size, firstNumber: nextNumber });
  nextNumber += size;
  return made;
}

/** Reports a call through the generic ingress. */
const report = (auth: Auth, payload: Record<string, unknown>) =>
  api(auth, { method: 'POST', url: '/v1/calls', payload });

const list = async (auth: Auth, query: string) => {
  const listed = await api(auth, { method: 'GET', url: `/v1/calls?${query}` });
  expect(listed.status).toBe(200);
  return listed.body as { calls: ListedCall[]; next_cursor: string | null };
};

const twilioVoice = (who: { sid: string; token: string }, to: string, id = callSid()) =>
  postTwilio(app, {
    path: '/v1/telephony/twilio/voice',
    params: voiceParams({ accountSid: who.sid, callSid: id, from: '+12125550123', to }),
    authToken: who.token,
    signedUrl: `${BASE}/v1/telephony/twilio/voice`,
  });

describe('POST /v1/calls (any carrier or PBX)', () => {
  it('records a call once: 201 with the forward and the attributed call, then 200 for a repeat', async () => {
    const alpha = await tenant('Generic');
    const { site: s, numbers } = await site(alpha.auth, 2);
    const shown = await startSession(app, s.public_key, { url: `${SITE_ORIGIN}/?utm_source=google&utm_medium=cpc` });
    const number = shown.body.swaps[0].number.e164;
    const payload = {
      tracking_number: number,
      caller: '(312) 555-0101',
      provider: 'asterisk',
      provider_call_id: 'pbx-1700000000.42',
      started_at: at(120),
    };
    const first = await report(alpha.auth, payload);
    expect(first.status).toBe(201);
    expect(first.body.forward_to).toBe('+12015550100');
    expect(first.body.call).toMatchObject({
      tracking_number: number,
      caller: '+13125550101',
      provider: 'asterisk',
      provider_call_id: 'pbx-1700000000.42',
      started_at: at(120),
      status: 'ringing',
      session_id: shown.body.session,
      confidence: 'high',
      source: 'google',
      is_first_call: true,
    });

    const again = await report(alpha.auth, { ...payload, started_at: at(500), caller: '+13125559999' });
    expect(again.status).toBe(200);
    expect(again.body.call).toEqual(first.body.call);
    const rows = await database.db.selectFrom('calls').select('id').where('site_id', '=', s.id).execute();
    expect(rows.map((r) => r.id)).toEqual([first.body.call.id]);

    // Without a provider it is "generic"; the same id under another provider is another call.
    const generic = await report(alpha.auth, {
      tracking_number: numbers[1]?.e164,
      provider_call_id: 'pbx-1700000000.42',
    });
    expect(generic.status).toBe(201);
    expect(generic.body.call).toMatchObject({
      provider: 'generic',
      caller: null,
      started_at: clock.current.toISOString(),
    });
  });

  it('refuses twilio and telnyx (their signed webhooks only), other tenants’ numbers and bad input, storing nothing', async () => {
    const alpha = await tenant('Generic refusals');
    const bravo = await tenant('Generic other');
    const { numbers } = await site(alpha.auth, 1);
    const theirs = await site(bravo.auth, 1);
    const number = numbers[0]?.e164;
    const before = await snapshotRows(database.db);
    const cases: [Record<string, unknown>, number][] = [
      [{ tracking_number: number, provider: 'twilio', provider_call_id: callSid() }, 400],
      [{ tracking_number: number, provider: 'telnyx', provider_call_id: 'x1' }, 400],
      [{ tracking_number: theirs.numbers[0]?.e164, provider_call_id: 'x2' }, 404],
      [{ tracking_number: '+19995550123', provider_call_id: 'x3' }, 404],
      [{ tracking_number: '2015550101', provider_call_id: 'x4' }, 400],
      [{ tracking_number: number, provider_call_id: '' }, 400],
      [{ tracking_number: number, provider_call_id: 'has space' }, 400],
      [{ tracking_number: number, provider_call_id: 'x5', provider: 'Not A Provider' }, 400],
      [{ tracking_number: number, provider_call_id: 'x6', started_at: 'yesterday' }, 400],
      [{ tracking_number: number, provider_call_id: 'x7', session_id: randomUUID() }, 400],
    ];
    const statuses = [];
    for (const [payload, _] of cases) {
      const response = await report(alpha.auth, payload);
      expect(response.body.error).toEqual(expect.any(String));
      statuses.push(response.status);
    }
    expect(statuses).toEqual(cases.map(([, status]) => status));
    const anonymous = await app.inject({
      method: 'POST',
      url: '/v1/calls',
      payload: { tracking_number: number, provider_call_id: 'x8' },
    });
    expect(anonymous.statusCode).toBe(401);
    expect(await snapshotRows(database.db)).toEqual(before);
  });
});

describe('PATCH /v1/calls/:id', () => {
  it('moves a call forward, never back, and keeps its recording', async () => {
    const alpha = await tenant('Patch');
    const { numbers } = await site(alpha.auth, 1);
    const created = await report(alpha.auth, { tracking_number: numbers[0]?.e164, provider_call_id: 'p-1' });
    const url = `/v1/calls/${created.body.call.id}`;

    const answered = await api(alpha.auth, { method: 'PATCH', url, payload: { status: 'in-progress', at: at(10) } });
    expect(answered.status).toBe(200);
    expect(answered.body).toMatchObject({ status: 'in-progress', answered_at: at(10), qualified: false });

    const ended = await api(alpha.auth, {
      method: 'PATCH',
      url,
      payload: { status: 'completed', duration_s: 90, at: at(100) },
    });
    expect(ended.body).toMatchObject({ status: 'completed', duration_s: 90, ended_at: at(100), qualified: true });

    const backwards = await api(alpha.auth, { method: 'PATCH', url, payload: { status: 'ringing' } });
    expect(backwards.status).toBe(200);
    expect(backwards.body).toMatchObject({ status: 'completed', duration_s: 90, qualified: true });

    const recorded = await api(alpha.auth, {
      method: 'PATCH',
      url,
      payload: { recording_url: 'https://pbx.example.com/rec/p-1.wav', recording_duration_s: 88 },
    });
    expect(recorded.body.recording).toEqual({ url: 'https://pbx.example.com/rec/p-1.wav', duration_s: 88 });
    expect(recorded.body.status).toBe('completed');

    const detail = await api(alpha.auth, { method: 'GET', url });
    expect(detail.body).toMatchObject({
      status: 'completed',
      duration_s: 90,
      recording: { url: 'https://pbx.example.com/rec/p-1.wav', duration_s: 88 },
    });
  });

  it('takes a duration alone for an ended call that lacked one', async () => {
    const alpha = await tenant('Patch duration');
    const { numbers } = await site(alpha.auth, 1);
    const created = await report(alpha.auth, { tracking_number: numbers[0]?.e164, provider_call_id: 'p-2' });
    const url = `/v1/calls/${created.body.call.id}`;
    await api(alpha.auth, { method: 'PATCH', url, payload: { status: 'completed' } });
    const timed = await api(alpha.auth, { method: 'PATCH', url, payload: { duration_s: 75 } });
    expect(timed.body).toMatchObject({ status: 'completed', duration_s: 75, qualified: true });
  });

  it('refuses bad updates and unknown calls, changing nothing', async () => {
    const alpha = await tenant('Patch refusals');
    const { numbers } = await site(alpha.auth, 1);
    const created = await report(alpha.auth, { tracking_number: numbers[0]?.e164, provider_call_id: 'p-3' });
    const url = `/v1/calls/${created.body.call.id}`;
    const before = await snapshotRows(database.db);
    const cases: [string, Record<string, unknown>, number][] = [
      [url, {}, 400],
      [url, { status: 'exploded' }, 400],
      [url, { duration_s: -1 }, 400],
      [url, { duration_s: 1.5 }, 400],
      [url, { recording_url: 'http://pbx.example.com/rec.wav' }, 400],
      [url, { qualified: true }, 400],
      [`/v1/calls/${randomUUID()}`, { status: 'completed' }, 404],
      ['/v1/calls/not-a-uuid', { status: 'completed' }, 400],
    ];
    const statuses = [];
    for (const [target, payload] of cases)
      statuses.push((await api(alpha.auth, { method: 'PATCH', url: target, payload })).status);
    expect(statuses).toEqual(cases.map(([, , status]) => status));
    expect(await snapshotRows(database.db)).toEqual(before);
  });
});

describe('GET /v1/calls filters', () => {
  it('narrow the list by site, time, source, medium, campaign, first time, qualified, status and confidence', async () => {
    const alpha = await tenant('Filters');
    clock.current = new Date(T0);
    const main = await site(alpha.auth, 3);
    const second = await site(alpha.auth, 1);
    const bing = await api(alpha.auth, {
      method: 'POST',
      url: `/v1/sites/${main.site.id}/source-numbers`,
      payload: { number: `+1${nextNumber++}`, source: 'bing', label: 'Bing Ads' },
    });
    const visit = async (siteKey: string, query: string) =>
      (await startSession(app, siteKey, { url: `${SITE_ORIGIN}/?${query}` })).body.swaps[0].number.e164 as string;
    const google = await visit(main.site.public_key, 'utm_source=google&utm_medium=cpc&utm_campaign=spring');
    const facebook = await visit(main.site.public_key, 'utm_source=facebook&utm_medium=social&utm_campaign=summer');
    const idle = main.numbers.map((n) => n.e164).find((n) => n !== google && n !== facebook);
    const google2 = await visit(second.site.public_key, 'utm_source=google&utm_medium=cpc&utm_campaign=spring');

    const made: Record<string, string> = {};
    const plan: [string, string | undefined, number, string][] = [
      ['c1', google, 60, '+13125550001'],
      ['c2', facebook, 120, '+13125550002'],
      ['c3', idle, 180, '+13125550001'],
      ['c4', bing.body.e164, 240, '+13125550003'],
      ['c5', google2, 300, '+13125550001'],
      ['c6', google, 1860, '+13125550004'],
    ];
    for (const [name, number, offset, caller] of plan) {
      const created = await report(alpha.auth, {
        tracking_number: number,
        caller,
        provider_call_id: `f-${name}`,
        started_at: at(offset),
      });
      expect(created.status).toBe(201);
      made[name] = created.body.call.id;
    }
    const patch = (name: string, payload: Record<string, unknown>) =>
      api(alpha.auth, { method: 'PATCH', url: `/v1/calls/${made[name]}`, payload });
    await patch('c1', { status: 'completed', duration_s: 90 });
    await patch('c2', { status: 'completed', duration_s: 30 });
    await patch('c6', { status: 'no-answer' });

    const names = async (query: string) => {
      const { calls } = await list(alpha.auth, query);
      return calls.map((c) => Object.keys(made).find((name) => made[name] === c.id));
    };
    const results = {
      all: await names(''),
      site: await names(`site_id=${second.site.id}`),
      range: await names(`from=${at(120)}&to=${at(240)}`),
      google: await names('source=google'),
      googleOnMain: await names(`source=google&site_id=${main.site.id}`),
      social: await names('medium=social'),
      spring: await names('campaign=spring'),
      repeat: await names('first_time=false'),
      firstTime: await names('first_time=true'),
      qualified: await names('qualified=true'),
      notQualified: await names('qualified=false'),
      completed: await names('status=completed'),
      noAnswer: await names('status=no-answer'),
      ringing: await names('status=ringing'),
      high: await names('confidence=high'),
      medium: await names('confidence=medium'),
      none: await names('confidence=none'),
      combined: await names('source=google&confidence=high&qualified=true'),
      nothing: await names('campaign=winter'),
    };
    expect(results).toEqual({
      all: ['c6', 'c5', 'c4', 'c3', 'c2', 'c1'],
      site: ['c5'],
      range: ['c3', 'c2'],
      google: ['c6', 'c5', 'c1'],
      googleOnMain: ['c6', 'c1'],
      social: ['c2'],
      spring: ['c6', 'c5', 'c1'],
      repeat: ['c3'],
      firstTime: ['c6', 'c5', 'c4', 'c2', 'c1'],
      qualified: ['c1'],
      notQualified: ['c6', 'c5', 'c4', 'c3', 'c2'],
      completed: ['c2', 'c1'],
      noAnswer: ['c6'],
      ringing: ['c5', 'c4', 'c3'],
      high: ['c5', 'c4', 'c2', 'c1'],
      medium: ['c6'],
      none: ['c3'],
      combined: ['c1'],
      nothing: [],
    });
    // c3's caller first called at c1: the repeat links there.
    const c3 = await api(alpha.auth, { method: 'GET', url: `/v1/calls/${made.c3}` });
    expect(c3.body.first_call_id).toBe(made.c1);
  });

  it('answer 400 for a filter value that is not one, and for a cursor this API did not give', async () => {
    const alpha = await tenant('Bad filters');
    const uuid = randomUUID();
    const cursor = (text: string) => Buffer.from(text).toString('base64url');
    const queries = [
      'status=exploded',
      'confidence=certain',
      'first_time=maybe',
      'qualified=2',
      'from=yesterday',
      'to=2026-13-45T00:00:00Z',
      'site_id=123',
      'limit=0',
      'limit=501',
      'limit=ten',
      'colour=blue',
      'cursor=not-a-cursor!',
      `cursor=${cursor(`2026-06-01T12:00:00.000Z|not-a-uuid`)}`,
      `cursor=${cursor(`not-a-date|${uuid}`)}`,
      `cursor=${cursor(`0001-01-01T00:00:00.000Z|${uuid}`)}`,
      `cursor=${'A'.repeat(201)}`,
    ];
    const answers: Record<string, number> = {};
    for (const query of queries) {
      const response = await api(alpha.auth, { method: 'GET', url: `/v1/calls?${query}` });
      answers[query] = response.status;
      expect(response.body.error).toEqual(expect.any(String));
    }
    expect(answers).toEqual(Object.fromEntries(queries.map((q) => [q, 400])));
  });
});

describe('cursor pagination', () => {
  it('walks more calls than one page holds, newest first, with no duplicates and no gaps, ties included', async () => {
    const alpha = await tenant('Pages');
    const { numbers } = await site(alpha.auth, 1);
    // 23 calls, four to a second: pages must split inside runs of equal start times.
    for (let i = 0; i < 23; i++) {
      const created = await report(alpha.auth, {
        tracking_number: numbers[0]?.e164,
        provider_call_id: `page-${i}`,
        started_at: at(Math.floor(i / 4)),
      });
      expect(created.status).toBe(201);
    }
    const everything = (await list(alpha.auth, 'limit=500')).calls;
    expect(everything).toHaveLength(23);

    const walk = async (query: string, limit: number) => {
      const pages: ListedCall[][] = [];
      let cursor: string | null = null;
      do {
        const page: { calls: ListedCall[]; next_cursor: string | null } = await list(
          alpha.auth,
          `${query}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`,
        );
        pages.push(page.calls);
        cursor = page.next_cursor;
        expect(pages.length).toBeLessThan(30);
      } while (cursor);
      return pages;
    };
    for (const limit of [1, 4, 5, 7, 23]) {
      const pages = await walk('', limit);
      const walked = pages.flat().map((c) => c.id);
      expect(walked).toEqual(everything.map((c) => c.id));
      expect(new Set(walked).size).toBe(23);
      expect(pages.slice(0, -1).every((p) => p.length === limit)).toBe(true);
    }
    // Newest first; equal start times in one fixed order.
    const keys = everything.map((c) => `${c.started_at}|${c.id}`);
    expect(keys).toEqual([...keys].sort().reverse());

    // A filter and a cursor together: only the filter's calls, still complete.
    const early = (await walk(`to=${at(3)}`, 5)).flat();
    expect(early.map((c) => c.provider_call_id).sort()).toEqual(
      Array.from({ length: 12 }, (_, i) => `page-${i}`).sort(),
    );
  });
});

describe('tenant isolation', () => {
  it('another account sees none of the calls, cannot change them, and cannot report calls on their numbers', async () => {
    const alpha = await tenant('Isolation A');
    const bravo = await tenant('Isolation B');
    const { site: s, numbers } = await site(alpha.auth, 1);
    const own = await site(bravo.auth, 1);
    const id = callSid();
    expect((await twilioVoice(alpha, numbers[0]?.e164 ?? '', id)).statusCode).toBe(200);
    const [mine] = (await list(alpha.auth, `site_id=${s.id}`)).calls;
    if (!mine) throw new Error('no call');

    expect((await list(bravo.auth, '')).calls).toEqual([]);
    expect((await list(bravo.auth, `site_id=${s.id}`)).calls).toEqual([]);
    expect((await api(bravo.auth, { method: 'GET', url: `/v1/calls/${mine.id}` })).status).toBe(404);

    const before = await snapshotRows(database.db);
    const refused = [
      await api(bravo.auth, { method: 'PATCH', url: `/v1/calls/${mine.id}`, payload: { status: 'completed' } }),
      await report(bravo.auth, { tracking_number: numbers[0]?.e164, provider_call_id: 'steal-1' }),
    ];
    expect(refused.map((r) => r.status)).toEqual([404, 404]);
    // Bravo's own Twilio account calling Alpha's number: answered as an unknown number, nothing stored.
    const foreign = await twilioVoice(bravo, numbers[0]?.e164 ?? '');
    expect(foreign.statusCode).toBe(200);
    expect(twimlVerbs(foreign.body).map((v) => v.name)).toEqual(['Reject']);
    expect(await snapshotRows(database.db)).toEqual(before);

    // Bravo's provider reporting on Alpha's call id touches only Bravo's own (waiting) events.
    await postTwilio(app, {
      path: '/v1/telephony/twilio/status',
      params: { AccountSid: bravo.sid, CallSid: id, CallStatus: 'completed', CallDuration: '300' },
      authToken: bravo.token,
      signedUrl: `${BASE}/v1/telephony/twilio/status`,
    });
    const after = await api(alpha.auth, { method: 'GET', url: `/v1/calls/${mine.id}` });
    expect(after.body).toMatchObject({ status: 'ringing', duration_s: null, qualified: false });

    // The same call id is free for Bravo's own number: ids are per account.
    const theirs = await twilioVoice(bravo, own.numbers[0]?.e164 ?? '', id);
    expect(twimlVerbs(theirs.body).map((v) => v.name)).toEqual(['Dial']);
    const bravoCalls = (await list(bravo.auth, '')).calls;
    expect(bravoCalls.map((c) => [c.provider_call_id, c.tracking_number])).toEqual([[id, own.numbers[0]?.e164]]);
    expect((await api(alpha.auth, { method: 'GET', url: `/v1/calls/${mine.id}` })).body.status).toBe('ringing');
  });
});

describe('telephony accounts', () => {
  it('take a secret and never give it back; another account can neither see nor remove them', async () => {
    const alpha = await tenant('Secrets A');
    const bravo = await tenant('Secrets B');
    const sid = twilioSid();
    const token = twilioToken();
    secrets.push(token);
    const created = await api(alpha.auth, {
      method: 'POST',
      url: '/v1/telephony-accounts',
      payload: { provider: 'twilio', provider_account: sid, secret: token, unknown_forward_to: '(212) 555-0199' },
    });
    expect(created.status).toBe(201);
    expect(Object.keys(created.body).sort()).toEqual([
      'created_at',
      'id',
      'provider',
      'provider_account',
      'unknown_forward_to',
    ]);
    expect(created.body).toMatchObject({
      provider: 'twilio',
      provider_account: sid,
      unknown_forward_to: '+12125550199',
    });

    const listed = await api(alpha.auth, { method: 'GET', url: '/v1/telephony-accounts' });
    expect(listed.body.telephony_accounts.map((a: { provider_account: string }) => a.provider_account)).toEqual([
      alpha.sid,
      sid,
    ]);
    const duplicate = await api(bravo.auth, {
      method: 'POST',
      url: '/v1/telephony-accounts',
      payload: { provider: 'twilio', provider_account: sid, secret: twilioToken() },
    });
    expect(duplicate.status).toBe(409);
    const bravoList = await api(bravo.auth, { method: 'GET', url: '/v1/telephony-accounts' });
    expect(bravoList.body.telephony_accounts.map((a: { provider_account: string }) => a.provider_account)).toEqual([
      bravo.sid,
    ]);
    expect((await api(bravo.auth, { method: 'DELETE', url: `/v1/telephony-accounts/${created.body.id}` })).status).toBe(
      404,
    );

    const invalid = [
      { provider: 'twilio', provider_account: 'not-a-sid', secret: twilioToken() },
      { provider: 'twilio', provider_account: twilioSid(), secret: 'short' },
      { provider: 'twilio', provider_account: twilioSid(), secret: twilioToken(), unknown_forward_to: 'call me' },
      { provider: 'vonage', provider_account: 'x', secret: twilioToken() },
      { provider: 'twilio', provider_account: twilioSid(), secret: twilioToken(), extra: true },
    ];
    for (const payload of invalid) {
      expect((await api(alpha.auth, { method: 'POST', url: '/v1/telephony-accounts', payload })).status).toBe(400);
    }
    const after = await api(alpha.auth, { method: 'GET', url: '/v1/telephony-accounts' });
    expect(after.body.telephony_accounts).toHaveLength(2);
  });

  it('never show a secret in any response of this file', async () => {
    const docs = await app.inject({ method: 'GET', url: '/docs/json' });
    bodies.push(docs.body);
    expect(secrets.length).toBeGreaterThan(5);
    expect(bodies.length).toBeGreaterThan(50);
    for (const secret of secrets) {
      expect(bodies.filter((body) => body.includes(secret))).toEqual([]);
    }
  });
});
