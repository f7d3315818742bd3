import { randomUUID } from 'node:crypto';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

let database: TestDatabase;
let app: FastifyInstance;
const clock = new TestClock();
let auth: Record<string, string>;
let adminAuth: Record<string, string>;

let siteId = '';
let siteKey = '';
let poolId = '';
let poolNumberId = '';
let sourceNumberId = '';
let otherAccountNumber = '';

const snapshot = () => snapshotRows(database.db);

interface Rejection {
  status: number;
  body: { error: string; message: string; details?: unknown };
  headers: Record<string, unknown>;
}

/** Sends a request that must be refused with `status` and a JSON `{ error, message }`, and must change nothing. */
async function rejected(
  request: InjectOptions,
  status: number,
  as: Record<string, string> | null = auth,
): Promise<Rejection> {
  const before = await snapshot();
  const response = await app.inject({ ...request, headers: { ...(as ?? {}), ...(request.headers ?? {}) } });
  const what = `${request.method} ${request.url} ${String(request.payload ?? '').slice(0, 200)}`;
  expect(response.statusCode, `${what}: ${response.body}`).toBe(status);
  expect(response.headers['content-type'], what).toMatch(/^application\/json/);
  const body = JSON.parse(response.body);
  expect(body, what).toMatchObject({ error: expect.any(String), message: expect.any(String) });
  expect(body.message.length, what).toBeGreaterThan(0);
  expect(await snapshot(), `${what} changed the database`).toEqual(before);
  return { status: response.statusCode, body, headers: response.headers };
}

const validSite = { name: 'Example Dental', allowed_origins: [SITE_ORIGIN], swap_targets: ['(201) 555-0100'] };

beforeAll(async () => {
  database = await createTestDatabase();
  app = await buildTestApp(database.db, { clock: clock.now });
  ({ auth } = await makeAccount(database.db, 'Bad Input', {}));
  ({ auth: adminAuth } = await makeAccount(database.db, 'Operator', { operator: true, admin: true }));
  const made = await makeSiteWithPool(app, auth, { size: 3, firstNumber: 2015550101 });
  siteId = made.site.id;
  siteKey = made.site.public_key;
  poolId = made.pool.id;
  poolNumberId = made.numbers[0]?.id ?? '';
  const source = await call(app, auth, {
    method: 'POST',
    url: `/v1/sites/${siteId}/source-numbers`,
    payload: { number: '+12015550190', source: 'google', label: 'Google Ads' },
  });
  expect(source.status).toBe(201);
  sourceNumberId = source.body.id;

  const other = await makeAccount(database.db, 'Someone else');
  const theirs = await makeSiteWithPool(app, other.auth, { size: 1, firstNumber: 2015550180 });
  otherAccountNumber = theirs.numbers[0]?.e164 ?? '';
});

afterAll(async () => {
  await app.close();
  await database.close();
});

