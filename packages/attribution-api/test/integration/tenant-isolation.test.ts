import { randomUUID } from 'node:crypto';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../../src/secrets.ts';
import {
  BROWSER_UA,
  buildTestApp,
  call,
  makeAccount,
  makeSiteWithPool,
  SITE_ORIGIN,
  startSession,
  TestClock,
} from '../support/app.ts';
import { createTestDatabase, snapshotRows, type TestDatabase } from '../support/database.ts';

type Auth = Record<string, string>;

let database: TestDatabase;
let app: FastifyInstance;
const clock = new TestClock();

let operator: Awaited<ReturnType<typeof makeAccount>>;
let alpha: Awaited<ReturnType<typeof makeAccount>>;
let bravo: Awaited<ReturnType<typeof makeAccount>>;

/** Everything account A owns, by id. */
const a = { accountId: '', siteId: '', siteName: '', poolId: '', numberId: '', sourceNumberId: '', sessionId: '' };
let alphaKeyId = '';
let alphaSiteKey = '';
let bravoSiteId = '';
let bravoSiteKey = '';

const snapshot = () => snapshotRows(database.db);

beforeAll(async () => {
  database = await createTestDatabase();
  app = await buildTestApp(database.db, { clock: clock.now });
  operator = await makeAccount(database.db, 'Operator', { operator: true, admin: true });
  alpha = await makeAccount(database.db, 'Alpha Dental');
  bravo = await makeAccount(database.db, 'Bravo Plumbing');
  a.accountId = alpha.account.id;

  const alphaSite = await makeSiteWithPool(app, alpha.auth, {
    size: 2,
    firstNumber: 2015550101,
    settings: { name: 'Alpha site' },
  });
  a.siteId = alphaSite.site.id;
  a.siteName = alphaSite.site.name;
  alphaSiteKey = alphaSite.site.public_key;
  a.poolId = alphaSite.pool.id;
  a.numberId = alphaSite.numbers[0]?.id ?? '';
  const source = await call(app, alpha.auth, {
    method: 'POST',
    url: `/v1/sites/${a.siteId}/source-numbers`,
    payload: { number: '+12015550190', source: 'google', label: 'Google Ads' },
  });
  expect(source.status).toBe(201);
  a.sourceNumberId = source.body.id;
  const session = await startSession(app, alphaSiteKey, { url: `${SITE_ORIGIN}/?utm_source=google` });
  expect(session.status).toBe(200);
  a.sessionId = session.body.session;
  const [alphaKey] = await database.db
    .selectFrom('api_keys')
    .select('id')
    .where('account_id', '=', a.accountId)
    .execute();
  alphaKeyId = alphaKey?.id ?? '';

  const bravoSite = await makeSiteWithPool(app, bravo.auth, {
    size: 1,
    firstNumber: 2015550201,
    settings: { name: 'Bravo site', swap_targets: ['(201) 555-0200'] },
  });
  bravoSiteId = bravoSite.site.id;
  bravoSiteKey = bravoSite.site.public_key;
});

afterAll(async () => {
  await app.close();
  await database.close();
});

/** Every admin route, aimed at account A's things. */
function routesOnAlpha(): InjectOptions[] {
  return [
    { method: 'GET', url: `/v1/accounts/${a.accountId}` },
    { method: 'DELETE', url: `/v1/api-keys/${alphaKeyId}` },
    { method: 'GET', url: `/v1/sites/${a.siteId}` },
    { method: 'PATCH', url: `/v1/sites/${a.siteId}`, payload: { name: 'Taken over' } },
    { method: 'DELETE', url: `/v1/sites/${a.siteId}` },
    { method: 'GET', url: `/v1/sites/${a.siteId}/pools` },
    { method: 'POST', url: `/v1/sites/${a.siteId}/pools`, payload: { name: 'Intruder pool' } },
    { method: 'GET', url: `/v1/pools/${a.poolId}` },
    { method: 'DELETE', url: `/v1/pools/${a.poolId}` },
    { method: 'POST', url: `/v1/pools/${a.poolId}/numbers`, payload: { numbers: [{ number: '+12015550299' }] } },
    { method: 'GET', url: `/v1/sites/${a.siteId}/numbers` },
    {
      method: 'POST',
      url: `/v1/sites/${a.siteId}/source-numbers`,
      payload: { number: '+12015550298', source: 'facebook' },
    },
    { method: 'GET', url: `/v1/numbers/${a.numberId}` },
    { method: 'PATCH', url: `/v1/numbers/${a.numberId}`, payload: { forward_to: '+12015550297' } },
    { method: 'DELETE', url: `/v1/numbers/${a.numberId}` },
    { method: 'GET', url: `/v1/numbers/${a.sourceNumberId}` },
    { method: 'PATCH', url: `/v1/numbers/${a.sourceNumberId}`, payload: { label: 'Hijacked' } },
    { method: 'DELETE', url: `/v1/numbers/${a.sourceNumberId}` },
    { method: 'GET', url: `/v1/sessions/${a.sessionId}` },
  ];
}

