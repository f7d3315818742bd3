import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadSiteConfig } from '../../src/sites/repository.ts';
import {
  buildTestApp,
  call,
  makeAccount,
  makeSiteWithPool,
  SITE_ORIGIN,
  startSession,
  TestClock,
} from '../support/app.ts';
import { createTestDatabase, type TestDatabase, testDatabaseKind } from '../support/database.ts';

let database: TestDatabase;
let app: FastifyInstance;
const clock = new TestClock();
let auth: Record<string, string>;
let nextNumber = 2015550101;

beforeAll(async () => {
  database = await createTestDatabase();
  app = await buildTestApp(database.db, { clock: clock.now });
  ({ auth } = await makeAccount(database.db, 'Leasing'));
});

afterAll(async () => {
  await app.close();
  await database.close();
});

beforeEach(() => {
  clock.current = new Date('2026-06-01T12:00:00Z');
});

/** A site of its own for each test, with numbers no other test uses. */
async function site(size: number, settings: Record<string, unknown> = {}) {
  const made = await makeSiteWithPool(app, auth, { size, settings, firstNumber: nextNumber });
  nextNumber += size;
  return made;
}

async function leasesOf(sessionId: string) {
  return database.db.selectFrom('leases').selectAll().where('session_id', '=', sessionId).orderBy('id').execute();
}

const ping = (siteKey: string, sessionId: string, url = `${SITE_ORIGIN}/next`) =>
  app.inject({
    method: 'POST',
    url: `/v1/public/sites/${siteKey}/sessions/${sessionId}/ping`,
    headers: { origin: SITE_ORIGIN, 'content-type': 'text/plain' },
    payload: JSON.stringify({ url }),
  });

const minutes = (n: number) => n * 60;