describe('request bodies in general', () => {
  it('refuses malformed or missing JSON bodies', async () => {
    const post = { method: 'POST' as const, url: '/v1/sites' };
    const json = { 'content-type': 'application/json' };
    for (const payload of ['{"name": ', '{name: "x"}', "{'name': 'x'}", '{"name": "x",}', 'undefined']) {
      const { body } = await rejected({ ...post, headers: json, payload }, 400);
      expect(body.error).not.toBe('internal');
    }
    await rejected({ ...post, headers: json, payload: '' }, 400);
    await rejected(post, 400);
    for (const payload of ['[]', '"a site"', '42', 'null', 'true']) {
      await rejected({ ...post, headers: json, payload }, 400);
    }
    await rejected({ ...post, headers: { 'content-type': 'text/plain' }, payload: JSON.stringify(validSite) }, 400);
    await rejected({ ...post, headers: { 'content-type': 'application/xml' }, payload: '<site/>' }, 415);
    await rejected(
      { ...post, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'name=x' },
      415,
    );
  });

  it('refuses a body over 1 MB with 413', async () => {
    await rejected({ method: 'POST', url: '/v1/sites', payload: { ...validSite, name: 'x'.repeat(1024 * 1024) } }, 413);
  });

  it('refuses ids that are not UUIDs in every path, with 400', async () => {
    const notIds = [
      '123',
      'not-a-uuid',
      'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1',
      'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11z',
    ];
    // Ajv's uuid format alone lets this through, and PostgreSQL then fails on it (500).
    notIds.push('urn:uuid:a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11');
    for (const bad of notIds) {
      const routes: InjectOptions[] = [
        { method: 'GET', url: `/v1/accounts/${bad}` },
        { method: 'POST', url: `/v1/accounts/${bad}/api-keys`, payload: { name: 'k' } },
        { method: 'DELETE', url: `/v1/api-keys/${bad}` },
        { method: 'GET', url: `/v1/sites/${bad}` },
        { method: 'PATCH', url: `/v1/sites/${bad}`, payload: { name: 'x' } },
        { method: 'DELETE', url: `/v1/sites/${bad}` },
        { method: 'GET', url: `/v1/sites/${bad}/pools` },
        { method: 'POST', url: `/v1/sites/${bad}/pools`, payload: { name: 'x' } },
        { method: 'GET', url: `/v1/pools/${bad}` },
        { method: 'DELETE', url: `/v1/pools/${bad}` },
        { method: 'POST', url: `/v1/pools/${bad}/numbers`, payload: { numbers: [{ number: '+12015550150' }] } },
        { method: 'GET', url: `/v1/sites/${bad}/numbers` },
        { method: 'POST', url: `/v1/sites/${bad}/source-numbers`, payload: { number: '+12015550150', source: 'x' } },
        { method: 'GET', url: `/v1/numbers/${bad}` },
        { method: 'PATCH', url: `/v1/numbers/${bad}`, payload: { recording: true } },
        { method: 'DELETE', url: `/v1/numbers/${bad}` },
        { method: 'GET', url: `/v1/sessions/${bad}` },
        { method: 'GET', url: `/v1/sessions?site_id=${encodeURIComponent(bad)}` },
        { method: 'GET', url: `/v1/sites/${siteId}/numbers?pool_id=${encodeURIComponent(bad)}` },
      ];
      for (const route of routes) {
        const as = route.url?.toString().includes('/accounts/') ? adminAuth : auth;
        const { body } = await rejected(route, 400, as);
        expect(body.error).toBe('validation_failed');
      }
    }
  });

  it('refuses JSON values of the wrong type instead of converting them', async () => {
    for (const payload of [
      { ...validSite, name: 123 },
      { ...validSite, allowed_origins: SITE_ORIGIN },
      { ...validSite, idle_timeout_s: '900' },
      { ...validSite, name: ['x'] },
    ]) {
      await rejected({ method: 'POST', url: '/v1/sites', payload }, 400);
    }
  });
});

