import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rollUpPoolUsage } from '../../src/reports/rollup.ts';
import { poolsReport } from '../../src/reports/service.ts';
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

let database: TestDatabase;
let app: FastifyInstance;
const clock = new TestClock(new Date('2026-06-10T03:55:00Z'));
const at = (iso: string) => {
  clock.current = new Date(iso);
};

beforeAll(async () => {
  database = await createTestDatabase();
  app = await buildTestApp(database.db, { clock: clock.now });
});

afterAll(async () => {
  await app.close();
  await database.close();
});

type Auth = Record<string, string>;
interface Bucket {
  label: string;
  leases_started: number;
  peak_active_leases: number;
  peak_numbers_held: number;
  exhaustions: number;
  fallbacks: number;
  recycles: number;
  fallback_share: number | null;
}
interface PoolsBody {
  pools: { id: string; name: string; size: number; buckets: Bucket[] }[];
}

const visit = async (siteKey: string) => {
  const started = await startSession(app, siteKey, { url: `${SITE_ORIGIN}/` });
  expect(started.status).toBe(200);
  return started.body as { session: string; swaps: { via: string }[] };
};

const ping = async (siteKey: string, session: string) => {
  const response = await app.inject({
    method: 'POST',
    url: `/v1/public/sites/${siteKey}/sessions/${session}/ping`,
    headers: { origin: SITE_ORIGIN, 'content-type': 'text/plain' },
    payload: '{}',
  });
  expect(response.statusCode).toBe(200);
};

const report = async (auth: Auth, query: string) => {
  const response = await call(app, auth, { method: 'GET', url: `/v1/reports/pools?${query}` });
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body as PoolsBody;
};

/** What a bucket shows, without its times. */
const use = (b: Bucket) => ({
  started: b.leases_started,
  active: b.peak_active_leases,
  held: b.peak_numbers_held,
  fallbacks: b.fallbacks,
  share: b.fallback_share,
});
const idle = { started: 0, active: 0, held: 0, fallbacks: 0, share: null };

