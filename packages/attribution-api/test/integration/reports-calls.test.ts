import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as reportsMigration from '../../../../migrations/2026-11-29T20-40-00_reports.ts';
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

const IPHONE_UA =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1';

let database: TestDatabase;
let app: FastifyInstance;
const clock = new TestClock(new Date('2026-06-10T14:00:00Z'));
let nextNumber = 2015550101;

beforeAll(async () => {
  database = await createTestDatabase();
  app = await buildTestApp(database.db, { clock: clock.now });
});

afterAll(async () => {
  await app.close();
  await database.close();
});

type Auth = Record<string, string>;
type Row = Record<string, unknown>;

async function siteWithPool(auth: Auth, size: number, settings: Record<string, unknown> = {}) {
  const made = await makeSiteWithPool(app, auth, {
    size,
    firstNumber: nextNumber,
    settings: { max_leases_per_ip: null, ...settings },
  });
  nextNumber += size;
  return made;
}

/** A visit landing on `path`, and the tracking number it was shown. */
async function visit(siteKey: string, path: string, options: { referrer?: string; userAgent?: string } = {}) {
  const started = await startSession(
    app,
    siteKey,
    { url: `${SITE_ORIGIN}${path}`, ...(options.referrer ? { referrer: options.referrer } : {}) },
    options.userAgent ? { 'user-agent': options.userAgent } : {},
  );
  expect(started.status).toBe(200);
  const number = started.body.swaps[0]?.number?.e164 as string;
  expect(number).toMatch(/^\+1/);
  return number;
}