describe('sites', () => {
  const post = (payload: unknown): InjectOptions => ({ method: 'POST', url: '/v1/sites', payload: payload as object });

  it('refuses a site with a required field missing, naming the field', async () => {
    for (const field of ['name', 'allowed_origins', 'swap_targets'] as const) {
      const { [field]: _, ...rest } = validSite;
      const { body } = await rejected(post(rest), 400);
      expect(body.error).toBe('validation_failed');
      expect(body.message).toContain(field);
    }
    await rejected(post({}), 400);
  });

  it('refuses unknown fields rather than dropping them', async () => {
    for (const extra of [
      { color: 'red' },
      { public_key: 'my-own-key' },
      { account_id: randomUUID() },
      { is_demo: true },
      { id: randomUUID() },
    ]) {
      const { body } = await rejected(post({ ...validSite, ...extra }), 400);
      expect(body.details).toEqual([expect.objectContaining({ property: Object.keys(extra)[0] })]);
    }
  });

  it('refuses values of the wrong type or out of range', async () => {
    for (const wrong of [
      { name: { first: 'x' } },
      { name: ['a', 'b'] },
      { name: '' },
      { allowed_origins: { 0: SITE_ORIGIN } },
      { allowed_origins: [] },
      { allowed_origins: [{ origin: SITE_ORIGIN }] },
      { swap_targets: [] },
      { swap_targets: [['+12015550100', '+12015550101']] },
      { swap_targets: [''] },
      { default_country: 'us' },
      { default_country: 'USA' },
      { default_country: 1 },
      { time_zone: '' },
      { idle_timeout_s: 'soon' },
      { idle_timeout_s: 1800.5 },
      { idle_timeout_s: 59 },
      { idle_timeout_s: 86_401 },
      { cooldown_s: -1 },
      { qualified_call_s: -5 },
      { exhaustion_policy: 'panic' },
      { exhaustion_policy: null },
      { max_leases_per_ip: 0 },
      { max_leases_per_ip: false },
      { max_leases_per_ip: 100_001 },
      { max_leases_per_ip: 'many' },
    ]) {
      const { body } = await rejected(post({ ...validSite, ...wrong }), 400);
      expect(body.error, JSON.stringify(wrong)).toBe('validation_failed');
    }
  });

  it('refuses oversized strings and lists', async () => {
    const origins = (n: number) => Array.from({ length: n }, (_, i) => `https://site${i}.example`);
    const targets = (n: number) => Array.from({ length: n }, (_, i) => `+1201555${String(1000 + i)}`);
    for (const big of [
      { name: 'x'.repeat(201) },
      { allowed_origins: origins(51) },
      { allowed_origins: [`https://${'a'.repeat(300)}.example`] },
      { swap_targets: targets(21) },
      { swap_targets: [`+1 201 555 0100${' '.repeat(30)}`] },
      { time_zone: `America/${'x'.repeat(60)}` },
    ]) {
      await rejected(post({ ...validSite, ...big }), 400);
    }
  });

  it('refuses anything but a bare http(s) origin', async () => {
    for (const origin of [
      'https://x.com/path',
      'https://x.com/path/',
      'https://x.com?utm=1',
      'https://x.com/#top',
      'ftp://x.com',
      'file:///etc/passwd',
      'javascript:alert(1)',
      'not a url',
      'x.com',
      '//x.com',
      'https://user:pw@x.com',
      'https://:pw@x.com',
    ]) {
      const { body } = await rejected(post({ ...validSite, allowed_origins: [SITE_ORIGIN, origin] }), 400);
      expect(body.message, origin).toContain(origin);
    }
  });

  it('refuses invalid business numbers, naming the one at fault', async () => {
    for (const bad of ['555-1234', 'abc', '+1 201 555 01', '+999 1234 5678', '0']) {
      const { body } = await rejected(post({ ...validSite, swap_targets: ['(201) 555-0100', bad] }), 400);
      expect(body.message, bad).toContain('swap_targets[1]');
    }
  });

  it('refuses an unknown country or time zone', async () => {
    for (const wrong of [
      { default_country: 'ZZ' },
      { default_country: 'XX' },
      { time_zone: 'Mars/Olympus' },
      { time_zone: 'America/New York' },
      { time_zone: ' UTC' },
      { time_zone: 'GMT+25' },
    ]) {
      const { body } = await rejected(post({ ...validSite, ...wrong }), 400);
      expect(body.message).toContain(Object.values(wrong)[0]);
    }
  });

  it('changes nothing on a PATCH with one bad field among good ones', async () => {
    const patch = (payload: unknown): InjectOptions => ({
      method: 'PATCH',
      url: `/v1/sites/${siteId}`,
      payload: payload as object,
    });
    await rejected(patch({}), 400);
    await rejected(patch({ name: 'Renamed', time_zone: 'Mars/Olympus' }), 400);
    await rejected(patch({ name: 'Renamed', default_country: 'ZZ' }), 400);
    await rejected(patch({ name: 'Renamed', allowed_origins: ['ftp://x.com'] }), 400);
    await rejected(patch({ name: 'Renamed', swap_targets: ['(201) 555-0100', 'abc'] }), 400);
    await rejected(patch({ name: 'Renamed', idle_timeout_s: 10 }), 400);
    await rejected(patch({ name: 'Renamed', max_leases_per_ip: 0 }), 400);
    for (const field of ['public_key', 'account_id', 'is_demo', 'created_at', 'updated_at']) {
      const { body } = await rejected(patch({ name: 'Renamed', [field]: field === 'is_demo' ? true : 'x' }), 400);
      expect(body.details).toEqual([expect.objectContaining({ property: field })]);
    }
    // The pool stands in for (201) 555-0100: dropping it from swap_targets would orphan the pool.
    const { body } = await rejected(patch({ swap_targets: ['(201) 555-0199'] }), 409);
    expect(body.error).toBe('conflict');
    expect(body.message).toContain('+12015550100');
    const site = await database.db.selectFrom('sites').selectAll().where('id', '=', siteId).executeTakeFirstOrThrow();
    expect(site.name).toBe('Example Dental');
    expect(site.swap_targets).toEqual(['+12015550100']);
    expect(site.max_leases_per_ip).toBe(10);
  });
});