describe('a session and its lease', () => {
  it('leases a pool number, shows it in every display form, and resumes with the same one', async () => {
    const { site: s, numbers } = await site(3);
    const first = await startSession(app, s.public_key, { url: `${SITE_ORIGIN}/?utm_source=google&gclid=abc` });
    expect(first.status).toBe(200);
    expect(first.body.resumed).toBe(false);
    const [swap] = first.body.swaps;
    expect(swap.via).toBe('pool');
    expect(swap.target).toEqual({
      e164: '+12015550100',
      cc: '1',
      nsn: '2015550100',
      national: '(201) 555-0100',
      international: '+1 201 555 0100',
    });
    expect(swap.number.e164).toBe(numbers[0]?.e164);
    // The snippet's rules: the business number as the page prints it becomes the leased one, format kept.
    const shown = (swap.rules as { pattern: string; replacement: string }[]).reduce(
      (text, rule) => text.replace(RegExp(rule.pattern, 'g'), rule.replacement),
      'Call (201) 555-0100 or +1 201 555 0100.',
    );
    expect(shown).toBe(`Call ${swap.number.national} or ${swap.number.international}.`);
    expect(new Date(first.body.expires_at).getTime()).toBe(clock.current.getTime() + minutes(30) * 1000);

    clock.advance(minutes(5));
    const again = await startSession(app, s.public_key, { session: first.body.session, visitor: first.body.visitor });
    expect(again.body).toMatchObject({ session: first.body.session, resumed: true });
    expect(again.body.swaps[0].number.e164).toBe(swap.number.e164);
    expect(await leasesOf(first.body.session)).toHaveLength(1);
  });

  it('keeps the number through heartbeats, writing at most once per 30 s', async () => {
    const { site: s } = await site(1);
    const { body } = await startSession(app, s.public_key);
    const lastSeen = async () => (await leasesOf(body.session))[0]?.last_seen_at.getTime();
    const start = clock.current.getTime();

    clock.advance(20);
    expect((await ping(s.public_key, body.session)).statusCode).toBe(200);
    expect(await lastSeen()).toBe(start);

    clock.advance(15);
    const extended = await ping(s.public_key, body.session);
    expect(await lastSeen()).toBe(start + 35_000);
    expect(new Date(extended.json().expires_at).getTime()).toBe(start + 35_000 + minutes(30) * 1000);

    // Heartbeats every 25 min keep the lease alive well past the first idle timeout.
    for (let i = 0; i < 4; i++) {
      clock.advance(minutes(25));
      const r = await ping(s.public_key, body.session);
      expect(r.json().swaps[0].via).toBe('pool');
    }
    expect(await leasesOf(body.session)).toHaveLength(1);
    const session = await database.db
      .selectFrom('sessions')
      .selectAll()
      .where('id', '=', body.session)
      .executeTakeFirst();
    expect(session?.pages).toEqual([`${SITE_ORIGIN}/`, `${SITE_ORIGIN}/next`]);
  });

  it('ends after the idle timeout, keeps the number back through the cooldown, then frees it', async () => {
    const { site: s, numbers } = await site(1);
    const a = await startSession(app, s.public_key);
    const held = numbers[0]?.e164;
    expect(a.body.swaps[0].number.e164).toBe(held);

    clock.advance(minutes(30) - 1);
    expect((await ping(s.public_key, a.body.session)).statusCode).toBe(200);
    clock.advance(minutes(30));
    // Idle for the whole timeout: the session has ended.
    expect((await ping(s.public_key, a.body.session)).statusCode).toBe(410);
    const resumed = await startSession(app, s.public_key, { session: a.body.session, visitor: a.body.visitor });
    expect(resumed.body.resumed).toBe(false);

    // That new visit found the pool's only number in its cooldown.
    expect(resumed.body.swaps[0]).toMatchObject({ via: 'none', number: null, rules: [] });

    clock.advance(minutes(15) - 60);
    const stillCooling = await startSession(app, s.public_key);
    expect(stillCooling.body.swaps[0].via).toBe('none');

    clock.advance(60);
    const b = await startSession(app, s.public_key);
    expect(b.body.swaps[0].number.e164).toBe(held);

    const [old] = await leasesOf(a.body.session);
    // Released when its cooldown ended, not when the next visitor came.
    expect(old?.released_at?.getTime()).toBe(old && old.expires_at.getTime() + minutes(15) * 1000);
    expect(old?.ended_at).toBeNull();
  });

  it('gives out the number that has been free longest', async () => {
    const { site: s, numbers } = await site(3);
    const sessions = [];
    for (let i = 0; i < 3; i++) sessions.push((await startSession(app, s.public_key)).body);
    expect(sessions.map((x) => x.swaps[0].number.e164)).toEqual(numbers.map((n) => n.e164));

    // The first two visitors stay 10 and 5 minutes longer than the third.
    clock.advance(minutes(5));
    await ping(s.public_key, sessions[0].session);
    await ping(s.public_key, sessions[1].session);
    clock.advance(minutes(5));
    await ping(s.public_key, sessions[0].session);

    clock.advance(minutes(60));
    const next = [];
    for (let i = 0; i < 3; i++) next.push((await startSession(app, s.public_key)).body.swaps[0].number.e164);
    expect(next).toEqual([numbers[2]?.e164, numbers[1]?.e164, numbers[0]?.e164]);
  });

  it('gives a bot no lease and the page its own number', async () => {
    const { site: s } = await site(2);
    const bot = await startSession(
      app,
      s.public_key,
      {},
      {
        'user-agent': 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
      },
    );
    expect(bot.status).toBe(200);
    expect(bot.body.swaps[0]).toMatchObject({ via: 'none', number: null });
    expect(bot.body.expires_at).toBeNull();
    expect(await leasesOf(bot.body.session)).toHaveLength(0);
    const row = await database.db
      .selectFrom('sessions')
      .select(['is_bot', 'device_type'])
      .where('id', '=', bot.body.session)
      .executeTakeFirst();
    expect(row).toEqual({ is_bot: true, device_type: 'bot' });
    const headless = await startSession(app, s.public_key, {}, { 'user-agent': 'Mozilla/5.0 HeadlessChrome/120.0' });
    expect(headless.body.swaps[0].via).toBe('none');
  });
});