/** The same request with every id of A's replaced by a random one that names nothing. */
function withUnknownIds(route: InjectOptions): InjectOptions {
  let url = String(route.url);
  for (const id of [a.accountId, alphaKeyId, a.siteId, a.poolId, a.numberId, a.sourceNumberId, a.sessionId]) {
    url = url.replace(id, randomUUID());
  }
  return { ...route, url };
}

describe('API keys', () => {
  it('turns away a request without a key, or with a malformed or unknown one, on every admin route', async () => {
    const routes: InjectOptions[] = [
      { method: 'GET', url: '/v1/me' },
      { method: 'GET', url: '/v1/accounts' },
      { method: 'POST', url: '/v1/accounts', payload: { name: 'Nobody' } },
      { method: 'POST', url: `/v1/accounts/${a.accountId}/api-keys`, payload: { name: 'k' } },
      { method: 'GET', url: '/v1/api-keys' },
      { method: 'POST', url: '/v1/api-keys', payload: { name: 'k' } },
      { method: 'GET', url: '/v1/sites' },
      {
        method: 'POST',
        url: '/v1/sites',
        payload: { name: 'x', allowed_origins: [SITE_ORIGIN], swap_targets: ['+12015550100'] },
      },
      { method: 'GET', url: '/v1/sessions' },
      ...routesOnAlpha(),
    ];
    const before = await snapshot();
    const headerSets: Auth[] = [
      {},
      { authorization: '' },
      { authorization: 'Bearer' },
      { authorization: `Basic ${alpha.key}` },
      { authorization: alpha.key },
      { authorization: 'Bearer rp_not-a-key-anyone-was-given' },
      { authorization: `Bearer ${alpha.key}x` },
    ];
    for (const headers of headerSets) {
      for (const route of routes) {
        const response = await call(app, headers, route);
        expect(response.status, `${route.method} ${route.url} with ${JSON.stringify(headers)}`).toBe(401);
        expect(response.body).toMatchObject({ error: 'unauthorized', message: expect.any(String) });
      }
    }
    expect(await snapshot()).toEqual(before);
  });

  it('stops accepting a key the moment it is revoked', async () => {
    const created = await call(app, alpha.auth, { method: 'POST', url: '/v1/api-keys', payload: { name: 'CI' } });
    expect(created.status).toBe(201);
    const ci = { authorization: `Bearer ${created.body.key}` };
    expect((await call(app, ci, { method: 'GET', url: '/v1/sites' })).status).toBe(200);

    const revoked = await call(app, alpha.auth, { method: 'DELETE', url: `/v1/api-keys/${created.body.id}` });
    expect(revoked.status).toBe(200);
    expect(revoked.body.revoked_at).toBe(clock.current.toISOString());
    for (const route of [{ method: 'GET', url: '/v1/me' }, { method: 'GET', url: '/v1/sites' }, ...routesOnAlpha()]) {
      const response = await call(app, ci, route as InjectOptions);
      expect(response.status, `${route.method} ${route.url}`).toBe(401);
    }
    // Revoking twice finds no active key; the other keys of the account still work.
    expect((await call(app, alpha.auth, { method: 'DELETE', url: `/v1/api-keys/${created.body.id}` })).status).toBe(
      404,
    );
    expect((await call(app, alpha.auth, { method: 'GET', url: '/v1/me' })).status).toBe(200);
  });

  it('shows a new key once, stores only its SHA-256, and never lists it again', async () => {
    const created = await call(app, alpha.auth, {
      method: 'POST',
      url: '/v1/api-keys',
      payload: { name: 'Reporting' },
    });
    expect(created.status).toBe(201);
    const key: string = created.body.key;
    expect(key).toMatch(/^rp_[A-Za-z0-9_-]{32}$/);
    expect(created.body).toMatchObject({ account_id: a.accountId, name: 'Reporting', is_admin: false });
    expect(created.body.prefix).toBe(key.slice(0, 10));
    expect(created.body).not.toHaveProperty('key_hash');

    const listed = await call(app, alpha.auth, { method: 'GET', url: '/v1/api-keys' });
    expect(listed.status).toBe(200);
    const entry = listed.body.api_keys.find((k: { id: string }) => k.id === created.body.id);
    expect(entry).toMatchObject({ name: 'Reporting', prefix: key.slice(0, 10) });
    for (const k of listed.body.api_keys) {
      expect(k).not.toHaveProperty('key');
      expect(k).not.toHaveProperty('key_hash');
    }
    expect(JSON.stringify(listed.body)).not.toContain(key);

    const row = await database.db
      .selectFrom('api_keys')
      .selectAll()
      .where('id', '=', created.body.id)
      .executeTakeFirstOrThrow();
    expect(row.key_hash).toBe(sha256(key));
    // The secret itself is nowhere in the database.
    expect((await snapshot()).some((line) => line.includes(key))).toBe(false);
    expect(
      (await call(app, { authorization: `Bearer ${key}` }, { method: 'GET', url: '/v1/me' })).body.account.id,
    ).toBe(a.accountId);
  });

  it("names the caller's own account and key on /v1/me", async () => {
    const me = await call(app, bravo.auth, { method: 'GET', url: '/v1/me' });
    expect(me.status).toBe(200);
    expect(me.body.account).toMatchObject({ id: bravo.account.id, name: 'Bravo Plumbing', is_operator: false });
    const [bravoKey] = await database.db
      .selectFrom('api_keys')
      .select('id')
      .where('account_id', '=', bravo.account.id)
      .execute();
    expect(me.body.key).toEqual({ id: bravoKey?.id, is_admin: false });
    expect(JSON.stringify(me.body)).not.toContain(a.accountId);
  });
});

