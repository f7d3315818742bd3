import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, call, makeAccount, makeSiteWithPool, TestClock } from '../support/app.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

let database: TestDatabase;
let app: FastifyInstance;
const clock = new TestClock(new Date('2026-06-12T12:00:00Z'));

beforeAll(async () => {
  database = await createTestDatabase();
  app = await buildTestApp(database.db, { clock: clock.now });
});

afterAll(async () => {
  await app.close();
  await database.close();
});

type Auth = Record<string, string>;

const upload = (auth: Auth, siteId: string, csv: string, contentType = 'text/csv') =>
  call(app, auth, {
    method: 'POST',
    url: `/v1/sites/${siteId}/costs`,
    headers: { 'content-type': contentType },
    payload: csv,
  });

const postJson = (auth: Auth, siteId: string, payload: unknown) =>
  call(app, auth, { method: 'POST', url: `/v1/sites/${siteId}/costs`, payload: payload as Record<string, unknown> });

const stored = async (auth: Auth, siteId: string) => {
  const listed = await call(app, auth, {
    method: 'GET',
    url: `/v1/sites/${siteId}/costs?from=2026-01-01&to=2026-12-31`,
  });
  expect(listed.status).toBe(200);
  return (listed.body.costs as Record<string, unknown>[]).map(({ updated_at: _, ...cost }) => cost);
};

const costRows = () => database.db.selectFrom('costs').selectAll().orderBy('id').execute();