/** A call through the generic ingress, then its outcome as the carrier reports it. */
async function ring(
  auth: Auth,
  to: string,
  at: Date,
  outcome: { caller?: string; status?: string; duration_s?: number } = {},
) {
  const created = await call(app, auth, {
    method: 'POST',
    url: '/v1/calls',
    payload: {
      tracking_number: to,
      caller: outcome.caller ?? null,
      provider: 'pbx',
      provider_call_id: randomUUID(),
      started_at: at.toISOString(),
    },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  if (outcome.status) {
    const ended = new Date(at.getTime() + (outcome.duration_s ?? 0) * 1000 + 5000);
    const patched = await call(app, auth, {
      method: 'PATCH',
      url: `/v1/calls/${created.body.call.id}`,
      payload: {
        status: outcome.status,
        ...(outcome.duration_s !== undefined ? { duration_s: outcome.duration_s } : {}),
        at: ended.toISOString(),
      },
    });
    expect(patched.status).toBe(200);
  }
  return created.body.call as Row;
}

async function report(auth: Auth, query: string) {
  const response = await call(app, auth, { method: 'GET', url: `/v1/reports/calls?${query}` });
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body as { rows: Row[]; totals: Row; truncated: boolean };
}

async function daily(auth: Auth, query: string) {
  const response = await call(app, auth, { method: 'GET', url: `/v1/reports/calls/daily?${query}` });
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body as { days: Row[]; groups?: Row[] };
}

const pick = (rows: Row[], ...keys: string[]) => rows.map((row) => Object.fromEntries(keys.map((k) => [k, row[k]])));

describe('calls report', () => {
  let auth: Auth;
  let site: { id: string; public_key: string };
  let pool: { id: string };
  const numbers = { google: '', facebook: '', news: '' };

  beforeAll(async () => {
    ({ auth } = await makeAccount(database.db, 'Dental group'));
    ({ site, pool } = await siteWithPool(auth, 4));
    const key = site.public_key;
    // Three visits on 10 June, 10:00 New York time, each shown its own number.
    numbers.google = await visit(
      key,
      '/implants?utm_source=google&utm_medium=cpc&utm_campaign=spring&utm_term=dental+implants',
      {
        referrer: 'https://www.google.com/search?q=implants',
      },
    );
    numbers.facebook = await visit(key, '/?utm_source=facebook&utm_medium=social&utm_campaign=summer', {
      userAgent: IPHONE_UA,
    });
    numbers.news = await visit(key, '/blog', { referrer: 'https://news.example.org/story/42' });

    const t = (minutes: number) => new Date(clock.current.getTime() + minutes * 60_000);
    await ring(auth, numbers.google, t(2), { caller: '+12125550001', status: 'completed', duration_s: 120 });
    await ring(auth, numbers.google, t(4), { caller: '+12125550002', status: 'completed', duration_s: 30 });
    await ring(auth, numbers.google, t(6), { caller: '+12125550001', status: 'no-answer' });
    await ring(auth, numbers.facebook, t(8), { caller: '+12125550003', status: 'completed', duration_s: 90 });
    await ring(auth, numbers.news, t(10), { caller: '+12125550004', status: 'busy' });
  });

  const day = () => `site_id=${site.id}&from=2026-06-10&to=2026-06-10`;

  it('groups calls by source with answered, qualified, first-time callers and average duration', async () => {
    const body = await report(auth, `${day()}&group_by=source`);
    const measures = ['source', 'calls', 'answered', 'qualified', 'first_time_callers', 'avg_duration_s'];
    expect(pick(body.rows, ...measures)).toEqual([
      { source: 'google', calls: 3, answered: 2, qualified: 1, first_time_callers: 2, avg_duration_s: 75 },
      { source: 'facebook', calls: 1, answered: 1, qualified: 1, first_time_callers: 1, avg_duration_s: 90 },
      { source: 'news.example.org', calls: 1, answered: 0, qualified: 0, first_time_callers: 1, avg_duration_s: null },
    ]);
    expect(body.totals).toMatchObject({
      calls: 5,
      answered: 3,
      qualified: 2,
      first_time_callers: 4,
      avg_duration_s: 80,
      cost: null,
    });
    expect(body.truncated).toBe(false);
  });

  it('groups by every other dimension, and by several at once', async () => {
    const by = async (groupBy: string, ...keys: string[]) =>
      pick((await report(auth, `${day()}&group_by=${groupBy}`)).rows, ...keys, 'calls');

    expect(await by('referrer_domain', 'referrer_domain')).toEqual([
      { referrer_domain: 'google.com', calls: 3 },
      { referrer_domain: 'news.example.org', calls: 1 },
      { referrer_domain: null, calls: 1 },
    ]);
    expect(await by('device_type', 'device_type')).toEqual([
      { device_type: 'desktop', calls: 4 },
      { device_type: 'mobile', calls: 1 },
    ]);
    expect(await by('landing_page', 'landing_page')).toEqual([
      { landing_page: `${SITE_ORIGIN}/implants`, calls: 3 },
      { landing_page: `${SITE_ORIGIN}/`, calls: 1 },
      { landing_page: `${SITE_ORIGIN}/blog`, calls: 1 },
    ]);
    expect(await by('medium', 'medium')).toEqual([
      { medium: 'cpc', calls: 3 },
      { medium: 'referral', calls: 1 },
      { medium: 'social', calls: 1 },
    ]);
    expect(await by('term', 'term')).toEqual([
      { term: 'dental implants', calls: 3 },
      { term: null, calls: 2 },
    ]);
    expect(await by('content', 'content')).toEqual([{ content: null, calls: 5 }]);
    expect(await by('tracking_number', 'tracking_number')).toEqual(
      [
        { tracking_number: numbers.google, calls: 3 },
        { tracking_number: numbers.facebook, calls: 1 },
        { tracking_number: numbers.news, calls: 1 },
      ].sort((a, b) => b.calls - a.calls || String(a.tracking_number).localeCompare(String(b.tracking_number))),
    );
    expect(await by('pool', 'pool', 'pool_name')).toEqual([{ pool: pool.id, pool_name: 'Main pool', calls: 5 }]);
    expect(await by('source,campaign,device_type', 'source', 'campaign', 'device_type')).toEqual([
      { source: 'google', campaign: 'spring', device_type: 'desktop', calls: 3 },
      { source: 'facebook', campaign: 'summer', device_type: 'mobile', calls: 1 },
      { source: 'news.example.org', campaign: null, device_type: 'desktop', calls: 1 },
    ]);

    const limited = await report(auth, `${day()}&group_by=source&limit=2`);
    expect(limited.rows).toHaveLength(2);
    expect(limited.truncated).toBe(true);
    expect(limited.totals.calls).toBe(5);
  });

  it('puts imported costs beside source and campaign rows: cost per call and per qualified call', async () => {
    const imported = await call(app, auth, {
      method: 'POST',
      url: `/v1/sites/${site.id}/costs`,
      payload: {
        costs: [
          { date: '2026-06-10', source: 'google', campaign: 'spring', amount: '300', currency: 'USD' },
          { date: '2026-06-10', source: 'facebook', campaign: 'summer', amount: 45.5, currency: 'USD' },
          { date: '2026-06-10', source: 'bing', campaign: null, amount: '20.00', currency: 'USD' },
          // Outside the day asked for.
          { date: '2026-06-11', source: 'google', campaign: 'spring', amount: '999', currency: 'USD' },
        ],
      },
    });
    expect(imported.status).toBe(200);

    const body = await report(auth, `${day()}&group_by=source,campaign`);
    const keys = ['source', 'campaign', 'calls', 'cost', 'currency', 'cost_per_call', 'cost_per_qualified_call'];
    expect(pick(body.rows, ...keys)).toEqual([
      {
        source: 'google',
        campaign: 'spring',
        calls: 3,
        cost: '300.00',
        currency: 'USD',
        cost_per_call: '100.00',
        cost_per_qualified_call: '300.00',
      },
      {
        source: 'facebook',
        campaign: 'summer',
        calls: 1,
        cost: '45.50',
        currency: 'USD',
        cost_per_call: '45.50',
        cost_per_qualified_call: '45.50',
      },
      {
        source: 'news.example.org',
        campaign: null,
        calls: 1,
        cost: null,
        currency: null,
        cost_per_call: null,
        cost_per_qualified_call: null,
      },
      // Spend with no calls is a row too.
      {
        source: 'bing',
        campaign: null,
        calls: 0,
        cost: '20.00',
        currency: 'USD',
        cost_per_call: null,
        cost_per_qualified_call: null,
      },
    ]);
    expect(body.totals).toMatchObject({
      calls: 5,
      cost: '365.50',
      currency: 'USD',
      cost_per_call: '73.10',
      cost_per_qualified_call: '182.75',
      cost_note: null,
    });

    // By source alone, campaigns add up; by campaign alone, sources do.
    const bySource = await report(auth, `${day()}&group_by=source`);
    expect(pick(bySource.rows, 'source', 'cost', 'cost_per_call')).toEqual([
      { source: 'google', cost: '300.00', cost_per_call: '100.00' },
      { source: 'facebook', cost: '45.50', cost_per_call: '45.50' },
      { source: 'news.example.org', cost: null, cost_per_call: null },
      { source: 'bing', cost: '20.00', cost_per_call: null },
    ]);
    // Cost cannot be split by device: no cost columns on rows, still in the totals.
    const byDevice = await report(auth, `${day()}&group_by=device_type`);
    expect(byDevice.rows[0]).not.toHaveProperty('cost');
    expect(byDevice.totals.cost).toBe('365.50');

    // Two currencies in one row are not added up, and the row says why.
    const eur = await call(app, auth, {
      method: 'POST',
      url: `/v1/sites/${site.id}/costs`,
      payload: {
        costs: [{ date: '2026-06-10', source: 'facebook', campaign: 'winter', amount: '10', currency: 'EUR' }],
      },
    });
    expect(eur.status).toBe(200);
    const mixed = await report(auth, `${day()}&group_by=source`);
    const facebook = mixed.rows.find((row) => row.source === 'facebook');
    expect(facebook).toMatchObject({ cost: null, currency: null, cost_per_call: null });
    expect(facebook?.cost_note).toMatch(/EUR, USD/);
    expect(mixed.totals).toMatchObject({ cost: null, currency: null });
    expect(mixed.rows.find((row) => row.source === 'google')).toMatchObject({ cost: '300.00', currency: 'USD' });
  });

  it('gives a daily series with every day present, in all and per group', async () => {
    const body = await daily(auth, `site_id=${site.id}&from=2026-06-09&to=2026-06-11&group_by=source`);
    expect(pick(body.days, 'date', 'calls', 'answered', 'qualified', 'first_time_callers')).toEqual([
      { date: '2026-06-09', calls: 0, answered: 0, qualified: 0, first_time_callers: 0 },
      { date: '2026-06-10', calls: 5, answered: 3, qualified: 2, first_time_callers: 4 },
      { date: '2026-06-11', calls: 0, answered: 0, qualified: 0, first_time_callers: 0 },
    ]);
    expect(body.groups?.map((g) => ({ source: g.source, calls: (g.days as Row[]).map((d) => d.calls) }))).toEqual([
      { source: 'google', calls: [0, 3, 0] },
      { source: 'facebook', calls: [0, 1, 0] },
      { source: 'news.example.org', calls: [0, 1, 0] },
    ]);
    const top = await daily(auth, `site_id=${site.id}&from=2026-06-10&to=2026-06-10&group_by=source&groups=1`);
    expect(top.groups?.map((g) => g.source)).toEqual(['google']);
    expect(top.days[0]?.calls).toBe(5);
    const plain = await daily(auth, `site_id=${site.id}&from=2026-06-10&to=2026-06-10`);
    expect(plain.groups).toBeUndefined();
  });
  it('fills pool and referrer domain for calls made before the migration, as for calls made after', async () => {
    const before = await report(auth, `${day()}&group_by=referrer_domain,pool`);
    const untyped = database.db as unknown as Kysely<unknown>;
    await reportsMigration.down(untyped);
    await reportsMigration.up(untyped);
    const after = await report(auth, `${day()}&group_by=referrer_domain,pool`);
    expect(after.rows).toEqual(before.rows);
    expect(pick(after.rows, 'referrer_domain', 'pool', 'calls')).toEqual([
      { referrer_domain: 'google.com', pool: pool.id, calls: 3 },
      { referrer_domain: 'news.example.org', pool: pool.id, calls: 1 },
      { referrer_domain: null, pool: pool.id, calls: 1 },
    ]);
    const domains = await sql<{ d: string | null }>`
      SELECT ringpool_referrer_domain(r) AS d
      FROM unnest(ARRAY['https://WWW.Example.COM:8080/a', 'http://[::1]:3000/', 'https://www2.example.com/', 'not a url']) AS r`.execute(
      database.db,
    );
    expect(domains.rows.map((row) => row.d)).toEqual(['example.com', '[::1]', 'www2.example.com', null]);
  });
});

describe('days on the site’s clock', () => {
  it('puts a call at 23:30 local on that local day, across both daylight-saving changes', async () => {
    const { auth } = await makeAccount(database.db, 'New York clinic');
    const { site, numbers } = await siteWithPool(auth, 1);
    const to = numbers[0]?.e164 as string;
    const local = [
      '2026-03-08T04:30:00Z', // 23:30 EST on 7 March
      '2026-03-08T05:30:00Z', // 00:30 EST on 8 March (clocks go forward at 02:00)
      '2026-03-09T03:30:00Z', // 23:30 EDT on 8 March
      '2026-03-09T04:15:00Z', // 00:15 EDT on 9 March
      '2026-11-01T03:59:00Z', // 23:59 EDT on 31 October
      '2026-11-01T05:30:00Z', // 01:30 EDT on 1 November
      '2026-11-01T06:30:00Z', // 01:30 EST on 1 November, the hour again
      '2026-11-02T04:30:00Z', // 23:30 EST on 1 November
    ];
    for (const at of local) await ring(auth, to, new Date(at));

    const march = await daily(auth, `site_id=${site.id}&from=2026-03-06&to=2026-03-09`);
    expect(march.days.map((d) => [d.date, d.calls])).toEqual([
      ['2026-03-06', 0],
      ['2026-03-07', 1],
      ['2026-03-08', 2],
      ['2026-03-09', 1],
    ]);
    const november = await daily(auth, `site_id=${site.id}&from=2026-10-31&to=2026-11-02`);
    expect(november.days.map((d) => [d.date, d.calls])).toEqual([
      ['2026-10-31', 1],
      ['2026-11-01', 3],
      ['2026-11-02', 0],
    ]);
    const eighth = await report(auth, `site_id=${site.id}&from=2026-03-08&to=2026-03-08&group_by=source`);
    expect(eighth.totals.calls).toBe(2);
    expect(eighth.rows).toEqual([expect.objectContaining({ source: null, calls: 2 })]);
  });

  it('follows a half-hour time zone', async () => {
    const { auth } = await makeAccount(database.db, 'Mumbai clinic');
    const { site, numbers } = await siteWithPool(auth, 1, { time_zone: 'Asia/Kolkata', default_country: 'US' });
    const to = numbers[0]?.e164 as string;
    await ring(auth, to, new Date('2026-06-10T18:29:00Z')); // 23:59 IST on 10 June
    await ring(auth, to, new Date('2026-06-10T18:30:00Z')); // 00:00 IST on 11 June
    const body = await daily(auth, `site_id=${site.id}&from=2026-06-10&to=2026-06-11`);
    expect(body.days.map((d) => d.calls)).toEqual([1, 1]);
  });
});

describe('report requests', () => {
  it('answers 404 for another account’s site and 400 for bad parameters', async () => {
    const owner = await makeAccount(database.db, 'Owner');
    const { site } = await siteWithPool(owner.auth, 1);
    const other = await makeAccount(database.db, 'Other');
    const range = `site_id=${site.id}&from=2026-06-10&to=2026-06-10`;
    for (const url of [
      `/v1/reports/calls?${range}&group_by=source`,
      `/v1/reports/calls/daily?${range}`,
      `/v1/reports/pools?${range}`,
      `/v1/sites/${site.id}/costs?from=2026-06-10&to=2026-06-10`,
    ]) {
      expect((await call(app, other.auth, { method: 'GET', url })).status, url).toBe(404);
      expect((await call(app, owner.auth, { method: 'GET', url })).status, url).toBe(200);
    }

    const bad = [
      `/v1/reports/calls?${range}&group_by=planet`,
      `/v1/reports/calls?${range}&group_by=source,source`,
      `/v1/reports/calls?${range}`,
      `/v1/reports/calls?site_id=${site.id}&from=2026-06-10&to=2026-06-09&group_by=source`,
      `/v1/reports/calls?site_id=${site.id}&from=2026-02-30&to=2026-03-01&group_by=source`,
      `/v1/reports/calls?site_id=${site.id}&from=2025-01-01&to=2026-06-01&group_by=source`,
      `/v1/reports/calls?site_id=${site.id}&from=10/06/2026&to=2026-06-10&group_by=source`,
      `/v1/reports/calls?${range}&group_by=source&limit=0`,
      `/v1/reports/calls?${range}&group_by=source&color=red`,
      `/v1/reports/calls/daily?${range}&group_by=source,campaign`,
      `/v1/reports/calls/daily?${range}&groups=500`,
    ];
    for (const url of bad) {
      const response = await call(app, owner.auth, { method: 'GET', url });
      expect(response.status, url).toBe(400);
      expect(typeof response.body.message).toBe('string');
    }
  });
});
