import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  buildTestApp,
  call,
  makeAccount,
  makeSiteWithPool,
  SITE_ORIGIN,
  startSession,
  TestClock,
} from '../support/app.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import {
  callSid,
  connectTelephonyAccount,
  postTwilio,
  twilioSid,
  twilioToken,
  twimlVerbs,
  voiceParams,
} from '../support/telephony.ts';

const BASE = 'https://calls.example.com';
const START = new Date('2026-06-01T12:00:00Z');
const minutes = (n: number) => n * 60;

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
  ({ auth } = await makeAccount(database.db, 'Attribution'));
  await connectTelephonyAccount(app, auth, { provider: 'twilio', provider_account: sid, secret: token });
});

afterAll(async () => {
  await app.close();
  await database.close();
});

beforeEach(() => {
  clock.current = new Date(START);
});

/** A site of its own for each test, with numbers no other test uses. */
async function site(size: number, settings: Record<string, unknown> = {}) {
  const made = await makeSiteWithPool(app, auth, { size, settings, firstNumber: nextNumber });
  nextNumber += size;
  return made;
}

/** A visit from a browser; returns its session and the number it was shown. */
async function visit(siteKey: string, query = '', referrer?: string) {
  const started = await startSession(app, siteKey, {
    url: `${SITE_ORIGIN}/landing${query}`,
    ...(referrer ? { referrer } : {}),
  });
  expect(started.status).toBe(200);
  return { session: started.body.session as string, number: started.body.swaps[0].number?.e164 as string };
}

interface CallDetail {
  id: string;
  session_id: string | null;
  confidence: string;
  reason: string;
  source: string | null;
  medium: string | null;
  campaign: string | null;
  source_label: string | null;
  is_first_call: boolean;
  first_call_id: string | null;
  candidates: { session_id: string; confidence: string; phase: string; tapped: boolean; reason: string }[];
  visit: Record<string, unknown> | null;
}

/** Rings the number through a signed Twilio voice webhook, now; returns the call as the API shows it. */
async function ring(to: string, from = '+12125550123'): Promise<CallDetail> {
  const id = callSid();
  const path = '/v1/telephony/twilio/voice';
  const answer = await postTwilio(app, {
    path,
    params: voiceParams({ accountSid: sid, callSid: id, from, to }),
    authToken: token,
    signedUrl: `${BASE}${path}`,
  });
  expect(answer.statusCode).toBe(200);
  expect(twimlVerbs(answer.body)[0]?.name).toBe('Dial');
  const row = await database.db
    .selectFrom('calls')
    .select('id')
    .where('provider_call_id', '=', id)
    .executeTakeFirstOrThrow();
  const detail = await call(app, auth, { method: 'GET', url: `/v1/calls/${row.id}` });
  expect(detail.status).toBe(200);
  return detail.body;
}

const tap = (siteKey: string, session: string, number: string) =>
  app.inject({
    method: 'POST',
    url: `/v1/public/sites/${siteKey}/sessions/${session}/intents`,
    headers: { origin: SITE_ORIGIN, 'content-type': 'text/plain' },
    payload: JSON.stringify({ number: `tel:${number}` }),
  });

describe('the full loop', () => {
  it('names the visit behind a call: source, campaign, gclid, landing page, device, with high confidence', async () => {
    const { site: s } = await site(2);
    const query =
      '?utm_source=google&utm_medium=cpc&utm_campaign=spring_implants&utm_term=dental+implants&gclid=Cj0KCQ-test';
    const shown = await visit(s.public_key, query, 'https://www.google.com/');
    expect(shown.number).toMatch(/^\+1201555/);
    clock.advance(minutes(3));

    const rung = await ring(shown.number);
    const listed = await call(app, auth, { method: 'GET', url: `/v1/calls?site_id=${s.id}` });
    expect(listed.body.calls).toHaveLength(1);
    expect(listed.body.calls[0]).toMatchObject({
      id: rung.id,
      tracking_number: shown.number,
      caller: '+12125550123',
      session_id: shown.session,
      source: 'google',
      medium: 'cpc',
      campaign: 'spring_implants',
      term: 'dental implants',
      landing_url: `${SITE_ORIGIN}/landing`,
      device_type: 'desktop',
      confidence: 'high',
      is_first_call: true,
      status: 'ringing',
    });
    expect(rung.confidence).toBe('high');
    expect(rung.reason).toMatch(/google \/ cpc/);
    expect(rung.reason).toMatch(/spring_implants/);
    expect(rung.reason).toMatch(/lease active/);
    expect(rung.visit).toMatchObject({
      id: shown.session,
      gclid: 'Cj0KCQ-test',
      utm_source: 'google',
      utm_medium: 'cpc',
      utm_campaign: 'spring_implants',
      landing_url: `${SITE_ORIGIN}/landing`,
      referrer: 'https://www.google.com/',
      pages: [`${SITE_ORIGIN}/landing`],
      device_type: 'desktop',
      browser: 'Chrome',
      os: 'Mac OS',
    });
    expect(rung.candidates).toEqual([
      expect.objectContaining({ session_id: shown.session, confidence: 'high', phase: 'active', tapped: false }),
    ]);
  });
});