describe("account B and account A's things", () => {
  it("answers B's requests for any of A's things exactly as for things that do not exist, and changes nothing", async () => {
    const before = await snapshot();
    for (const route of routesOnAlpha()) {
      const response = await call(app, bravo.auth, route);
      expect(response.status, `${route.method} ${route.url}`).toBe(404);
      expect(response.body).toEqual({ error: 'not_found', message: expect.any(String) });
      const unknown = await call(app, bravo.auth, withUnknownIds(route));
      expect(unknown.status, `${route.method} ${route.url} (unknown ids)`).toBe(404);
      expect(response.body, 'no way to tell that A has such a thing').toEqual(unknown.body);
    }
    expect(await snapshot()).toEqual(before);

    const site = await database.db.selectFrom('sites').selectAll().where('id', '=', a.siteId).executeTakeFirstOrThrow();
    expect(site.name).toBe('Alpha site');
    const numbers = await database.db
      .selectFrom('tracking_numbers')
      .select(['id', 'forward_to', 'retired_at', 'source_label'])
      .where('site_id', '=', a.siteId)
      .orderBy('e164')
      .execute();
    expect(numbers).toHaveLength(3);
    expect(numbers.every((n) => n.retired_at === null)).toBe(true);
    expect(numbers.find((n) => n.id === a.sourceNumberId)?.source_label).toBe('Google Ads');
    expect(numbers.find((n) => n.id === a.numberId)?.forward_to).toBe('+12015550100');
    // A's key, which B tried to revoke, still works.
    expect((await call(app, alpha.auth, { method: 'GET', url: `/v1/sites/${a.siteId}` })).status).toBe(200);
  });

  it('refuses B the admin-only routes with 403, for A and for B itself', async () => {
    const before = await snapshot();
    const routes: InjectOptions[] = [
      { method: 'GET', url: '/v1/accounts' },
      { method: 'POST', url: '/v1/accounts', payload: { name: 'Bravo II' } },
      { method: 'POST', url: `/v1/accounts/${a.accountId}/api-keys`, payload: { name: 'backdoor' } },
      { method: 'POST', url: `/v1/accounts/${bravo.account.id}/api-keys`, payload: { name: 'mine', admin: true } },
      { method: 'POST', url: '/v1/api-keys', payload: { name: 'promote me', admin: true } },
    ];
    for (const route of routes) {
      const response = await call(app, bravo.auth, route);
      expect(response.status, `${route.method} ${route.url}`).toBe(403);
      expect(response.body).toMatchObject({ error: 'forbidden', message: expect.any(String) });
    }
    expect(await snapshot()).toEqual(before);
  });

  it("lists nothing of A's in B's lists, while A sees its own", async () => {
    const aliens = [a.accountId, a.siteId, a.poolId, a.numberId, a.sourceNumberId, a.sessionId, alphaKeyId];
    const lists = [
      '/v1/sites',
      '/v1/api-keys',
      '/v1/sessions',
      `/v1/sessions?site_id=${a.siteId}`,
      `/v1/sites/${bravoSiteId}/pools`,
      `/v1/sites/${bravoSiteId}/numbers`,
      `/v1/sites/${bravoSiteId}/numbers?pool_id=${a.poolId}`,
      `/v1/sites/${bravoSiteId}/numbers?kind=source`,
    ];
    for (const url of lists) {
      const response = await call(app, bravo.auth, { method: 'GET', url });
      expect(response.status, url).toBe(200);
      const text = JSON.stringify(response.body);
      for (const id of aliens) expect(text, url).not.toContain(id);
      expect(text, url).not.toContain('Alpha');
    }
    const bravoSites = await call(app, bravo.auth, { method: 'GET', url: '/v1/sites' });
    expect(bravoSites.body.sites.map((s: { id: string }) => s.id)).toEqual([bravoSiteId]);
    const bravoKeys = await call(app, bravo.auth, { method: 'GET', url: '/v1/api-keys' });
    expect(new Set(bravoKeys.body.api_keys.map((k: { account_id: string }) => k.account_id))).toEqual(
      new Set([bravo.account.id]),
    );
    expect(
      (await call(app, bravo.auth, { method: 'GET', url: `/v1/sessions?site_id=${a.siteId}` })).body.sessions,
    ).toEqual([]);

    // The same lists do show A's things to A: the checks above could have found them.
    const alphaSites = await call(app, alpha.auth, { method: 'GET', url: '/v1/sites' });
    expect(alphaSites.body.sites.map((s: { id: string }) => s.id)).toEqual([a.siteId]);
    const alphaSessions = await call(app, alpha.auth, { method: 'GET', url: '/v1/sessions' });
    expect(alphaSessions.body.sessions.map((s: { id: string }) => s.id)).toEqual([a.sessionId]);
    const alphaNumbers = await call(app, alpha.auth, { method: 'GET', url: `/v1/sites/${a.siteId}/numbers` });
    expect(alphaNumbers.body.numbers.map((n: { id: string }) => n.id)).toContain(a.numberId);
  });

  it("does not let B's site resume or keep alive A's session", async () => {
    const before = await database.db.selectFrom('sessions').selectAll().where('id', '=', a.sessionId).execute();
    const ping = await app.inject({
      method: 'POST',
      url: `/v1/public/sites/${bravoSiteKey}/sessions/${a.sessionId}/ping`,
      headers: { origin: SITE_ORIGIN, 'content-type': 'text/plain', 'user-agent': BROWSER_UA },
      payload: '{}',
    });
    expect(ping.statusCode).toBe(404);
    clock.advance(60);
    const resumed = await startSession(app, bravoSiteKey, { session: a.sessionId });
    expect(resumed.status).toBe(200);
    expect(resumed.body.resumed).toBe(false);
    expect(resumed.body.session).not.toBe(a.sessionId);
    expect(resumed.body.swaps[0].number.e164).toBe('+12015550201');
    const after = await database.db.selectFrom('sessions').selectAll().where('id', '=', a.sessionId).execute();
    expect(after).toEqual(before);
    const created = await database.db
      .selectFrom('sessions')
      .select(['account_id', 'site_id'])
      .where('id', '=', resumed.body.session)
      .executeTakeFirstOrThrow();
    expect(created).toEqual({ account_id: bravo.account.id, site_id: bravoSiteId });
  });

  it("answers an origin allowed for A's site only on A's site", async () => {
    const patched = await call(app, alpha.auth, {
      method: 'PATCH',
      url: `/v1/sites/${a.siteId}`,
      payload: { allowed_origins: [SITE_ORIGIN, 'https://alpha-only.example'] },
    });
    expect(patched.status).toBe(200);
    const sessionsBefore = await database.db.selectFrom('sessions').select('id').execute();
    const onBravo = await startSession(app, bravoSiteKey, {}, { origin: 'https://alpha-only.example' });
    expect(onBravo.status).toBe(403);
    expect(onBravo.headers['access-control-allow-origin']).toBeUndefined();
    expect(await database.db.selectFrom('sessions').select('id').execute()).toEqual(sessionsBefore);
    const onAlpha = await startSession(
      app,
      alphaSiteKey,
      { url: 'https://alpha-only.example/' },
      { origin: 'https://alpha-only.example' },
    );
    expect(onAlpha.status).toBe(200);
    expect(onAlpha.headers['access-control-allow-origin']).toBe('https://alpha-only.example');
  });
});