describe('an exhausted pool', () => {
  it('falls back to the source-level number for the visit’s source, else the page’s number, and counts it', async () => {
    const { site: s, pool } = await site(2);
    const google = await call(app, auth, {
      method: 'POST',
      url: `/v1/sites/${s.id}/source-numbers`,
      payload: { number: `+1${nextNumber++}`, source: 'google', label: 'Google Ads' },
    });
    expect(google.status).toBe(201);
    await startSession(app, s.public_key);
    await startSession(app, s.public_key);

    const fromGoogle = await startSession(app, s.public_key, { url: `${SITE_ORIGIN}/?gclid=xyz` });
    expect(fromGoogle.body.swaps[0]).toMatchObject({ via: 'source', number: { e164: google.body.e164 } });
    const direct = await startSession(app, s.public_key);
    expect(direct.body.swaps[0]).toMatchObject({ via: 'none', number: null });
    // Its later page views try the pool again, but one visit counts as one exhaustion.
    clock.advance(60);
    expect((await ping(s.public_key, direct.body.session)).json().swaps[0].via).toBe('none');

    const counted = await call(app, auth, { method: 'GET', url: `/v1/pools/${pool.id}` });
    expect(counted.body.exhaustion_count).toBe(2);
    const outcomes = await database.db
      .selectFrom('pool_exhaustions')
      .select('outcome')
      .where('pool_id', '=', pool.id)
      .execute();
    expect(outcomes.map((o) => o.outcome)).toEqual(['fallback', 'fallback']);
  });

  it('with the recycle policy, takes the number whose holder has been idle longest', async () => {
    const { site: s, pool, numbers } = await site(2, { exhaustion_policy: 'recycle' });
    const a = (await startSession(app, s.public_key)).body;
    clock.advance(60);
    const b = (await startSession(app, s.public_key)).body;
    clock.advance(60);
    // a shows life after b arrived, so b is now the one idle longest.
    await ping(s.public_key, a.session);
    clock.advance(60);

    const c = (await startSession(app, s.public_key)).body;
    expect(c.swaps[0]).toMatchObject({ via: 'pool', number: { e164: numbers[1]?.e164 } });
    const [cut] = await leasesOf(b.session);
    expect(cut).toMatchObject({ end_reason: 'recycled' });
    expect(cut?.ended_at?.getTime()).toBe(clock.current.getTime());
    expect(cut?.released_at?.getTime()).toBe(clock.current.getTime());
    const [kept] = await leasesOf(a.session);
    expect(kept?.released_at).toBeNull();

    // b lives on with the page's own number; it does not recycle a number back by force.
    clock.advance(60);
    expect((await ping(s.public_key, b.session)).json().swaps[0].via).toBe('none');
    expect((await ping(s.public_key, c.session)).json().swaps[0].number.e164).toBe(numbers[1]?.e164);
    expect((await leasesOf(a.session))[0]?.released_at).toBeNull();
    const outcomes = await database.db
      .selectFrom('pool_exhaustions')
      .select('outcome')
      .where('pool_id', '=', pool.id)
      .orderBy('id')
      .execute();
    // c's arrival recycled; b, left without a number, found the pool full once.
    expect(outcomes.map((o) => o.outcome)).toEqual(['recycled', 'fallback']);
  });

  it('lets one address hold only max_leases_per_ip numbers, so a flood cannot take the pool', async () => {
    const { site: s } = await site(5, { max_leases_per_ip: 2 });
    const from = (ip: string) =>
      app.inject({
        method: 'POST',
        url: `/v1/public/sites/${s.public_key}/sessions`,
        remoteAddress: ip,
        headers: { origin: SITE_ORIGIN, 'content-type': 'application/json', 'user-agent': 'Mozilla/5.0 Firefox/125.0' },
        payload: { url: `${SITE_ORIGIN}/` },
      });
    const flood = [];
    for (let i = 0; i < 4; i++) flood.push((await from('203.0.113.9')).json().swaps[0].via);
    expect(flood).toEqual(['pool', 'pool', 'none', 'none']);
    expect((await from('198.51.100.20')).json().swaps[0].via).toBe('pool');
  });

  it('rate limits session creation per address with a JSON 429', async () => {
    const limited = await buildTestApp(database.db, { clock: clock.now, sessionRateLimit: 3 });
    try {
      const { site: s } = await site(5);
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await startSession(limited, s.public_key)).status);
      expect(statuses).toEqual([200, 200, 200, 429]);
      const refused = await startSession(limited, s.public_key);
      expect(refused.body.message).toMatch(/rate limit/i);
    } finally {
      await limited.close();
    }
  });
});

describe('site settings for the public endpoints', () => {
  it('hold only the site’s own numbers, with retired source numbers left out', async () => {
    const a = await site(3);
    const b = await site(2);
    const retired = await call(app, auth, {
      method: 'POST',
      url: `/v1/sites/${a.site.id}/source-numbers`,
      payload: { number: `+1${nextNumber++}`, source: 'bing' },
    });
    await call(app, auth, { method: 'DELETE', url: `/v1/numbers/${retired.body.id}` });
    await call(app, auth, { method: 'DELETE', url: `/v1/numbers/${a.numbers[0]?.id}` });
    const config = await loadSiteConfig(database.db, a.site.public_key);
    expect([...(config?.poolNumbers.values() ?? [])].sort()).toEqual(a.numbers.map((n) => n.e164).sort());
    expect(config?.sourceNumbers).toEqual([]);
    expect((await loadSiteConfig(database.db, b.site.public_key))?.poolNumbers.size).toBe(2);
  });
});