describe('attribution at every boundary of a lease (idle timeout 30 min, cooldown 15 min)', () => {
  it('is high while the lease is active, medium in the cooldown, low after it, none a day later', async () => {
    const { site: s } = await site(1);
    const shown = await visit(s.public_key, '?utm_source=newsletter&utm_medium=email');
    const at = [
      ['inside the lease', minutes(30) - 1],
      ['at the idle timeout', minutes(30)],
      ['last second of the cooldown', minutes(45) - 1],
      ['cooldown over', minutes(45)],
      ['last second of the day after release', minutes(45) + 86_400 - 1],
      ['a day after release', minutes(45) + 86_400],
    ] as const;
    const seen: Record<string, [string, string | null]> = {};
    const reasons: Record<string, string> = {};
    for (const [name, offset] of at) {
      clock.current = new Date(START.getTime() + offset * 1000);
      const rung = await ring(shown.number);
      seen[name] = [rung.confidence, rung.session_id];
      reasons[name] = rung.reason;
      expect(rung.source).toBe(rung.session_id ? 'newsletter' : null);
    }
    expect(seen).toEqual({
      'inside the lease': ['high', shown.session],
      'at the idle timeout': ['medium', shown.session],
      'last second of the cooldown': ['medium', shown.session],
      'cooldown over': ['low', shown.session],
      'last second of the day after release': ['low', shown.session],
      'a day after release': ['none', null],
    });
    expect(reasons['inside the lease']).toMatch(/^Visit from newsletter \/ email: lease active/);
    expect(reasons['at the idle timeout']).toMatch(/cooldown/);
    expect(reasons['cooldown over']).toMatch(/no other visit has held the number since/);
    expect(reasons['a day after release']).toMatch(/^Unattributed: .*newsletter \/ email/);
  });

  it('follows the lease as heartbeats extend it', async () => {
    const { site: s } = await site(1);
    const shown = await visit(s.public_key);
    clock.advance(minutes(25));
    const ping = await app.inject({
      method: 'POST',
      url: `/v1/public/sites/${s.public_key}/sessions/${shown.session}/ping`,
      headers: { origin: SITE_ORIGIN, 'content-type': 'text/plain' },
      payload: JSON.stringify({ url: `${SITE_ORIGIN}/pricing` }),
    });
    expect(ping.statusCode).toBe(200);
    clock.advance(minutes(29));
    const rung = await ring(shown.number);
    expect([rung.confidence, rung.session_id, rung.source]).toEqual(['high', shown.session, '(direct)']);
    expect(rung.visit?.pages).toEqual([`${SITE_ORIGIN}/landing`, `${SITE_ORIGIN}/pricing`]);
  });

  it('goes to the new holder once the number has passed to another visit, naming the old one as a candidate', async () => {
    const { site: s } = await site(1);
    const first = await visit(s.public_key, '?utm_source=facebook&utm_medium=social');
    clock.advance(minutes(46));
    const second = await visit(s.public_key, '?utm_source=bing&utm_medium=cpc');
    expect(second.number).toBe(first.number);
    clock.advance(minutes(1));
    const rung = await ring(first.number);
    expect([rung.confidence, rung.session_id, rung.source]).toEqual(['high', second.session, 'bing']);
    expect(rung.candidates.map((c) => [c.session_id, c.confidence, c.phase])).toEqual([
      [second.session, 'high', 'active'],
      [first.session, 'none', 'released'],
    ]);
    expect(rung.candidates[1]?.reason).toMatch(/leased to another visit/);
  });

  it('after a recycle, goes to the visit the number was recycled to', async () => {
    const { site: s } = await site(1, { exhaustion_policy: 'recycle' });
    const first = await visit(s.public_key, '?utm_source=facebook&utm_medium=social');
    clock.advance(minutes(2));
    // The pool of one is full: the second visitor takes the number from the first, whose lease is still active.
    const second = await visit(s.public_key, '?utm_source=google&utm_medium=cpc&utm_campaign=brand');
    expect(second.number).toBe(first.number);
    const [cut] = await database.db.selectFrom('leases').selectAll().where('session_id', '=', first.session).execute();
    expect(cut?.end_reason).toBe('recycled');

    clock.advance(minutes(1));
    const rung = await ring(first.number);
    expect([rung.confidence, rung.session_id, rung.source, rung.campaign]).toEqual([
      'high',
      second.session,
      'google',
      'brand',
    ]);
    expect(rung.candidates.map((c) => [c.session_id, c.confidence])).toEqual([
      [second.session, 'high'],
      [first.session, 'none'],
    ]);
    expect(rung.candidates[1]?.reason).toMatch(/recycled to another visit/);
  });

  it('leaves a call to a pool number nobody ever held unattributed, saying so', async () => {
    const { numbers } = await site(1);
    const rung = await ring(numbers[0]?.e164 ?? '');
    expect(rung).toMatchObject({ confidence: 'none', session_id: null, source: null, candidates: [], visit: null });
    expect(rung.reason).toMatch(/^Unattributed: no visit had held/);
  });
});