describe('admin keys', () => {
  it('lets an admin key list and create accounts, and give them keys', async () => {
    const accounts = await call(app, operator.auth, { method: 'GET', url: '/v1/accounts' });
    expect(accounts.status).toBe(200);
    expect(accounts.body.accounts.map((x: { name: string }) => x.name)).toEqual(
      expect.arrayContaining(['Operator', 'Alpha Dental', 'Bravo Plumbing']),
    );
    expect((await call(app, operator.auth, { method: 'GET', url: `/v1/accounts/${a.accountId}` })).body.name).toBe(
      'Alpha Dental',
    );

    const created = await call(app, operator.auth, {
      method: 'POST',
      url: '/v1/accounts',
      payload: { name: 'Charlie Clinic' },
    });
    expect(created.status).toBe(201);
    expect(created.body.account).toMatchObject({ name: 'Charlie Clinic', is_operator: false });
    expect(created.body.api_key).toMatchObject({ account_id: created.body.account.id, is_admin: false });
    const charlie = { authorization: `Bearer ${created.body.api_key.key}` };
    const charlieRow = await database.db
      .selectFrom('api_keys')
      .select('key_hash')
      .where('id', '=', created.body.api_key.id)
      .executeTakeFirstOrThrow();
    expect(charlieRow.key_hash).toBe(sha256(created.body.api_key.key));

    const me = await call(app, charlie, { method: 'GET', url: '/v1/me' });
    expect(me.body.account.id).toBe(created.body.account.id);
    expect((await call(app, charlie, { method: 'GET', url: '/v1/sites' })).body.sites).toEqual([]);
    expect((await call(app, charlie, { method: 'GET', url: `/v1/sites/${a.siteId}` })).status).toBe(404);
    expect((await call(app, charlie, { method: 'GET', url: '/v1/accounts' })).status).toBe(403);

    const forAlpha = await call(app, operator.auth, {
      method: 'POST',
      url: `/v1/accounts/${a.accountId}/api-keys`,
      payload: { name: 'support' },
    });
    expect(forAlpha.status).toBe(201);
    expect(forAlpha.body).toMatchObject({ account_id: a.accountId, is_admin: false });
    const support = { authorization: `Bearer ${forAlpha.body.key}` };
    expect((await call(app, support, { method: 'GET', url: `/v1/sites/${a.siteId}` })).status).toBe(200);
  });

  it('lets an admin key create admin keys for the operator account only', async () => {
    const own = await call(app, operator.auth, {
      method: 'POST',
      url: '/v1/api-keys',
      payload: { name: 'second admin', admin: true },
    });
    expect(own.status).toBe(201);
    expect(own.body).toMatchObject({ account_id: operator.account.id, is_admin: true });
    const second = { authorization: `Bearer ${own.body.key}` };
    expect((await call(app, second, { method: 'GET', url: '/v1/accounts' })).status).toBe(200);

    const viaAccount = await call(app, operator.auth, {
      method: 'POST',
      url: `/v1/accounts/${operator.account.id}/api-keys`,
      payload: { name: 'third admin', admin: true },
    });
    expect(viaAccount.status).toBe(201);
    expect(viaAccount.body.is_admin).toBe(true);

    // An admin key in a customer's account would let that customer into every other account.
    const before = await snapshot();
    const forBravo = await call(app, operator.auth, {
      method: 'POST',
      url: `/v1/accounts/${bravo.account.id}/api-keys`,
      payload: { name: 'too powerful', admin: true },
    });
    expect(forBravo.status).toBe(400);
    expect(forBravo.body).toMatchObject({ error: 'bad_request', message: expect.any(String) });
    expect(forBravo.body).not.toHaveProperty('key');
    expect(await snapshot()).toEqual(before);
  });

  it("does not show an admin key the inside of other accounts: A's site is 404 to it", async () => {
    for (const url of [`/v1/sites/${a.siteId}`, `/v1/pools/${a.poolId}`, `/v1/sessions/${a.sessionId}`]) {
      expect((await call(app, operator.auth, { method: 'GET', url })).status, url).toBe(404);
    }
    const sessions = await call(app, operator.auth, { method: 'GET', url: '/v1/sessions' });
    expect(sessions.body.sessions).toEqual([]);
  });

  it('answers 404 to an admin key asking for an account that does not exist, and adds no key', async () => {
    const before = await snapshot();
    const missing = randomUUID();
    expect((await call(app, operator.auth, { method: 'GET', url: `/v1/accounts/${missing}` })).status).toBe(404);
    const key = await call(app, operator.auth, {
      method: 'POST',
      url: `/v1/accounts/${missing}/api-keys`,
      payload: { name: 'orphan' },
    });
    expect(key.status).toBe(404);
    expect(await snapshot()).toEqual(before);
  });
});

