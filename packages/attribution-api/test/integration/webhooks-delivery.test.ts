/**
 * Outbound webhooks in process, on both databases: a real receiver on 127.0.0.1 that checks every
 * delivery with the snippet from docs/WEBHOOKS.md; the service's clock is a TestClock, its worker
 * polls with real timers, so each step waits for the next poll.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, InjectOptions } from 'fastify';
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
import { type Received, Receiver, waitFor } from './webhooks-receiver.ts';

type Auth = Record<string, string>;

let database: TestDatabase;
let app: FastifyInstance;
const clock = new TestClock();
let receiver: Receiver;
/** Each path's secret: the receiver checks a delivery with the secret of the endpoint it was sent to. */
const secrets = new Map<string, string>();
/** How a path answers the nth delivery of one event: a list of statuses, the last one repeating. */
const scripts = new Map<string, number[]>();
/** Deliveries to /slow wait for this before they are answered. */
let slowGate: Promise<void> = Promise.resolve();
let alpha: Awaited<ReturnType<typeof makeAccount>>;
let bravo: Awaited<ReturnType<typeof makeAccount>>;
let alphaNumbers: string[] = [];
let alphaSiteKey = '';

const requestsTo = (path: string) => receiver.requests.filter((r) => r.path === path);

async function api(auth: Auth, method: InjectOptions['method'], url: string, payload?: unknown) {
  return call(app, auth, { method, url, ...(payload === undefined ? {} : { payload: payload as object }) });
}

/** An endpoint on the receiver at `path`, answering with `script`. */
async function endpoint(auth: Auth, path: string, events: string[], script: number[], extra: object = {}) {
  scripts.set(path, script);
  const created = await api(auth, 'POST', '/v1/webhook-endpoints', { url: receiver.url(path), events, ...extra });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  secrets.set(path, created.body.secret);
  return created.body as { id: string; secret: string; url: string };
}