describe('pool utilization', () => {
  let auth: Auth;
  let site: { id: string; public_key: string; time_zone: string };

  it('counts leases, the peak of overlapping leases and fallbacks per local hour, carrying leases across edges', async () => {
    ({ auth } = await makeAccount(database.db, 'Utilization'));
    const made = await makeSiteWithPool(app, auth, {
      size: 3,
      // 10 minutes active after the last sign of life, then 5 minutes of cooldown.
      settings: { idle_timeout_s: 600, cooldown_s: 300, max_leases_per_ip: null },
    });
    site = made.site;
    const key = site.public_key;

    // 23:55 the evening before (New York, UTC-4): a visit kept alive past midnight until 00:21.
    const g = await visit(key);
    at('2026-06-10T04:03:00Z');
    await ping(key, g.session);
    at('2026-06-10T04:11:00Z');
    await ping(key, g.session);

    // 10:00-10:20: three visits take the three numbers; a fourth finds them all taken (A in cooldown).
    at('2026-06-10T14:00:00Z');
    await visit(key); // A: active to 10:10, held to 10:15
    at('2026-06-10T14:05:00Z');
    await visit(key); // B: active to 10:15, held to 10:20
    at('2026-06-10T14:08:00Z');
    await visit(key); // C: active to 10:18; at 10:08 three leases are active
    at('2026-06-10T14:12:00Z');
    const d = await visit(key);
    expect(d.swaps[0]?.via).not.toBe('pool');
    at('2026-06-10T14:20:00Z');
    await visit(key); // E: takes A's number, free since 10:15

    // 11:50, kept alive into the 12:00 hour (to 12:27), where nothing starts or ends at the hour.
    at('2026-06-10T15:50:00Z');
    const f = await visit(key);
    for (const t of ['15:59', '16:08', '16:17']) {
      at(`2026-06-10T${t}:00Z`);
      await ping(key, f.session);
    }
    at('2026-06-10T18:00:00Z');

    // Computed from the leases alone (nothing rolled up yet) ...
    const live = await poolsReport(database.db, site, {
      from: '2026-06-10',
      to: '2026-06-10',
      bucket: 'hour',
      now: clock.now(),
    });
    expect(await database.db.selectFrom('report_rollups').selectAll().execute()).toEqual([]);
    const buckets = live.pools[0]?.buckets ?? [];
    expect(buckets).toHaveLength(24);
    expect(buckets[0]?.label).toBe('2026-06-10T00:00-04:00');
    const expected = buckets.map(() => idle) as ReturnType<typeof use>[];
    expected[0] = { started: 0, active: 1, held: 1, fallbacks: 0, share: null };
    expected[10] = { started: 4, active: 3, held: 3, fallbacks: 1, share: 0.2 };
    expected[11] = { started: 1, active: 1, held: 1, fallbacks: 0, share: 0 };
    expected[12] = { started: 0, active: 1, held: 1, fallbacks: 0, share: null };
    expect(buckets.map(use)).toEqual(expected);
    expect(live.pools[0]).toMatchObject({ name: 'Main pool', size: 3 });

    // ... and through the API, which first rolls the past slots up and reads them: the same figures.
    const body = await report(auth, `site_id=${site.id}&from=2026-06-10&to=2026-06-10&bucket=hour`);
    expect(body.pools[0]?.buckets.map(use)).toEqual(expected);
    expect(body.pools[0]?.buckets[10]).toMatchObject({ exhaustions: 1, recycles: 0 });
    const state = await database.db.selectFrom('report_rollups').selectAll().executeTakeFirstOrThrow();
    expect(state.done_until.toISOString()).toBe('2026-06-10T17:45:00.000Z');
    const slots = await database.db.selectFrom('pool_usage').selectAll().orderBy('slot').execute();
    expect(slots.length).toBeGreaterThan(5);
    expect(Math.max(...slots.map((s) => s.peak_active_leases))).toBe(3);

    // Per local day: the evening visit counts on the 9th, the rest on the 10th.
    const days = await report(auth, `site_id=${site.id}&from=2026-06-09&to=2026-06-11`);
    expect(days.pools[0]?.buckets.map(use)).toEqual([
      { started: 1, active: 1, held: 1, fallbacks: 0, share: 0 },
      { started: 5, active: 3, held: 3, fallbacks: 1, share: 0.1667 },
      idle,
    ]);
  });

  it('takes in rows that arrive behind the roll-up (a clock set back) without waiting for the job', async () => {
    // 08:00 local, long since rolled up: every number is held by a later lease, so the visit falls back.
    at('2026-06-10T12:00:00Z');
    const h = await visit(site.public_key);
    expect(h.swaps[0]?.via).not.toBe('pool');
    at('2026-06-10T18:30:00Z');

    const live = await poolsReport(database.db, site, {
      from: '2026-06-10',
      to: '2026-06-10',
      bucket: 'hour',
      now: clock.now(),
    });
    expect(use(live.pools[0]?.buckets[8] as Bucket)).toEqual({
      started: 0,
      active: 0,
      held: 0,
      fallbacks: 1,
      share: 1,
    });

    const body = await report(auth, `site_id=${site.id}&from=2026-06-10&to=2026-06-10&bucket=hour`);
    expect(use(body.pools[0]?.buckets[8] as Bucket)).toEqual({
      started: 0,
      active: 0,
      held: 0,
      fallbacks: 1,
      share: 1,
    });
    expect(use(body.pools[0]?.buckets[10] as Bucket)).toEqual({
      started: 4,
      active: 3,
      held: 3,
      fallbacks: 1,
      share: 0.2,
    });
    const slot = await database.db
      .selectFrom('pool_usage')
      .selectAll()
      .where('slot', '=', new Date('2026-06-10T12:00:00Z'))
      .executeTakeFirst();
    expect(slot).toMatchObject({ fallbacks: 1, leases_started: 0 });
  });

  it('rolls up once however many processes try at the same time', async () => {
    at('2026-06-11T12:00:00Z');
    const runs = await Promise.all([1, 2, 3].map(() => rollUpPoolUsage(database.db, clock.now())));
    expect(runs.filter((r) => r.doneUntil !== null).length).toBeGreaterThanOrEqual(1);
    const state = await database.db.selectFrom('report_rollups').selectAll().executeTakeFirstOrThrow();
    expect(state.done_until.toISOString()).toBe('2026-06-11T11:45:00.000Z');
    const body = await report(auth, `site_id=${site.id}&from=2026-06-10&to=2026-06-10`);
    expect(use(body.pools[0]?.buckets[0] as Bucket)).toEqual({
      started: 5,
      active: 3,
      held: 3,
      fallbacks: 2,
      share: 0.2857,
    });
  });

  it('cuts hours where the site’s clock does: 23 on the spring-forward day, 25 on the fall-back day', async () => {
    const spring = await report(auth, `site_id=${site.id}&from=2026-03-08&to=2026-03-08&bucket=hour`);
    const fall = await report(auth, `site_id=${site.id}&from=2026-11-01&to=2026-11-01&bucket=hour`);
    expect(spring.pools[0]?.buckets).toHaveLength(23);
    expect(fall.pools[0]?.buckets).toHaveLength(25);
    expect(fall.pools[0]?.buckets.slice(1, 3).map((b) => b.label)).toEqual([
      '2026-11-01T01:00-04:00',
      '2026-11-01T01:00-05:00',
    ]);
  });

  it('refuses bad ranges and other accounts’ sites', async () => {
    const other = await makeAccount(database.db, 'Someone else');
    const refused = await call(app, other.auth, {
      method: 'GET',
      url: `/v1/reports/pools?site_id=${site.id}&from=2026-06-10&to=2026-06-10`,
    });
    expect(refused.status).toBe(404);
    const bad = [
      `site_id=${site.id}&from=2026-06-10&to=2026-07-20&bucket=hour`,
      `site_id=${site.id}&from=2026-06-10&to=2026-06-09`,
      `site_id=${site.id}&from=2026-06-31&to=2026-07-01`,
      `site_id=${site.id}&from=2026-06-10&to=2026-06-10&bucket=week`,
      `site_id=not-a-uuid&from=2026-06-10&to=2026-06-10`,
    ];
    for (const query of bad) {
      const response = await call(app, auth, { method: 'GET', url: `/v1/reports/pools?${query}` });
      expect(response.status, query).toBe(400);
    }
  });
});
