import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { openDatabase } from '../../src/db/database.ts';
import type { Database } from '../../src/db/schema.ts';
import { DAY_MS } from '../../src/retention/policy.ts';
import { dropRecordings, maskCallers } from '../../src/retention/repository.ts';
import { buildTestApp, call, makeAccount, makeSiteWithPool, TestClock } from '../support/app.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
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

let database: TestDatabase;
/** A second connection pool on the same database (PostgreSQL), as a second process would have. */
let secondDb: Kysely<Database>;
let closeSecond: () => Promise<void> = async () => {};
const clock = new TestClock();
const token = twilioToken();
let nextNumber = 2015550101;
const apps: FastifyInstance[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  if (database.url) {
    const second = await openDatabase({ databaseUrl: database.url, poolSize: 5 });
    secondDb = second.db;
    closeSecond = second.close;
  } else {
    secondDb = database.db;
  }
});

afterAll(async () => {
  for (const app of apps) await app.close();
  await closeSecond();
  await database.close();
});

beforeEach(() => {
  clock.current = new Date(START);
});

async function service(db: Kysely<Database>, retentionIntervalMs: number) {
  const app = await buildTestApp(db, { clock: clock.now, publicBaseUrl: BASE, retentionIntervalMs });
  apps.push(app);
  return app;
}

/** An account with its Twilio account connected, and `sites` sites of one number each keeping recordings a day. */
async function practice(app: FastifyInstance, name: string, sites: number) {
  const { auth } = await makeAccount(database.db, name, { admin: true });
  const accountSid = twilioSid();
  await connectTelephonyAccount(app, auth, { provider: 'twilio', provider_account: accountSid, secret: token });
  const made = [];
  for (let i = 0; i < sites; i++) {
    const site = await makeSiteWithPool(app, auth, {
      size: 1,
      firstNumber: nextNumber++,
      settings: { retention_recording_days: 1 },
    });
    made.push({ id: site.site.id as string, number: site.numbers[0]?.e164 as string });
  }
  return { auth, accountSid, sites: made };
}

async function ringWithRecording(app: FastifyInstance, accountSid: string, to: string, from = '+12125550123') {
  const id = callSid();
  const voice = await postTwilio(app, {
    path: '/v1/telephony/twilio/voice',
    params: voiceParams({ accountSid, callSid: id, from, to }),
    authToken: token,
    signedUrl: `${BASE}/v1/telephony/twilio/voice`,
  });
  expect(voice.statusCode).toBe(200);
  const params = {
    AccountSid: accountSid,
    CallSid: id,
    RecordingStatus: 'completed',
    RecordingUrl: `https://api.twilio.com/Recordings/RE${id.slice(2)}`,
  };
  const path = '/v1/telephony/twilio/recording';
  const recorded = await postTwilio(app, { path, params, authToken: token, signedUrl: `${BASE}${path}` });
  expect(recorded.statusCode).toBe(204);
}

const recordingsKept = async (siteId: string) =>
  (
    await database.db
      .selectFrom('calls')
      .select('id')
      .where('site_id', '=', siteId)
      .where('recording_url', 'is not', null)
      .execute()
  ).length;

describe('the retention schedule', () => {
  it('runs each site’s pass on its interval, by the service clock, and stops when the service closes', async () => {
    const app = await service(database.db, 100);
    const { auth, accountSid, sites } = await practice(app, 'Scheduled', 1);
    const site = sites[0] as { id: string; number: string };
    await ringWithRecording(app, accountSid, site.number);

    // The first look finds the site due and runs it: nothing is a day old yet.
    const policy = () => call(app, auth, { method: 'GET', url: `/v1/sites/${site.id}/retention` });
    await vi.waitFor(async () => expect((await policy()).body.last_run?.trigger).toBe('schedule'), { timeout: 5_000 });
    expect((await policy()).body.last_run.counts.recordings_dropped).toBe(0);
    expect((await policy()).body.next_run_at).toBe(new Date(START.getTime() + 100).toISOString());
    expect(await recordingsKept(site.id)).toBe(1);

    // A day and a millisecond on by the service's clock: the next interval drops the link.
    clock.current = new Date(START.getTime() + DAY_MS + 1);
    await vi.waitFor(async () => expect(await recordingsKept(site.id)).toBe(0), { timeout: 5_000 });
    await vi.waitFor(async () => expect((await policy()).body.last_run.counts.recordings_dropped).toBe(1));

    // Closed: no pass runs any more, whatever the clock says.
    await app.close();
    await database.db
      .updateTable('calls')
      .set({ recording_url: 'https://api.twilio.com/Recordings/again' })
      .where('site_id', '=', site.id)
      .execute();
    clock.current = new Date(START.getTime() + 10 * DAY_MS);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(await recordingsKept(site.id)).toBe(1);
  });

  it('runs each site once per interval however many processes look, and a pass run twice at once is still right', async () => {
    const first = await service(database.db, 50);
    const second = await service(secondDb, 50);
    const { auth, accountSid, sites } = await practice(first, 'Two processes', 6);
    for (const site of sites) {
      for (let i = 0; i < 3; i++) await ringWithRecording(first, accountSid, site.number, `+1212555012${i}`);
    }
    clock.current = new Date(START.getTime() + 2 * DAY_MS);
    for (const site of sites) {
      await vi.waitFor(async () => expect(await recordingsKept(site.id)).toBe(0), { timeout: 10_000 });
    }
    // The clock stands still, so each site was due once: its one pass dropped all three links
    // (a second pass would have recorded zeros over it).
    for (const site of sites) {
      const policy = await call(first, auth, { method: 'GET', url: `/v1/sites/${site.id}/retention` });
      expect(policy.body.last_run).toMatchObject({ trigger: 'schedule', counts: { recordings_dropped: 3 } });
    }

    // Both processes run one site's pass at the same moment, by hand: the work is done once between them.
    const site = sites[0] as { id: string; number: string };
    for (let i = 0; i < 7; i++) await ringWithRecording(first, accountSid, site.number, `+1646555010${i}`);
    clock.current = new Date(START.getTime() + 4 * DAY_MS);
    const runs = await Promise.all(
      [first, second].map((app) => call(app, auth, { method: 'POST', url: `/v1/sites/${site.id}/retention/run` })),
    );
    expect(runs.map((r) => r.status)).toEqual([200, 200]);
    const total = (key: string) => runs.reduce((sum, r) => sum + r.body.counts[key], 0);
    expect(total('recordings_dropped')).toBe(7);
    expect(total('callers_masked')).toBe(0);
    expect(await recordingsKept(site.id)).toBe(0);
  });
});

describe('batches', () => {
  it('go on until every row is done, one bounded statement at a time', async () => {
    const app = await service(database.db, 0);
    const { accountSid, sites } = await practice(app, 'Batches', 1);
    const site = sites[0] as { id: string; number: string };
    for (let i = 0; i < 5; i++) await ringWithRecording(app, accountSid, site.number, `+1718555010${i}`);
    const now = new Date(START.getTime() + 100 * DAY_MS);
    expect(await dropRecordings(database.db, site.id, now, now, 2)).toBe(5);
    expect(await maskCallers(database.db, site.id, now, now, 2)).toBe(5);
    expect(await maskCallers(database.db, site.id, now, now, 2)).toBe(0);
    const callers = await database.db.selectFrom('calls').select('caller').where('site_id', '=', site.id).execute();
    expect(callers.map((c) => c.caller).sort()).toEqual([
      '+1********00',
      '+1********01',
      '+1********02',
      '+1********03',
      '+1********04',
    ]);
  });
});