describe('ADMIN_API_KEY', () => {
  const secret = 'correct-horse-battery-staple-0123456789';
  let envApp: FastifyInstance;

  beforeAll(async () => {
    envApp = await buildTestApp(database.db, { clock: clock.now, adminApiKey: secret });
  });
  afterAll(async () => {
    await envApp.close();
  });

  it('authenticates as an admin of the operator account, without a key row', async () => {
    const auth: Auth = { authorization: `Bearer ${secret}` };
    const me = await call(envApp, auth, { method: 'GET', url: '/v1/me' });
    expect(me.status).toBe(200);
    expect(me.body.account.id).toBe(operator.account.id);
    expect(me.body.key).toEqual({ id: null, is_admin: true });
    expect((await call(envApp, auth, { method: 'GET', url: '/v1/accounts' })).status).toBe(200);
    const created = await call(envApp, auth, { method: 'POST', url: '/v1/accounts', payload: { name: 'Delta' } });
    expect(created.status).toBe(201);
    const stored = await database.db.selectFrom('api_keys').select('key_hash').execute();
    expect(stored.map((k) => k.key_hash)).not.toContain(sha256(secret));
  });

  it('turns away a key that is almost the secret, and the secret on an app that was not given it', async () => {
    const before = await snapshot();
    for (const wrong of [`${secret}x`, secret.slice(0, -1), secret.slice(1), secret.toUpperCase()]) {
      const response = await call(envApp, { authorization: `Bearer ${wrong}` }, { method: 'GET', url: '/v1/accounts' });
      expect(response.status, wrong).toBe(401);
    }
    const elsewhere = await call(app, { authorization: `Bearer ${secret}` }, { method: 'GET', url: '/v1/me' });
    expect(elsewhere.status).toBe(401);
    expect(await snapshot()).toEqual(before);
  });

  it('still takes ordinary keys, with their own rights', async () => {
    const me = await call(envApp, bravo.auth, { method: 'GET', url: '/v1/me' });
    expect(me.body.account.id).toBe(bravo.account.id);
    expect((await call(envApp, bravo.auth, { method: 'GET', url: '/v1/accounts' })).status).toBe(403);
    expect((await call(envApp, bravo.auth, { method: 'GET', url: `/v1/sites/${a.siteId}` })).status).toBe(404);
  });
});
