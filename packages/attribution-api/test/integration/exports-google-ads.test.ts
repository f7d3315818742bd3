import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
const TEMPLATE = 'Conversion Name,Conversion Time,Conversion Value,Conversion Currency';
const GCLID_HEADER = `Google Click ID,${TEMPLATE}`;

let database: TestDatabase;
let app: FastifyInstance;
const clock = new TestClock(new Date('2026-01-15T15:00:00Z'));

let auth: Record<string, string>;
let siteId = '';
let siteKey = '';
const sid = twilioSid();
const token = twilioToken();

/** A visit landing with `query` on the URL; returns the tracking number it was shown. */
async function visit(query: string): Promise<string> {
  const started = await startSession(app, siteKey, { url: `${SITE_ORIGIN}/implants?${query}` });
  expect(started.status).toBe(200);
  const number = started.body.swaps[0]?.number?.e164;
  if (!number) throw new Error(`no number leased: ${JSON.stringify(started.body)}`);
  return number;
}

/** A call through Twilio's signed webhooks: the incoming call, then its <Dial> outcome. */
async function twilioCall(to: string, durationS: number): Promise<string> {
  const params = voiceParams({ accountSid: sid, callSid: callSid(), from: '+12125550123', to });
  const answered = await postTwilio(app, {
    path: '/v1/telephony/twilio/voice',
    params,
    authToken: token,
    signedUrl: `${BASE}/v1/telephony/twilio/voice`,
  });
  expect(answered.statusCode).toBe(200);
  const status = {
    AccountSid: sid,
    CallSid: String(params.CallSid),
    CallStatus: 'completed',
    CallDuration: String(durationS),
  };
  const ended = await postTwilio(app, {
    path: '/v1/telephony/twilio/status',
    params: status,
    authToken: token,
    signedUrl: `${BASE}/v1/telephony/twilio/status`,
  });
  expect(ended.statusCode).toBe(200);
  const row = await database.db
    .selectFrom('calls')
    .select('id')
    .where('provider_call_id', '=', String(params.CallSid))
    .executeTakeFirstOrThrow();
  return row.id;
}

let genericCalls = 0;
/** A call reported by a PBX through the generic calls API, then completed. */
async function genericCall(to: string, durationS: number, key = auth, thresholdS = 60): Promise<string> {
  const started = await call(app, key, {
    method: 'POST',
    url: '/v1/calls',
    payload: {
      tracking_number: to,
      caller: '+12125550188',
      provider: 'asterisk',
      provider_call_id: `pbx-${++genericCalls}`,
    },
  });
  expect(started.status).toBe(201);
  const completed = await call(app, key, {
    method: 'PATCH',
    url: `/v1/calls/${started.body.call.id}`,
    payload: { status: 'completed', duration_s: durationS },
  });
  expect(completed.status).toBe(200);
  expect(completed.body.qualified).toBe(durationS >= thresholdS);
  return started.body.call.id;
}

const calls: Record<string, string> = {};

beforeAll(async () => {
  database = await createTestDatabase();
  app = await buildTestApp(database.db, { clock: clock.now, publicBaseUrl: BASE });
  ({ auth } = await makeAccount(database.db, 'Exports'));
  await connectTelephonyAccount(app, auth, { provider: 'twilio', provider_account: sid, secret: token });
  const { site } = await makeSiteWithPool(app, auth, { size: 8 });
  siteId = site.id;
  siteKey = site.public_key;

  // Winter (EST, -05:00): a gclid visit calls through Twilio.
  calls.winter = await twilioCall(await visit('gclid=Cj0KCQiA_winter-1&utm_source=google'), 95);
  // Summer (EDT, -04:00), a minute apart.
  clock.current = new Date('2026-06-01T12:00:00Z');
  const next = () => clock.advance(60);
  calls.gclid = await twilioCall(await visit('gclid=Cj0KCQiA_summer-2'), 75);
  next();
  calls.both = await genericCall(await visit('gclid=EAIaIQobChMI_both&gbraid=0AAAAAboth'), 60);
  next();
  calls.gbraid = await genericCall(await visit('gbraid=0AAAAADfVZ9_ios'), 120);
  next();
  calls.wbraid = await twilioCall(await visit('wbraid=CkAwbraid_web-3&gbraid=0AAAAAignored'), 61);
  next();
  calls.short = await twilioCall(await visit('gclid=Cj0KCQiA_short'), 59);
  next();
  calls.noClick = await genericCall(await visit('utm_source=newsletter&utm_medium=email'), 300);
  next();
  calls.hostile = await genericCall(
    await visit(`gclid=${encodeURIComponent('=HYPERLINK("https://evil.test","x")')}`),
    90,
  );
  clock.current = new Date('2026-06-02T09:00:00Z');

  const attributed = await database.db.selectFrom('calls').select(['id', 'session_id', 'qualified']).execute();
  expect(attributed).toHaveLength(8);
  for (const row of attributed) expect(row.session_id).not.toBeNull();
});