describe('pools', () => {
  it('refuses bad pool definitions', async () => {
    const post = (payload: unknown): InjectOptions => ({
      method: 'POST',
      url: `/v1/sites/${siteId}/pools`,
      payload: payload as object,
    });
    await rejected(post({}), 400);
    await rejected(post({ name: '' }), 400);
    await rejected(post({ name: 'x'.repeat(201) }), 400);
    await rejected(post({ name: 'Ads', size: 10 }), 400);
    await rejected(post({ name: { text: 'Ads' } }), 400);
    for (const bad of ['555-1234', 'abc', '+1 201 555 01']) {
      const { body } = await rejected(post({ name: 'Ads', swap_target: bad }), 400);
      expect(body.message).toContain('swap_target');
    }
    // A valid number that is not one of the site's business numbers.
    const { body } = await rejected(post({ name: 'Ads', swap_target: '(201) 555-0177' }), 400);
    expect(body.message).toContain('+12015550100');
    // The site already has a pool for its only swap target, however the number is written.
    for (const target of [undefined, '+12015550100', '201.555.0100']) {
      const { body } = await rejected(post({ name: 'Second', ...(target ? { swap_target: target } : {}) }), 409);
      expect(body.error).toBe('conflict');
    }
  });

  it('refuses to delete a pool that still has numbers', async () => {
    const { body } = await rejected({ method: 'DELETE', url: `/v1/pools/${poolId}` }, 409);
    expect(body.error).toBe('conflict');
  });
});