describe('cost import', () => {
  let auth: Auth;
  let siteId: string;

  beforeAll(async () => {
    ({ auth } = await makeAccount(database.db, 'Costs'));
    siteId = (await makeSiteWithPool(app, auth, { size: 1 })).site.id;
  });

  it('takes a CSV export: quoted fields, commas and quotes inside, CRLF, a BOM, columns in any order', async () => {
    const csv =
      '\uFEFFdate,source,campaign,amount,currency\r\n' +
      '2026-06-10,google,"Spring, ""Implants""",120.50,USD\r\n' +
      '2026-06-10,google,,30,usd\r\n' +
      '\r\n' +
      '"2026-06-11",bing,brand,0,USD\r\n';
    const response = await upload(auth, siteId, csv);
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    expect(response.body).toEqual({ stored: 3, inserted: 3, updated: 0 });
    expect(await stored(auth, siteId)).toEqual([
      { date: '2026-06-10', source: 'google', campaign: null, amount: '30.00', currency: 'USD' },
      { date: '2026-06-10', source: 'google', campaign: 'Spring, "Implants"', amount: '120.50', currency: 'USD' },
      { date: '2026-06-11', source: 'bing', campaign: 'brand', amount: '0.00', currency: 'USD' },
    ]);

    // The same day, source and campaign again: replaced, not added. Column order is free.
    const again = await upload(
      auth,
      siteId,
      'currency,amount,campaign,source,date\nUSD,35,,google,2026-06-10\nEUR,9.99,x,meta,2026-06-12\n',
    );
    expect(again.body).toEqual({ stored: 2, inserted: 1, updated: 1 });
    const rows = await stored(auth, siteId);
    expect(rows.find((r) => r.source === 'google' && r.campaign === null)).toMatchObject({ amount: '35.00' });
    expect(rows.find((r) => r.source === 'meta')).toMatchObject({ amount: '9.99', currency: 'EUR' });
  });

  it('rejects a CSV with faults as a whole, naming each line', async () => {
    const before = await costRows();
    const csv = [
      'date,source,campaign,amount,currency',
      '2026-02-30,google,a,10,USD', // 2: no 30 February
      '2026-06-12,google,b,-5,USD', // 3: negative
      '2026-06-12,google,c,5,XYZ', // 4: no such currency
      '2026-06-12,google,d,5,USD', // 5: fine, yet not stored
      '2026-06-12,google,"two', // 6: a campaign over two lines (no line breaks in a campaign) ...
      'lines",5,US', // 7: ... with a bad currency: both reported at line 6, where the record starts
      '2026-06-12,google,e,"1,234.50",USD', // 8: thousands separator
      '2026-06-12,google,d,6,USD', // 9: repeats line 5
      '2026-06-12,google,f,5', // 10: a field short
      '12/06/2026,,g,5,USD', // 11: date written another way, and no source
    ].join('\n');
    const response = await upload(auth, siteId, csv);
    expect(response.status).toBe(400);
    expect(response.body.error).toBe('invalid_costs');
    expect(response.body.message).toMatch(/nothing was stored/);
    const errors = response.body.details.errors as { line: number; field?: string; message: string }[];
    expect(errors.map((e) => [e.line, e.field ?? null])).toEqual([
      [2, 'date'],
      [3, 'amount'],
      [4, 'currency'],
      [6, 'campaign'],
      [6, 'currency'],
      [8, 'amount'],
      [9, null],
      [10, null],
      [11, 'date'],
      [11, 'source'],
    ]);
    expect(errors[1]?.message).toMatch(/negative/);
    expect(errors[6]?.message).toMatch(/repeats line 5/);
    expect(errors[7]?.message).toMatch(/expected 5 fields, found 4/);
    expect(await costRows()).toEqual(before);
  });

  it('rejects a CSV whose header is not the five columns', async () => {
    const before = await costRows();
    for (const [csv, pattern] of [
      ['day,source,campaign,amount,currency\n2026-06-10,google,,1,USD', /missing date; unknown day/],
      ['date,source,amount,currency\n2026-06-10,google,1,USD', /missing campaign/],
      ['date,source,campaign,amount,currency,notes\n2026-06-10,google,,1,USD,x', /unknown notes/],
      ['2026-06-10,google,,1,USD', /header/],
      ['', /empty/],
      ['date,source,campaign,amount,currency\n', /no cost lines/],
    ] as const) {
      const response = await upload(auth, siteId, csv);
      expect(response.status, csv).toBe(400);
      expect(response.body.details.errors[0].line).toBe(1);
      expect(response.body.details.errors[0].message).toMatch(pattern);
    }
    const unterminated = await upload(
      auth,
      siteId,
      'date,source,campaign,amount,currency\n2026-06-10,"google,,1,USD\n',
    );
    expect(unterminated.status).toBe(400);
    expect(unterminated.body.details.errors).toEqual([{ line: 2, message: expect.stringMatching(/never closed/) }]);
    const strayQuote = await upload(auth, siteId, 'date,source,campaign,amount,currency\n2026-06-10,goo"gle,,1,USD\n');
    expect(strayQuote.body.details.errors[0]).toMatchObject({ line: 2 });
    expect(await costRows()).toEqual(before);
  });

  it('takes JSON rows, amounts as numbers or decimal strings, and names faulty rows by index', async () => {
    const ok = await postJson(auth, siteId, {
      costs: [
        { date: '2026-06-20', source: 'google', campaign: 'brand', amount: 12.5, currency: 'USD' },
        { date: '2026-06-20', source: 'google', amount: '0.125', currency: 'JPY' },
      ],
    });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    const rows = await stored(auth, siteId);
    expect(rows.filter((r) => r.date === '2026-06-20')).toEqual([
      { date: '2026-06-20', source: 'google', campaign: null, amount: '0.125', currency: 'JPY' },
      { date: '2026-06-20', source: 'google', campaign: 'brand', amount: '12.50', currency: 'USD' },
    ]);

    const before = await costRows();
    const bad = await postJson(auth, siteId, {
      costs: [
        { date: '2026-06-21', source: 'google', campaign: null, amount: 1, currency: 'USD' },
        { date: '2026-6-21', source: 'google', campaign: null, amount: -1, currency: 'dollars' },
        { date: '2026-06-21', source: '   ', campaign: null, amount: 1e21, currency: 'USD' },
      ],
    });
    expect(bad.status).toBe(400);
    expect(bad.body.details.errors.map((e: { index: number; field: string }) => [e.index, e.field])).toEqual([
      [1, 'date'],
      [1, 'amount'],
      [1, 'currency'],
      [2, 'source'],
      [2, 'amount'],
    ]);
    // The shape is checked first: unknown fields and wrong types are refused the same way.
    const extra = await postJson(auth, siteId, {
      costs: [{ date: '2026-06-21', source: 'google', amount: 1, currency: 'USD', clicks: 4 }],
    });
    expect(extra.status).toBe(400);
    expect((await postJson(auth, siteId, { costs: [] })).status).toBe(400);
    expect(
      (await postJson(auth, siteId, { costs: [{ date: 20260621, source: 'g', amount: 1, currency: 'USD' }] })).status,
    ).toBe(400);
    expect((await upload(auth, siteId, 'date,source,campaign,amount,currency', 'text/plain')).status).toBe(415);
    expect(await costRows()).toEqual(before);
  });

  it('lists costs of a date range only, and keeps each account to its own sites', async () => {
    const listed = await call(app, auth, {
      method: 'GET',
      url: `/v1/sites/${siteId}/costs?from=2026-06-11&to=2026-06-11`,
    });
    expect(listed.body.costs.map((c: { source: string }) => c.source)).toEqual(['bing']);

    const other = await makeAccount(database.db, 'Not the owner');
    const before = await costRows();
    const posted = await upload(other.auth, siteId, 'date,source,campaign,amount,currency\n2026-06-10,google,,1,USD\n');
    expect(posted.status).toBe(404);
    const json = await postJson(other.auth, siteId, {
      costs: [{ date: '2026-06-10', source: 'google', amount: 1, currency: 'USD' }],
    });
    expect(json.status).toBe(404);
    expect(await costRows()).toEqual(before);
    const read = await call(app, other.auth, {
      method: 'GET',
      url: `/v1/sites/${siteId}/costs?from=2026-01-01&to=2026-12-31`,
    });
    expect(read.status).toBe(404);
  });
});