let callCount = 0;
/** A visit from a Google ad, then a call to the number it was shown, through the generic calls API. */
async function ringAfterVisit(auth: Auth, siteKey: string, numbers: string[]) {
  const visit = await startSession(app, siteKey, {
    url: `${SITE_ORIGIN}/implants?utm_source=google&utm_medium=cpc&utm_campaign=<b>spring</b>`,
  });
  const shown = visit.body.swaps[0]?.number?.e164 ?? numbers[0];
  const created = await api(auth, 'POST', '/v1/calls', {
    tracking_number: shown,
    caller: `+1415555${String(1000 + ++callCount)}`,
    provider_call_id: `pbx-${randomUUID()}`,
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return { callId: created.body.call.id as string, sessionId: visit.body.session as string };
}

async function complete(auth: Auth, callId: string, durationS = 95) {
  const done = await api(auth, 'PATCH', `/v1/calls/${callId}`, { status: 'completed', duration_s: durationS });
  expect(done.status).toBe(200);
}

async function deliveries(auth: Auth, query = '') {
  const listed = await api(auth, 'GET', `/v1/webhook-deliveries?limit=500${query}`);
  expect(listed.status, JSON.stringify(listed.body)).toBe(200);
  return listed.body.webhook_deliveries as {
    id: string;
    endpoint_id: string;
    event_id: string;
    event_type: string;
    state: string;
    attempts: number;
    next_attempt_at: string | null;
    last_status_code: number | null;
  }[];
}

/** Waits until every delivery of the endpoint has `attempts` attempts recorded (or is finished). */
async function attempted(auth: Auth, endpointId: string, count: number, attempts: number) {
  return waitFor(`${count} deliveries with ${attempts} attempts`, async () => {
    const rows = await deliveries(auth, `&endpoint_id=${endpointId}`);
    return rows.length === count && rows.every((d) => d.attempts >= attempts) ? rows : undefined;
  });
}

beforeAll(async () => {
  database = await createTestDatabase();
  app = await buildTestApp(database.db, { clock: clock.now });
  const seen = new Map<string, number>();
  receiver = await Receiver.start({
    secret: (path) => secrets.get(path) ?? '',
    nowMs: () => clock.now().getTime(),
    respond: async (r) => {
      if (r.path === '/slow') await slowGate;
      const key = `${r.path} ${r.event?.id}`;
      const n = seen.get(key) ?? 0;
      seen.set(key, n + 1);
      const script = scripts.get(r.path) ?? [500];
      return script[Math.min(n, script.length - 1)] ?? 500;
    },
  });
  alpha = await makeAccount(database.db, 'Alpha Dental');
  bravo = await makeAccount(database.db, 'Bravo Plumbing');
  const a = await makeSiteWithPool(app, alpha.auth, { size: 3, firstNumber: 2015550101 });
  alphaNumbers = a.numbers.map((n) => n.e164);
  alphaSiteKey = a.site.public_key;
  await makeSiteWithPool(app, bravo.auth, { size: 1, firstNumber: 2015550201 });
  await app.telephonyDirectory.refresh();
});

afterAll(async () => {
  await app?.close();
  await receiver?.close();
  await database?.close();
});

describe('a receiver that fails twice, then answers', () => {
  it('gets every event, signed, with one logged success per event and endpoint after two logged 500s', async () => {
    const all = await endpoint(
      alpha.auth,
      '/all',
      ['call.started', 'call.attributed', 'call.completed'],
      [500, 500, 200],
    );
    const ends = await endpoint(alpha.auth, '/ends', ['call.completed'], [500, 500, 200]);
    const off = await endpoint(alpha.auth, '/off', ['call.completed'], [200], { enabled: false });
    const bravoHook = await endpoint(bravo.auth, '/bravo', ['call.completed'], [200]);

    const start = clock.now();
    const { callId, sessionId } = await ringAfterVisit(alpha.auth, alphaSiteKey, alphaNumbers);
    await complete(alpha.auth, callId);

    // First attempts, at once: 500 each.
    await attempted(alpha.auth, all.id, 3, 1);
    await attempted(alpha.auth, ends.id, 1, 1);
    for (const d of await deliveries(alpha.auth)) {
      expect(d).toMatchObject({ state: 'pending', attempts: 1, last_status_code: 500 });
      const wait = new Date(d.next_attempt_at ?? 0).getTime() - start.getTime();
      expect(wait).toBeGreaterThanOrEqual(24_000);
      expect(wait).toBeLessThanOrEqual(36_000);
    }
    // Nothing is due before its time.
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    expect(receiver.requests).toHaveLength(4);

    clock.advance(40);
    await attempted(alpha.auth, all.id, 3, 2);
    await attempted(alpha.auth, ends.id, 1, 2);
    clock.advance(80);
    await waitFor('all delivered', async () =>
      (await deliveries(alpha.auth)).every((d) => d.state === 'delivered') ? true : undefined,
    );
    // A day later, nothing more is sent.
    clock.advance(24 * 60 * 60);
    await new Promise((resolve) => setTimeout(resolve, 1_200));

    // The receiver: 3 tries of each of 4 deliveries, each passing the documented check, answered 500, 500, 200.
    expect(receiver.requests.map((r) => r.checkError).filter(Boolean)).toEqual([]);
    expect(requestsTo('/off')).toEqual([]);
    expect(requestsTo('/bravo')).toEqual([]);
    const byEvent = new Map<string, Received[]>();
    for (const r of receiver.requests) {
      const key = `${r.path} ${r.event?.id}`;
      byEvent.set(key, [...(byEvent.get(key) ?? []), r]);
    }
    expect(byEvent.size).toBe(4);
    for (const tries of byEvent.values()) {
      expect(tries.map((r) => r.status)).toEqual([500, 500, 200]);
      // The same event, byte for byte, in every attempt; headers name it.
      expect(new Set(tries.map((r) => r.body)).size).toBe(1);
      for (const r of tries) {
        expect(r.headers['ringpool-event-id']).toBe(r.event?.id);
        expect(r.headers['ringpool-event-type']).toBe(r.event?.type);
        expect(r.headers['content-type']).toBe('application/json');
      }
    }
    const types = (path: string) => requestsTo(path).map((r) => r.event?.type);
    expect(new Set(types('/all'))).toEqual(new Set(['call.started', 'call.attributed', 'call.completed']));
    expect(new Set(types('/ends'))).toEqual(new Set(['call.completed']));

    // The log: one success per event and endpoint, after two 500s, with durations.
    const rows = await deliveries(alpha.auth);
    expect(rows).toHaveLength(4);
    expect(new Set(rows.map((d) => d.endpoint_id))).toEqual(new Set([all.id, ends.id]));
    for (const d of rows) {
      expect(d).toMatchObject({ state: 'delivered', attempts: 3, last_status_code: 200, next_attempt_at: null });
      const detail = await api(alpha.auth, 'GET', `/v1/webhook-deliveries/${d.id}`);
      expect(detail.status).toBe(200);
      const log = detail.body.attempt_log as {
        succeeded: boolean;
        status_code: number;
        duration_ms: number;
        error: string | null;
      }[];
      expect(log.map((x) => [x.status_code, x.succeeded, x.error])).toEqual([
        [500, false, 'HTTP 500'],
        [500, false, 'HTTP 500'],
        [200, true, null],
      ]);
      for (const x of log) expect(Number.isInteger(x.duration_ms) && x.duration_ms >= 0).toBe(true);
      expect(detail.body.payload.id).toBe(d.event_id);
    }
    const successes = await database.db
      .selectFrom('webhook_attempts')
      .innerJoin('webhook_deliveries', 'webhook_deliveries.id', 'webhook_attempts.delivery_id')
      .select(['webhook_deliveries.event_id', 'webhook_deliveries.endpoint_id'])
      .where('succeeded', '=', true)
      .execute();
    expect(successes.map((s) => `${s.endpoint_id} ${s.event_id}`).sort()).toEqual(
      rows.map((d) => `${d.endpoint_id} ${d.event_id}`).sort(),
    );
    expect(await deliveries(bravo.auth)).toEqual([]);
    expect(off.id).toBeTruthy();
    expect(bravoHook.id).toBeTruthy();

    // The payload: the call as GET /v1/calls/:id shows it, at the moment of the event.
    const shown = await api(alpha.auth, 'GET', `/v1/calls/${callId}`);
    const event = (type: string) => requestsTo('/all').find((r) => r.event?.type === type)?.event;
    expect(event('call.completed')?.data.call).toEqual(shown.body);
    expect(event('call.completed')?.created_at).toBe(new Date(start).toISOString());
    expect(event('call.started')?.data.call).toMatchObject({ id: callId, status: 'ringing', ended_at: null });
    expect(event('call.attributed')?.data.call).toMatchObject({
      session_id: sessionId,
      source: 'google',
      campaign: '<b>spring</b>',
      visit: { utm_campaign: '<b>spring</b>' },
    });
    // Attribution does not change after the call starts: only the status, duration and quality do.
    const { status, ended_at, answered_at, duration_s, qualified, ...fixed } = shown.body;
    expect(event('call.started')?.data.call).toMatchObject(fixed);
    expect([status, duration_s, qualified, Boolean(ended_at), Boolean(answered_at)]).toEqual([
      'completed',
      95,
      true,
      true,
      true,
    ]);
  });
});

let nextFirstNumber = 2015550301;
/** A fresh account with a site and a pool: each test's endpoints see only its own calls. */
async function tenant(name: string, size = 2) {
  const account = await makeAccount(database.db, name);
  const made = await makeSiteWithPool(app, account.auth, { size, firstNumber: nextFirstNumber });
  nextFirstNumber += 100;
  await app.telephonyDirectory.refresh();
  return { ...account, siteKey: made.site.public_key, numbers: made.numbers.map((n) => n.e164) };
}

describe('endpoints', () => {
  it('show the secret once, never again, and refuse bad input changing nothing', async () => {
    const t = await tenant('Secrets Dental');
    const created = await endpoint(t.auth, '/secret', ['call.completed'], [200], { description: 'CRM' });
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(created).toMatchObject({ url: receiver.url('/secret'), enabled: true, previous_secret_expires_at: null });
    const one = await app.inject({ method: 'GET', url: `/v1/webhook-endpoints/${created.id}`, headers: t.auth });
    const list = await app.inject({ method: 'GET', url: '/v1/webhook-endpoints', headers: t.auth });
    for (const response of [one, list]) {
      expect(response.statusCode).toBe(200);
      expect(response.body).not.toContain(created.secret);
      expect(response.body).not.toContain('"secret"');
    }

    const before = await snapshotRows(database.db);
    const events = ['call.completed'];
    const bad: [string, InjectOptions['method'], string, unknown][] = [
      ['http to a remote host', 'POST', '/v1/webhook-endpoints', { url: 'http://crm.example.com/h', events }],
      ['a private address', 'POST', '/v1/webhook-endpoints', { url: 'https://10.0.0.7/h', events }],
      ['cloud metadata', 'POST', '/v1/webhook-endpoints', { url: 'https://169.254.169.254/', events }],
      ['credentials', 'POST', '/v1/webhook-endpoints', { url: 'https://u:p@crm.example.com/h', events }],
      ['another scheme', 'POST', '/v1/webhook-endpoints', { url: 'ftp://crm.example.com/h', events }],
      ['no events', 'POST', '/v1/webhook-endpoints', { url: 'https://crm.example.com/h', events: [] }],
      ['an unknown event', 'POST', '/v1/webhook-endpoints', { url: 'https://crm.example.com/h', events: ['call.*'] }],
      [
        'a repeated event',
        'POST',
        '/v1/webhook-endpoints',
        { url: 'https://crm.example.com/h', events: [...events, ...events] },
      ],
      ['an unknown field', 'POST', '/v1/webhook-endpoints', { url: 'https://crm.example.com/h', events, secret: 'x' }],
      ['no url', 'POST', '/v1/webhook-endpoints', { events }],
      [
        'enabled as text',
        'POST',
        '/v1/webhook-endpoints',
        { url: 'https://crm.example.com/h', events, enabled: 'yes' },
      ],
      ['a bad patch url', 'PATCH', `/v1/webhook-endpoints/${created.id}`, { url: 'http://169.254.169.254/' }],
      ['an empty patch', 'PATCH', `/v1/webhook-endpoints/${created.id}`, {}],
      [
        'a bad rotation',
        'POST',
        `/v1/webhook-endpoints/${created.id}/rotate-secret`,
        { previous_secret_expires_in_s: -1 },
      ],
      ['a bad id', 'GET', '/v1/webhook-endpoints/not-a-uuid', undefined],
      ['a bad state filter', 'GET', '/v1/webhook-deliveries?state=lost', undefined],
    ];
    for (const [what, method, url, payload] of bad) {
      const response = await api(t.auth, method, url, payload);
      expect(response.status, what).toBe(400);
      expect(typeof response.body.error, what).toBe('string');
    }
    expect(await snapshotRows(database.db)).toEqual(before);

    const patched = await api(t.auth, 'PATCH', `/v1/webhook-endpoints/${created.id}`, {
      events: ['call.started', 'call.completed'],
      enabled: false,
      description: null,
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({
      events: ['call.started', 'call.completed'],
      enabled: false,
      description: null,
    });
    expect(JSON.stringify(patched.body)).not.toContain(created.secret);

    // At most 20 per account.
    for (let i = 1; i < 20; i++) {
      expect(
        (await api(t.auth, 'POST', '/v1/webhook-endpoints', { url: `https://crm${i}.example.com/h`, events })).status,
      ).toBe(201);
    }
    expect(
      (await api(t.auth, 'POST', '/v1/webhook-endpoints', { url: 'https://crm.example.com/h', events })).status,
    ).toBe(409);

    expect((await api(t.auth, 'DELETE', `/v1/webhook-endpoints/${created.id}`)).status).toBe(204);
    expect((await api(t.auth, 'DELETE', `/v1/webhook-endpoints/${created.id}`)).status).toBe(404);
  });

  it('rotate the secret: both sign during the overlap, the new one alone after it', async () => {
    const t = await tenant('Rotation Dental');
    const first = await endpoint(t.auth, '/rotate', ['call.started'], [200]);
    const rotated = await api(t.auth, 'POST', `/v1/webhook-endpoints/${first.id}/rotate-secret`);
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).toMatch(/^whsec_/);
    expect(rotated.body.secret).not.toBe(first.secret);
    expect(rotated.body.previous_secret_expires_at).toBe(new Date(clock.now().getTime() + 86_400_000).toISOString());
    secrets.set('/rotate', rotated.body.secret);

    const signatures = async () => {
      const before = requestsTo('/rotate').length;
      await ringAfterVisit(t.auth, t.siteKey, t.numbers);
      const [r] = await waitFor('a delivery', () =>
        requestsTo('/rotate').length > before ? requestsTo('/rotate').slice(before) : undefined,
      );
      expect(r?.checkError).toBeUndefined();
      return String(r?.headers['ringpool-signature'])
        .split(',')
        .filter((f) => f.startsWith('v1='));
    };
    // The receiver checked with the new secret; the old one still matches the second v1.
    expect(await signatures()).toHaveLength(2);
    clock.advance(86_400 + 1);
    expect(await signatures()).toHaveLength(1);

    const abrupt = await api(t.auth, 'POST', `/v1/webhook-endpoints/${first.id}/rotate-secret`, {
      previous_secret_expires_in_s: 0,
    });
    expect(abrupt.status).toBe(200);
    expect(abrupt.body.previous_secret_expires_at).toBeNull();
    secrets.set('/rotate', abrupt.body.secret);
    expect(await signatures()).toHaveLength(1);
  });
});

describe('tenant isolation', () => {
  it('another account’s endpoints and deliveries answer 404, and its calls never reach them', async () => {
    const a = await tenant('Isolation A');
    const b = await tenant('Isolation B');
    const hookA = await endpoint(a.auth, '/iso-a', ['call.started'], [200]);
    const hookB = await endpoint(b.auth, '/iso-b', ['call.started'], [200]);
    await ringAfterVisit(a.auth, a.siteKey, a.numbers);
    await ringAfterVisit(b.auth, b.siteKey, b.numbers);
    const [deliveryA] = await waitFor('A delivered', async () => {
      const rows = await deliveries(a.auth);
      return rows.length === 1 && rows[0]?.state === 'delivered' ? rows : undefined;
    });
    await waitFor('B delivered', async () => ((await deliveries(b.auth))[0]?.state === 'delivered' ? true : undefined));
    expect(requestsTo('/iso-a')).toHaveLength(1);
    expect(requestsTo('/iso-b')).toHaveLength(1);
    expect(requestsTo('/iso-a')[0]?.event?.id).not.toBe(requestsTo('/iso-b')[0]?.event?.id);

    const before = await snapshotRows(database.db);
    const id = hookA.id;
    for (const [method, url, payload] of [
      ['GET', `/v1/webhook-endpoints/${id}`, undefined],
      ['PATCH', `/v1/webhook-endpoints/${id}`, { enabled: false }],
      ['DELETE', `/v1/webhook-endpoints/${id}`, undefined],
      ['POST', `/v1/webhook-endpoints/${id}/rotate-secret`, {}],
      ['GET', `/v1/webhook-deliveries?endpoint_id=${id}`, undefined],
      ['GET', `/v1/webhook-deliveries/${deliveryA?.id}`, undefined],
      ['POST', `/v1/webhook-deliveries/${deliveryA?.id}/replay`, undefined],
    ] as const) {
      const response = await api(b.auth, method, url, payload);
      expect(response.status, `${method} ${url}`).toBe(404);
      expect(JSON.stringify(response.body)).not.toContain(a.account.id);
    }
    expect(await snapshotRows(database.db)).toEqual(before);
    expect(
      (await api(b.auth, 'GET', '/v1/webhook-endpoints')).body.webhook_endpoints.map((e: { id: string }) => e.id),
    ).toEqual([hookB.id]);
    expect((await deliveries(b.auth)).map((d) => d.endpoint_id)).toEqual([hookB.id]);
    expect(await deliveries(b.auth, `&event_id=${deliveryA?.event_id}`)).toEqual([]);
  });
});

describe('retries and replay', () => {
  it('retries for at least 24 hours on the backoff schedule, then marks the delivery failed', async () => {
    const t = await tenant('Down Dental');
    const hook = await endpoint(t.auth, '/down', ['call.started'], [503]);
    const start = clock.now().getTime();
    await ringAfterVisit(t.auth, t.siteKey, t.numbers);
    let delivery = (await attempted(t.auth, hook.id, 1, 1))[0];
    while (delivery?.state === 'pending') {
      // Straight to the next attempt's time: the attempts land exactly on the schedule.
      clock.current = new Date(delivery.next_attempt_at ?? 0);
      delivery = (await attempted(t.auth, hook.id, 1, delivery.attempts + 1))[0];
    }
    expect(delivery).toMatchObject({ state: 'failed', last_status_code: 503, next_attempt_at: null });
    const detail = await api(t.auth, 'GET', `/v1/webhook-deliveries/${delivery?.id}`);
    const log = detail.body.attempt_log as { at: string; status_code: number; succeeded: boolean }[];
    expect(log.length).toBeGreaterThanOrEqual(17);
    expect(log.every((x) => x.status_code === 503 && !x.succeeded)).toBe(true);
    const times = log.map((x) => new Date(x.at).getTime() - start);
    expect(times[0]).toBe(0);
    expect(times.at(-1)).toBeGreaterThanOrEqual(24 * 3_600_000);
    expect(times.at(-2)).toBeLessThan(24 * 3_600_000);
    const waits = times.slice(1).map((at, i) => at - (times[i] ?? 0));
    expect(waits[0]).toBeGreaterThanOrEqual(24_000);
    expect(waits[0]).toBeLessThanOrEqual(36_000);
    expect(Math.max(...waits)).toBeLessThanOrEqual(2.4 * 3_600_000);
    expect(requestsTo('/down')).toHaveLength(log.length);

    // Failed is final: a week later nothing more is sent...
    clock.advance(7 * 86_400);
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    expect(requestsTo('/down')).toHaveLength(log.length);

    // ...until it is replayed: the same event, a fresh schedule, one success.
    scripts.set('/down', [200]);
    const replayed = await api(t.auth, 'POST', `/v1/webhook-deliveries/${delivery?.id}/replay`);
    expect(replayed.status).toBe(202);
    expect(replayed.body).toMatchObject({ state: 'pending', attempts: 0, next_attempt_at: clock.now().toISOString() });
    await waitFor('the replay delivered', async () =>
      (await deliveries(t.auth))[0]?.state === 'delivered' ? true : undefined,
    );
    const sent = requestsTo('/down');
    expect(sent).toHaveLength(log.length + 1);
    expect(new Set(sent.map((r) => r.event?.id)).size).toBe(1);
    expect(sent.at(-1)?.status).toBe(200);
    const after = await api(t.auth, 'GET', `/v1/webhook-deliveries/${delivery?.id}`);
    expect(after.body.attempt_log).toHaveLength(log.length + 1);
    expect(after.body.attempt_log.filter((x: { succeeded: boolean }) => x.succeeded)).toHaveLength(1);

    // A disabled endpoint's deliveries are not replayed.
    expect((await api(t.auth, 'PATCH', `/v1/webhook-endpoints/${hook.id}`, { enabled: false })).status).toBe(200);
    const refused = await api(t.auth, 'POST', `/v1/webhook-deliveries/${delivery?.id}/replay`);
    expect(refused.status).toBe(409);
    expect(refused.body.error).toBe('endpoint_disabled');
  });
});

describe('the outbox', () => {
  it('writes events only for real changes: a repeated report adds none, an ending sends call.completed once', async () => {
    const t = await tenant('Outbox Dental');
    const hook = await endpoint(t.auth, '/outbox', ['call.started', 'call.attributed', 'call.completed'], [200]);
    const report = { tracking_number: t.numbers[0], caller: '+14155550999', provider_call_id: 'pbx-repeated' };
    const first = await api(t.auth, 'POST', '/v1/calls', report);
    expect(first.status).toBe(201);
    expect((await api(t.auth, 'POST', '/v1/calls', report)).status).toBe(200);
    const callId = first.body.call.id as string;
    // No answer: an ending too. A later duration report and a repeated status change nothing.
    await api(t.auth, 'PATCH', `/v1/calls/${callId}`, { status: 'no-answer' });
    await api(t.auth, 'PATCH', `/v1/calls/${callId}`, { status: 'no-answer' });
    await api(t.auth, 'PATCH', `/v1/calls/${callId}`, { status: 'completed', duration_s: 3 });
    const events = await database.db
      .selectFrom('webhook_events')
      .select(['type', 'body'])
      .where('call_id', '=', callId)
      .orderBy('type')
      .execute();
    expect(events.map((e) => e.type)).toEqual(['call.attributed', 'call.completed', 'call.started']);
    expect(JSON.parse(events[1]?.body ?? '{}').data.call).toMatchObject({ status: 'no-answer', qualified: false });
    await waitFor('delivered', async () => {
      const rows = await deliveries(t.auth);
      return rows.length === 3 && rows.every((d) => d.state === 'delivered') ? true : undefined;
    });

    // Removing the endpoint removes its queue and log.
    expect((await api(t.auth, 'DELETE', `/v1/webhook-endpoints/${hook.id}`)).status).toBe(204);
    expect(await deliveries(t.auth)).toEqual([]);
    // With no endpoint, a call writes no event at all.
    const quiet = await api(t.auth, 'POST', '/v1/calls', { ...report, provider_call_id: 'pbx-quiet' });
    expect(quiet.status).toBe(201);
    const none = await database.db
      .selectFrom('webhook_events')
      .select('id')
      .where('call_id', '=', quiet.body.call.id)
      .execute();
    expect(none).toEqual([]);
  });
});

describe('replay', () => {
  it('refuses a delivery that is being attempted right now, while the API keeps answering', async () => {
    const t = await tenant('Slow Dental');
    await endpoint(t.auth, '/slow', ['call.started'], [200]);
    let open: () => void = () => {};
    slowGate = new Promise((resolve) => {
      open = resolve;
    });
    try {
      await ringAfterVisit(t.auth, t.siteKey, t.numbers);
      await waitFor('the delivery in flight', () => requestsTo('/slow').length === 1);
      // The worker holds no transaction while it waits for the receiver (PGlite has one connection).
      const [inFlight] = await deliveries(t.auth);
      expect(inFlight).toMatchObject({ state: 'pending', attempts: 0 });
      const busy = await api(t.auth, 'POST', `/v1/webhook-deliveries/${inFlight?.id}/replay`);
      expect(busy.status).toBe(409);
      expect(busy.body.error).toBe('in_flight');
    } finally {
      open();
    }
    await waitFor('delivered', async () => ((await deliveries(t.auth))[0]?.state === 'delivered' ? true : undefined));
    const [done] = await deliveries(t.auth);
    const replayed = await api(t.auth, 'POST', `/v1/webhook-deliveries/${done?.id}/replay`);
    expect(replayed.status).toBe(202);
    await waitFor('delivered again', async () => {
      const [row] = await deliveries(t.auth);
      return row?.state === 'delivered' && requestsTo('/slow').length === 2 ? true : undefined;
    });
    expect(new Set(requestsTo('/slow').map((r) => r.event?.id)).size).toBe(1);
  });
});