describe('pool numbers', () => {
  const add = (payload: unknown): InjectOptions => ({
    method: 'POST',
    url: `/v1/pools/${poolId}/numbers`,
    payload: payload as object,
  });

  it('refuses a malformed batch', async () => {
    await rejected(add({}), 400);
    await rejected(add({ numbers: [] }), 400);
    await rejected(add({ numbers: '+12015550150' }), 400);
    await rejected(add({ numbers: [null] }), 400);
    await rejected(add({ numbers: [{}] }), 400);
    await rejected(add({ numbers: [{ number: '' }] }), 400);
    await rejected(add({ numbers: [{ number: `+1201555015${'0'.repeat(40)}` }] }), 400);
    await rejected(add({ numbers: [{ number: '+12015550150' }], pool_id: poolId }), 400);
    await rejected(add({ numbers: [{ number: '+12015550150', color: 'red' }] }), 400);
    await rejected(add({ numbers: [{ number: '+12015550150', pool_id: randomUUID() }] }), 400);
    await rejected(add({ numbers: [{ number: '+12015550150', provider: 'vonage' }] }), 400);
    await rejected(add({ numbers: [{ number: '+12015550150', recording: 'yes' }] }), 400);
    await rejected(add({ numbers: [{ number: '+12015550150', forward_to: '' }] }), 400);
  });

  it('refuses more than 1000 numbers at once and adds none', async () => {
    const numbers = Array.from({ length: 1001 }, (_, i) => ({ number: `+1201556${String(i).padStart(4, '0')}` }));
    const { body } = await rejected(add({ numbers }), 400);
    expect(body.message).toContain('1000');
  });

  it('adds none of a batch with one bad number, and names its index', async () => {
    for (const bad of ['555-1234', 'abc', '+1 201 555 01']) {
      const { body } = await rejected(
        add({ numbers: [{ number: '+12015550150' }, { number: bad }, { number: '+12015550151' }] }),
        400,
      );
      expect(body.error).toBe('bad_request');
      expect(body.details).toEqual([{ index: 1, message: expect.stringContaining(bad) }]);
    }
    const { body } = await rejected(
      add({
        numbers: [
          { number: 'abc' },
          { number: '+12015550150' },
          { number: '+12015550151', forward_to: '555-1234' },
          { number: '+1 201 555 01' },
        ],
      }),
      400,
    );
    expect(body.details).toEqual([
      { index: 0, message: expect.stringContaining('abc') },
      { index: 2, message: expect.stringMatching(/forward_to.*555-1234/) },
      { index: 3, message: expect.stringContaining('+1 201 555 01') },
    ]);
    const added = await database.db
      .selectFrom('tracking_numbers')
      .select('e164')
      .where('e164', 'in', ['+12015550150', '+12015550151'])
      .execute();
    expect(added).toEqual([]);
  });

  it('refuses a number given twice in one batch, in whatever format', async () => {
    const { body } = await rejected(
      add({ numbers: [{ number: '+12015550150' }, { number: '(201) 555-0151' }, { number: '201.555.0150' }] }),
      400,
    );
    expect(body.message).toContain('+12015550150');
  });

  it('refuses with 409 a number that already exists, here or in another account, and adds none', async () => {
    for (const taken of ['(201) 555-0101', '+12015550190', otherAccountNumber]) {
      const { body } = await rejected(add({ numbers: [{ number: '+12015550150' }, { number: taken }] }), 409);
      expect(body.error).toBe('conflict');
    }
  });
});

describe('source-level numbers', () => {
  const add = (payload: Record<string, unknown>): InjectOptions => ({
    method: 'POST',
    url: `/v1/sites/${siteId}/source-numbers`,
    payload,
  });
  const valid = { number: '+12015550160', source: 'facebook' };

  it('refuses missing, unknown, blank and oversized fields', async () => {
    await rejected(add({ source: 'facebook' }), 400);
    await rejected(add({ number: '+12015550160' }), 400);
    await rejected(add({ ...valid, source: '' }), 400);
    // A blank source would be stored as "" and match no visit.
    await rejected(add({ ...valid, source: '   ' }), 400);
    await rejected(add({ ...valid, source: 'x'.repeat(101) }), 400);
    await rejected(add({ ...valid, label: '' }), 400);
    await rejected(add({ ...valid, label: 'x'.repeat(201) }), 400);
    await rejected(add({ ...valid, pool_id: poolId }), 400);
    await rejected(add({ ...valid, e164: '+12015550160' }), 400);
    await rejected(add({ ...valid, provider: 'vonage' }), 400);
    await rejected(add({ ...valid, recording: 'sometimes' }), 400);
    await rejected(add({ ...valid, source: { name: 'facebook' } }), 400);
  });

  it('refuses invalid numbers in number, forward_to and swap_target', async () => {
    for (const bad of ['555-1234', 'abc', '+1 201 555 01']) {
      expect((await rejected(add({ ...valid, number: bad }), 400)).body.message).toMatch(/^number: /);
      expect((await rejected(add({ ...valid, forward_to: bad }), 400)).body.message).toMatch(/^forward_to: /);
      expect((await rejected(add({ ...valid, swap_target: bad }), 400)).body.message).toMatch(/^swap_target: /);
    }
    await rejected(add({ ...valid, swap_target: '(201) 555-0177' }), 400);
  });

  it('refuses with 409 a number already in use', async () => {
    for (const taken of ['+12015550101', '(201) 555-0190', otherAccountNumber]) {
      expect((await rejected(add({ ...valid, number: taken }), 409)).body.error).toBe('conflict');
    }
  });
});