describe('one number, one holder', () => {
  it('is enforced by the database itself, whatever the application does', async () => {
    const { site: s } = await site(1);
    const { body } = await startSession(app, s.public_key);
    const [lease] = await leasesOf(body.session);
    if (!lease) throw new Error('no lease');
    const other = (await startSession(app, s.public_key)).body.session;
    await expect(
      sql`INSERT INTO leases (tracking_number_id, session_id, pool_id, ip_hash, started_at, last_seen_at, expires_at, cooldown_s)
          VALUES (${lease.tracking_number_id}, ${other}, ${lease.pool_id}, 'x', now(), now(), now(), 0)`.execute(
        database.db,
      ),
    ).rejects.toThrow(/leases_one_holder|duplicate key/);
  });

  it('holds under 500 concurrent session starts on a pool of 50', async () => {
    const { site: s, pool } = await site(50, { max_leases_per_ip: null });
    const responses = await Promise.all(Array.from({ length: 500 }, () => startSession(app, s.public_key)));
    await expectFiftyHolders(
      responses.map((r) => r.body),
      pool.id,
    );
  });
});

/** 50 sessions got 50 distinct numbers, 450 got the fallback, and the lease table agrees. */
async function expectFiftyHolders(
  bodies: { swaps: { via: string; number: { e164: string } | null }[] }[],
  poolId: string,
) {
  const leased = bodies.filter((b) => b.swaps[0]?.via === 'pool');
  expect(leased).toHaveLength(50);
  expect(new Set(leased.map((b) => b.swaps[0]?.number?.e164)).size).toBe(50);
  expect(bodies.filter((b) => b.swaps[0]?.via === 'none')).toHaveLength(450);

  const counts = await sql<{ leases: string; numbers: string; doubled: string; exhaustions: string }>`
    SELECT
      (SELECT count(*) FROM leases WHERE pool_id = ${poolId}) AS leases,
      (SELECT count(DISTINCT tracking_number_id) FROM leases WHERE pool_id = ${poolId}) AS numbers,
      (SELECT count(*) FROM (
        SELECT tracking_number_id FROM leases WHERE pool_id = ${poolId} AND released_at IS NULL
        GROUP BY tracking_number_id HAVING count(*) > 1) d) AS doubled,
      (SELECT count(*) FROM pool_exhaustions WHERE pool_id = ${poolId}) AS exhaustions`.execute(database.db);
  expect(counts.rows[0]).toEqual({ leases: '50', numbers: '50', doubled: '0', exhaustions: '450' });
}

describe.runIf(testDatabaseKind() === 'postgres')('two service instances sharing one PostgreSQL', () => {
  it('hand out each number once under 500 concurrent requests over real HTTP', async () => {
    const { openDatabase } = await import('../../src/db/database.ts');
    const second = await openDatabase({ databaseUrl: database.url, poolSize: 20 });
    const other = await buildTestApp(second.db, { clock: clock.now });
    try {
      const { site: s, pool } = await site(50, { max_leases_per_ip: null });
      const bases = [
        await app.listen({ port: 0, host: '127.0.0.1' }),
        await other.listen({ port: 0, host: '127.0.0.1' }),
      ];
      const bodies = await Promise.all(
        Array.from({ length: 500 }, async (_, i) => {
          const response = await fetch(`${bases[i % 2]}/v1/public/sites/${s.public_key}/sessions`, {
            method: 'POST',
            headers: { origin: SITE_ORIGIN, 'content-type': 'text/plain', 'user-agent': 'Mozilla/5.0 Firefox/125.0' },
            body: JSON.stringify({ url: `${SITE_ORIGIN}/` }),
          });
          expect(response.status).toBe(200);
          return response.json();
        }),
      );
      await expectFiftyHolders(bodies, pool.id);
    } finally {
      await other.close();
      await second.close();
    }
  });
});

describe.runIf(testDatabaseKind() === 'postgres')('the hot path on PostgreSQL', () => {
  it('runs the session insert and the lease as statements prepared once per connection', async () => {
    const { openDatabase } = await import('../../src/db/database.ts');
    const single = await openDatabase({ databaseUrl: database.url, poolSize: 1 });
    const other = await buildTestApp(single.db, { clock: clock.now });
    try {
      const { site: s } = await site(2);
      for (let i = 0; i < 2; i++) expect((await startSession(other, s.public_key)).body.swaps[0].via).toBe('pool');
      // One connection: this query sees the statements the visits prepared on it.
      const { rows } = await sql<{ name: string }>`SELECT name FROM pg_prepared_statements ORDER BY name`.execute(
        single.db,
      );
      expect(rows.map((r) => r.name.replace(/_[0-9a-f]{10}$/, ''))).toEqual(['hold_numbers', 'insert_session']);
    } finally {
      await other.close();
      await single.close();
    }
  });
});