afterAll(async () => {
  await app?.close();
  await database?.close();
});

const exportUrl = (query: Record<string, string>, site = siteId) =>
  `/v1/sites/${site}/exports/google-ads?${new URLSearchParams(query).toString()}`;

async function exportCsv(query: Record<string, string>, key = auth, site = siteId) {
  const response = await app.inject({ method: 'GET', url: exportUrl(query, site), headers: key });
  return { response, lines: response.body.split('\r\n') };
}

const RANGE = { from: '2026-01-01', to: '2026-06-30' };

describe('GET /v1/sites/:siteId/exports/google-ads', () => {
  it('exports each qualified gclid call once, in Google’s template, in the site’s time zone', async () => {
    const name = 'Phone call, "qualified"';
    const first = await exportCsv({ ...RANGE, conversion_name: name, value: '120.50', currency: 'usd' });
    expect(first.response.statusCode).toBe(200);
    expect(first.response.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(first.response.headers['content-disposition']).toBe(
      'attachment; filename="google-ads-gclid-2026-06-02.csv"',
    );
    expect(first.response.headers['x-ringpool-conversions']).toBe('3');
    expect(first.response.headers['x-ringpool-skipped']).toBe('1');
    expect(first.lines).toEqual([
      'Parameters:TimeZone=America/New_York',
      GCLID_HEADER,
      'Cj0KCQiA_winter-1,"Phone call, ""qualified""",2026-01-15 10:00:00-05:00,120.50,USD',
      'Cj0KCQiA_summer-2,"Phone call, ""qualified""",2026-06-01 08:00:00-04:00,120.50,USD',
      'EAIaIQobChMI_both,"Phone call, ""qualified""",2026-06-01 08:01:00-04:00,120.50,USD',
      '',
    ]);
    const recorded = await database.db
      .selectFrom('conversion_exports')
      .selectAll()
      .where('conversion_name', '=', name)
      .orderBy('call_id')
      .execute();
    expect(recorded.map((r) => r.call_id)).toEqual([calls.winter, calls.gclid, calls.both].sort());
    for (const row of recorded) expect(row.exported_at.toISOString()).toBe('2026-06-02T09:00:00.000Z');

    // Exported once: the next file under that name is empty...
    const second = await exportCsv({ ...RANGE, conversion_name: name });
    expect(second.lines).toEqual(['Parameters:TimeZone=America/New_York', GCLID_HEADER, '']);
    expect(second.response.headers['x-ringpool-conversions']).toBe('0');

    // ...unless asked again, which gives the same calls (here without a value: the action's default).
    clock.advance(3600);
    const again = await exportCsv({ ...RANGE, conversion_name: name, again: 'true' });
    expect(again.lines).toEqual([
      'Parameters:TimeZone=America/New_York',
      GCLID_HEADER,
      'Cj0KCQiA_winter-1,"Phone call, ""qualified""",2026-01-15 10:00:00-05:00,,',
      'Cj0KCQiA_summer-2,"Phone call, ""qualified""",2026-06-01 08:00:00-04:00,,',
      'EAIaIQobChMI_both,"Phone call, ""qualified""",2026-06-01 08:01:00-04:00,,',
      '',
    ]);
    const reexported = await database.db
      .selectFrom('conversion_exports')
      .select('exported_at')
      .where('conversion_name', '=', name)
      .execute();
    expect(reexported.map((r) => r.exported_at.toISOString())).toEqual(Array(3).fill('2026-06-02T10:00:00.000Z'));
  });

  it('exports the same calls again under another conversion name', async () => {
    const { lines } = await exportCsv({ ...RANGE, conversion_name: 'Booked appointment' });
    expect(lines.slice(2, -1).map((line) => line.split(',')[0])).toEqual([
      'Cj0KCQiA_winter-1',
      'Cj0KCQiA_summer-2',
      'EAIaIQobChMI_both',
    ]);
  });

  it('gives GBRAID and WBRAID calls files of their own, in their own column', async () => {
    const gbraid = await exportCsv({ ...RANGE, conversion_name: 'Qualified call', click_id: 'gbraid' });
    expect(gbraid.response.headers['content-disposition']).toContain('google-ads-gbraid-');
    expect(gbraid.lines).toEqual([
      'Parameters:TimeZone=America/New_York',
      `GBRAID,${TEMPLATE}`,
      '0AAAAADfVZ9_ios,Qualified call,2026-06-01 08:02:00-04:00,,',
      '',
    ]);
    const wbraid = await exportCsv({ ...RANGE, conversion_name: 'Qualified call', click_id: 'wbraid' });
    expect(wbraid.lines).toEqual([
      'Parameters:TimeZone=America/New_York',
      `WBRAID,${TEMPLATE}`,
      'CkAwbraid_web-3,Qualified call,2026-06-01 08:03:00-04:00,,',
      '',
    ]);
    // The gclid file of that name does not take them, nor the gbraid of a visit that also had a gclid or wbraid.
    const gclid = await exportCsv({ ...RANGE, conversion_name: 'Qualified call' });
    const ids = gclid.lines.slice(2, -1).map((line) => line.split(',')[0]);
    expect(ids).toEqual(['Cj0KCQiA_winter-1', 'Cj0KCQiA_summer-2', 'EAIaIQobChMI_both']);
    expect(gclid.response.body).not.toMatch(/0AAAA|CkAw/);
  });

  it('never exports a call that is not qualified, has no click id, or whose click id is not Google’s', async () => {
    const everything = [];
    for (const clickId of ['gclid', 'gbraid', 'wbraid']) {
      const { response } = await exportCsv({ ...RANGE, conversion_name: 'Audit', click_id: clickId, again: 'true' });
      expect(response.statusCode).toBe(200);
      everything.push(response.body);
    }
    const all = everything.join('');
    expect(all).not.toContain('Cj0KCQiA_short');
    expect(all).not.toContain('HYPERLINK');
    expect(all).not.toMatch(/^[=+\-@]/m);
    const claimed = await database.db
      .selectFrom('conversion_exports')
      .select('call_id')
      .where('conversion_name', '=', 'Audit')
      .execute();
    expect(claimed.map((r) => r.call_id).sort()).toEqual(
      [calls.winter, calls.gclid, calls.both, calls.gbraid, calls.wbraid].sort(),
    );
    for (const never of [calls.short, calls.noClick, calls.hostile])
      expect(claimed.map((r) => r.call_id)).not.toContain(never);
  });

  it('takes a range of days in the site’s time zone, or exact instants', async () => {
    const ids = async (query: Record<string, string>) =>
      (await exportCsv({ conversion_name: `Range ${JSON.stringify(query)}`, ...query })).lines
        .slice(2, -1)
        .map((line) => line.split(',')[0]);
    // 15 January 10:00 in New York is still 15 January there.
    expect(await ids({ from: '2026-01-15', to: '2026-01-15' })).toEqual(['Cj0KCQiA_winter-1']);
    expect(await ids({ from: '2026-01-16', to: '2026-05-31' })).toEqual([]);
    // Instants: from inclusive, to exclusive.
    expect(await ids({ from: '2026-06-01T12:00:00Z', to: '2026-06-01T12:01:00Z' })).toEqual(['Cj0KCQiA_summer-2']);
    expect(await ids({ from: '2026-06-01T08:00:01-04:00', to: '2026-06-01T12:01:00.001Z' })).toEqual([
      'EAIaIQobChMI_both',
    ]);
  });

  it('never puts one call in two concurrent exports', async () => {
    const name = 'Concurrent';
    const responses = await Promise.all(
      Array.from({ length: 4 }, () =>
        app.inject({ method: 'GET', url: exportUrl({ ...RANGE, conversion_name: name }), headers: auth }),
      ),
    );
    const rows = responses.flatMap((r) => {
      expect(r.statusCode).toBe(200);
      return r.body.split('\r\n').slice(2, -1);
    });
    expect(rows.map((row) => row.split(',')[0]).sort()).toEqual(
      ['Cj0KCQiA_winter-1', 'Cj0KCQiA_summer-2', 'EAIaIQobChMI_both'].sort(),
    );
  });

  it('refuses bad input with a 400 and records nothing', async () => {
    const before = await snapshotRows(database.db);
    const bad: Record<string, string>[] = [
      { ...RANGE, conversion_name: '' },
      { ...RANGE, conversion_name: 'x'.repeat(101) },
      { ...RANGE, conversion_name: 'two\nlines' },
      { ...RANGE, conversion_name: 'bell\u0007' },
      { ...RANGE, conversion_name: '=HYPERLINK("x")' },
      { ...RANGE, conversion_name: '-call' },
      { ...RANGE, conversion_name: 'Call', value: '-1' },
      { ...RANGE, conversion_name: 'Call', value: 'ten' },
      { ...RANGE, conversion_name: 'Call', value: '1e3' },
      { ...RANGE, conversion_name: 'Call', value: '10', currency: 'XYZ' },
      { ...RANGE, conversion_name: 'Call', value: '10', currency: 'DOLLARS' },
      { ...RANGE, conversion_name: 'Call', currency: 'USD' },
      { conversion_name: 'Call', from: '2026-06-30', to: '2026-06-01' },
      { conversion_name: 'Call', from: '2026-06-01T12:00:00Z', to: '2026-06-01T12:00:00Z' },
      { conversion_name: 'Call', from: '2026-02-30', to: '2026-06-01' },
      { conversion_name: 'Call', from: 'yesterday', to: '2026-06-01' },
      { conversion_name: 'Call', to: '2026-06-01' },
      { ...RANGE },
      { ...RANGE, conversion_name: 'Call', click_id: 'fbclid' },
      { ...RANGE, conversion_name: 'Call', again: 'maybe' },
      { ...RANGE, conversion_name: 'Call', format: 'xlsx' },
    ];
    for (const query of bad) {
      const response = await app.inject({ method: 'GET', url: exportUrl(query), headers: auth });
      expect(response.statusCode, JSON.stringify(query)).toBe(400);
      expect(response.headers['content-type']).toMatch(/^application\/json/);
      const body = response.json();
      expect(['bad_request', 'validation_failed']).toContain(body.error);
      expect(body.message).toBeTruthy();
    }
    const notUuid = await app.inject({
      method: 'GET',
      url: exportUrl({ ...RANGE, conversion_name: 'Call' }, 'nope'),
      headers: auth,
    });
    expect(notUuid.statusCode).toBe(400);
    const anonymous = await app.inject({ method: 'GET', url: exportUrl({ ...RANGE, conversion_name: 'Call' }) });
    expect(anonymous.statusCode).toBe(401);
    expect(await snapshotRows(database.db)).toEqual(before);
  });
});

describe('OpenAPI', () => {
  it('describes the export as a text/csv download behind an API key', async () => {
    const spec = (await app.inject({ method: 'GET', url: '/docs/json' })).json();
    const operation = spec.paths['/v1/sites/{siteId}/exports/google-ads'].get;
    expect(Object.keys(operation.responses['200'].content)).toEqual(['text/csv']);
    expect(operation.security).toEqual([{ apiKey: [] }]);
    expect(operation.parameters.map((p: { name: string }) => p.name)).toEqual(
      expect.arrayContaining(['conversion_name', 'from', 'to', 'value', 'currency', 'again', 'click_id']),
    );
  });
});

describe('tenant isolation', () => {
  it('answers 404 for another account’s site and exports only the account’s own calls', async () => {
    const other = await makeAccount(database.db, 'Other clinic');
    const before = await snapshotRows(database.db);
    const foreign = await app.inject({
      method: 'GET',
      url: exportUrl({ ...RANGE, conversion_name: 'Steal', again: 'true' }),
      headers: other.auth,
    });
    expect(foreign.statusCode).toBe(404);
    expect(foreign.json().error).toBe('not_found');
    const missing = await app.inject({
      method: 'GET',
      url: exportUrl({ ...RANGE, conversion_name: 'Steal' }, '00000000-0000-4000-8000-000000000000'),
      headers: auth,
    });
    expect(missing.statusCode).toBe(404);
    expect(await snapshotRows(database.db)).toEqual(before);

    // Its own site, with its own qualified gclid call, exports only that one.
    const { site } = await makeSiteWithPool(app, other.auth, {
      size: 1,
      firstNumber: 2015550901,
      settings: { time_zone: 'Asia/Kolkata', qualified_call_s: 30 },
    });
    clock.current = new Date('2026-06-02T10:00:00Z');
    const started = await startSession(app, site.public_key, { url: `${SITE_ORIGIN}/?gclid=Cj0KCQiA_other-9` });
    await genericCall(started.body.swaps[0].number.e164, 45, other.auth, 30);
    const own = await exportCsv(
      { from: '2026-06-01', to: '2026-06-30', conversion_name: 'Steal' },
      other.auth,
      site.id,
    );
    expect(own.lines).toEqual([
      'Parameters:TimeZone=Asia/Kolkata',
      GCLID_HEADER,
      'Cj0KCQiA_other-9,Steal,2026-06-02 15:30:00+05:30,,',
      '',
    ]);
  });
});