describe('numbers', () => {
  it('refuses bad filters on the number list', async () => {
    for (const query of ['kind=all', 'kind=', 'pool_id=123', 'color=red', `pool_id=${poolId}&pool_id=${poolId}`]) {
      await rejected({ method: 'GET', url: `/v1/sites/${siteId}/numbers?${query}` }, 400);
    }
  });

  it('changes nothing on a PATCH with one bad field among good ones', async () => {
    const patch = (id: string, payload: unknown): InjectOptions => ({
      method: 'PATCH',
      url: `/v1/numbers/${id}`,
      payload: payload as object,
    });
    await rejected(patch(poolNumberId, {}), 400);
    for (const bad of ['555-1234', 'abc', '+1 201 555 01', '']) {
      await rejected(patch(poolNumberId, { recording: true, forward_to: bad }), 400);
    }
    await rejected(patch(poolNumberId, { recording: true, provider: 'vonage' }), 400);
    await rejected(patch(poolNumberId, { recording: 'on' }), 400);
    await rejected(patch(poolNumberId, { recording: true, e164: '+12015550170' }), 400);
    await rejected(patch(poolNumberId, { recording: true, pool_id: null }), 400);
    await rejected(patch(poolNumberId, { recording: true, retired_at: null }), 400);
    // Only source-level numbers carry a label.
    await rejected(patch(poolNumberId, { recording: true, label: 'Billboard' }), 400);
    await rejected(patch(sourceNumberId, { label: '' }), 400);
    await rejected(patch(sourceNumberId, { label: 'x'.repeat(201) }), 400);
    await rejected(patch(sourceNumberId, { source: 'bing' }), 400);
    const numbers = await database.db
      .selectFrom('tracking_numbers')
      .select(['id', 'recording', 'forward_to', 'source', 'source_label'])
      .where('id', 'in', [poolNumberId, sourceNumberId])
      .execute();
    expect(numbers).toEqual(
      expect.arrayContaining([
        { id: poolNumberId, recording: false, forward_to: '+12015550100', source: null, source_label: null },
        {
          id: sourceNumberId,
          recording: false,
          forward_to: '+12015550100',
          source: 'google',
          source_label: 'Google Ads',
        },
      ]),
    );
  });
});

describe('accounts and API keys', () => {
  it('refuses bad account and key definitions', async () => {
    await rejected({ method: 'POST', url: '/v1/accounts', payload: {} }, 400, adminAuth);
    await rejected({ method: 'POST', url: '/v1/accounts', payload: { name: '' } }, 400, adminAuth);
    await rejected({ method: 'POST', url: '/v1/accounts', payload: { name: 'x'.repeat(201) } }, 400, adminAuth);
    await rejected({ method: 'POST', url: '/v1/accounts', payload: { name: 'x', is_operator: true } }, 400, adminAuth);
    await rejected({ method: 'POST', url: '/v1/accounts', payload: { name: ['x', 'y'] } }, 400, adminAuth);
    for (const payload of [
      {},
      { name: '' },
      { name: 'k', is_admin: true },
      { name: 'k', admin: 'yes' },
      { name: {} },
    ]) {
      await rejected({ method: 'POST', url: '/v1/api-keys', payload }, 400);
    }
  });
});