describe('source-level numbers', () => {
  it('attribute a call to their fixed source and label, with no visit', async () => {
    const { site: s } = await site(1);
    // A visit from google holds the pool number: it has nothing to do with the source number.
    await visit(s.public_key, '?utm_source=google&utm_medium=cpc');
    const billboard = await call(app, auth, {
      method: 'POST',
      url: `/v1/sites/${s.id}/source-numbers`,
      payload: { number: `+1${nextNumber++}`, source: 'billboard', label: 'Billboard I-95' },
    });
    expect(billboard.status).toBe(201);
    clock.advance(minutes(1));
    const rung = await ring(billboard.body.e164);
    expect(rung).toMatchObject({
      confidence: 'high',
      session_id: null,
      source: 'billboard',
      source_label: 'Billboard I-95',
      medium: null,
      campaign: null,
      visit: null,
      candidates: [],
    });
    expect(rung.reason).toMatch(/Source-level number of "billboard" \(Billboard I-95\)/);
    const bySource = await call(app, auth, { method: 'GET', url: `/v1/calls?site_id=${s.id}&source=billboard` });
    expect(bySource.body.calls.map((c: { id: string }) => c.id)).toEqual([rung.id]);
  });
});

describe('repeat callers', () => {
  it('link each later call from the same caller on a site to their first call', async () => {
    const { site: s, numbers } = await site(2);
    const other = await site(1);
    const caller = '+13125550177';
    const first = await ring(numbers[0]?.e164 ?? '', caller);
    clock.advance(minutes(10));
    const second = await ring(numbers[1]?.e164 ?? '', caller);
    clock.advance(minutes(10));
    const third = await ring(numbers[0]?.e164 ?? '', caller);
    const stranger = await ring(numbers[0]?.e164 ?? '', '+13125550178');
    const elsewhere = await ring(other.numbers[0]?.e164 ?? '', caller);

    expect([first.is_first_call, first.first_call_id]).toEqual([true, null]);
    expect([second.is_first_call, second.first_call_id]).toEqual([false, first.id]);
    expect([third.is_first_call, third.first_call_id]).toEqual([false, first.id]);
    expect([stranger.is_first_call, stranger.first_call_id]).toEqual([true, null]);
    // First-time is per site: the same caller is new to the other site.
    expect([elsewhere.is_first_call, elsewhere.first_call_id]).toEqual([true, null]);

    const repeats = await call(app, auth, { method: 'GET', url: `/v1/calls?site_id=${s.id}&first_time=false` });
    expect(repeats.body.calls.map((c: { id: string }) => c.id).sort()).toEqual([second.id, third.id].sort());
  });
});

describe('call intents', () => {
  it('raise a call in the cooldown from medium to high when the visit tapped the number shortly before', async () => {
    const { site: s } = await site(2);
    const tapped = await visit(s.public_key, '?utm_source=yelp&utm_medium=referral');
    const untapped = await visit(s.public_key, '?utm_source=yelp&utm_medium=referral');
    clock.advance(minutes(25));
    expect((await tap(s.public_key, tapped.session, tapped.number)).statusCode).toBe(204);
    // A tap on another number is not a tap on this one.
    expect((await tap(s.public_key, untapped.session, tapped.number)).statusCode).toBe(204);
    clock.advance(minutes(6));

    const raised = await ring(tapped.number);
    expect([raised.confidence, raised.session_id]).toEqual(['high', tapped.session]);
    expect(raised.reason).toMatch(/tapped the number 6 min before the call, raising confidence from medium to high/);
    expect(raised.candidates[0]).toMatchObject({ phase: 'cooldown', tapped: true, confidence: 'high' });

    const plain = await ring(untapped.number);
    expect([plain.confidence, plain.session_id]).toEqual(['medium', untapped.session]);
    expect(plain.candidates[0]).toMatchObject({ phase: 'cooldown', tapped: false });
  });

  it('do not count a tap more than 10 minutes before the call', async () => {
    const { site: s } = await site(1);
    const shown = await visit(s.public_key);
    clock.advance(minutes(20));
    expect((await tap(s.public_key, shown.session, shown.number)).statusCode).toBe(204);
    clock.advance(minutes(11));
    const rung = await ring(shown.number);
    expect([rung.confidence, rung.session_id]).toEqual(['medium', shown.session]);
    expect(rung.candidates[0]).toMatchObject({ tapped: false });
    expect(rung.reason).not.toMatch(/tapped/);
  });
});