describe('session admin', () => {
  it('refuses bad list parameters', async () => {
    for (const query of [
      'limit=0',
      'limit=501',
      'limit=abc',
      'limit=1.5',
      'color=red',
      `cursor=${'x'.repeat(201)}`,
      'cursor=not-a-cursor',
      `cursor=${Buffer.from('yesterday|abc').toString('base64url')}`,
    ]) {
      await rejected({ method: 'GET', url: `/v1/sessions?${query}` }, 400);
    }
  });

  it('refuses a forged cursor whose id is not a UUID', async () => {
    const cursor = Buffer.from(`2026-06-01T12:00:00.000Z|${'-'.repeat(36)}`).toString('base64url');
    await rejected({ method: 'GET', url: `/v1/sessions?cursor=${cursor}` }, 400);
  });
});

describe('public session API', () => {
  const sessionUrl = () => `/v1/public/sites/${siteKey}/sessions`;
  const browser = { origin: SITE_ORIGIN, 'content-type': 'text/plain', 'user-agent': BROWSER_UA };
  const visit = (payload: string | object, headers: Record<string, string> = {}): InjectOptions => ({
    method: 'POST',
    url: sessionUrl(),
    headers: { ...browser, ...headers },
    payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
  });

  it('answers an unknown site key with 404 and no CORS header', async () => {
    for (const key of ['nope', 'x'.repeat(65), `${siteKey}x`, siteKey.slice(1)]) {
      const { headers } = await rejected(
        { ...visit({ url: `${SITE_ORIGIN}/` }), url: `/v1/public/sites/${key}/sessions` },
        404,
        null,
      );
      expect(headers['access-control-allow-origin']).toBeUndefined();
    }
  });

  it('answers a CORS preflight only for an allowed origin', async () => {
    const preflight = (origin: string) =>
      app.inject({
        method: 'OPTIONS',
        url: sessionUrl(),
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
      });
    const allowed = await preflight(SITE_ORIGIN);
    expect(allowed.statusCode).toBe(204);
    expect(allowed.headers['access-control-allow-origin']).toBe(SITE_ORIGIN);
    const foreign = await preflight('https://evil.example');
    expect(foreign.statusCode).toBe(403);
    expect(foreign.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('answers a foreign or missing origin with 403 and no CORS header', async () => {
    for (const origin of [
      'https://evil.example',
      'null',
      'http://www.example-dental.com',
      'https://www.example-dental.com:8443',
      'https://example-dental.com',
      `${SITE_ORIGIN}/`,
      `${SITE_ORIGIN}.evil.example`,
    ]) {
      const { body, headers } = await rejected(visit({ url: `${SITE_ORIGIN}/` }, { origin }), 403, null);
      expect(body.error).toBe('origin_not_allowed');
      expect(headers['access-control-allow-origin'], origin).toBeUndefined();
      expect(headers['access-control-allow-credentials'], origin).toBeUndefined();
    }
    const { origin: _, ...noOrigin } = browser;
    const response = await app.inject({
      method: 'POST',
      url: sessionUrl(),
      headers: noOrigin,
      payload: JSON.stringify({ url: `${SITE_ORIGIN}/` }),
    });
    expect(response.statusCode).toBe(403);
    expect(response.headers['access-control-allow-origin']).toBeUndefined();
    expect(JSON.parse(response.body)).toMatchObject({ error: 'origin_not_allowed', message: expect.any(String) });
  });

  it('refuses a body over 8 KB with 413', async () => {
    const url = `${SITE_ORIGIN}/?utm_source=${'a'.repeat(9000)}`;
    await rejected(visit({ url }), 413, null);
    await rejected(visit({ url }, { 'content-type': 'application/json' }), 413, null);
  });

  it('refuses bodies that are not a JSON object', async () => {
    for (const payload of ['{', '{"url": "https://www.example-dental.com/"', 'url=https://x', '']) {
      await rejected(visit(payload), 400, null);
    }
    await rejected(visit('{', { 'content-type': 'application/json' }), 400, null);
    for (const payload of ['[]', 'null', '"https://www.example-dental.com/"', '42']) {
      await rejected(visit(payload), 400, null);
    }
    await rejected(
      visit({ url: `${SITE_ORIGIN}/` }, { 'content-type': 'application/x-www-form-urlencoded' }),
      415,
      null,
    );
  });

  it('refuses missing, unknown and malformed fields', async () => {
    const url = `${SITE_ORIGIN}/`;
    await rejected(visit({}), 400, null);
    await rejected(visit({ referrer: 'https://google.com/' }), 400, null);
    await rejected(visit({ url: '' }), 400, null);
    await rejected(visit({ url: `${SITE_ORIGIN}/${'a'.repeat(2048)}` }), 400, null);
    await rejected(visit({ url, referrer: `https://google.com/${'a'.repeat(2048)}` }), 400, null);
    for (const extra of [{ ip: '1.2.3.4' }, { account_id: randomUUID() }, { utm_source: 'google' }, { u: url }]) {
      const { body } = await rejected(visit({ url, ...extra }), 400, null);
      expect(body.details).toEqual([expect.objectContaining({ property: Object.keys(extra)[0] })]);
    }
    for (const visitor of [
      'short',
      'has spaces in it',
      'semi;colon-0123',
      'x'.repeat(65),
      '<script>alert(1)</script>',
    ]) {
      const { body } = await rejected(visit({ url, visitor }), 400, null);
      expect(body.message).toContain('visitor');
    }
    for (const session of ['not-a-uuid', '123', 'urn:uuid:a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11']) {
      const { body } = await rejected(visit({ url, session }), 400, null);
      expect(body.message).toContain('session');
    }
  });

  it('refuses a landing page that is not an http(s) URL and records no visit', async () => {
    for (const url of [
      'javascript:alert(1)',
      'JAVASCRIPT:alert(document.cookie)',
      'data:text/html,<script>alert(1)</script>',
      'ftp://www.example-dental.com/',
      'file:///etc/passwd',
      'not a url',
      '/relative/page',
    ]) {
      const { body } = await rejected(visit({ url }), 400, null);
      expect(body.message, url).toContain('url');
    }
    expect(await database.db.selectFrom('sessions').select('id').execute()).toEqual([]);
    expect(await database.db.selectFrom('visitors').select('id').execute()).toEqual([]);
  });

  it('answers a ping for an unknown session with 404 and changes nothing', async () => {
    const started = await startSession(app, siteKey);
    expect(started.status).toBe(200);
    const ping = (sessionId: string, payload: string, headers: Record<string, string> = {}): InjectOptions => ({
      method: 'POST',
      url: `${sessionUrl()}/${sessionId}/ping`,
      headers: { ...browser, ...headers },
      payload,
    });
    clock.advance(60);
    const { body } = await rejected(ping(randomUUID(), '{}'), 404, null);
    expect(body.error).toBe('not_found');
    await rejected(ping('not-a-uuid', '{}'), 400, null);
    await rejected(ping('urn:uuid:a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{}'), 400, null);
    // Bad pings for the live session do not keep it alive either.
    const live = started.body.session;
    await rejected(ping(live, '{"url": "https://www.example-dental.com/", "visitor": "abcdefgh"}'), 400, null);
    await rejected(ping(live, '{'), 400, null);
    await rejected(ping(live, JSON.stringify({ url: `${SITE_ORIGIN}/${'a'.repeat(9000)}` })), 413, null);
    const foreign = await rejected(ping(live, '{}', { origin: 'https://evil.example' }), 403, null);
    expect(foreign.headers['access-control-allow-origin']).toBeUndefined();
  });
});
