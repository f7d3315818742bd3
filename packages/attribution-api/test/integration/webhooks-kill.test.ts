import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { FormPair } from '../../src/calls/providers/form.ts';
import { twilioSignature } from '../../src/calls/providers/twilio.ts';
import { DEMO_POOL } from '../../src/demo/bootstrap.ts';
import { testDatabaseKind } from '../support/database.ts';
import { ServiceProcess } from '../support/service-process.ts';
import { Receiver, waitFor } from './webhooks-receiver.ts';

const postgresUrl = testDatabaseKind() === 'postgres' ? process.env.TEST_DATABASE_URL : undefined;

interface Delivery {
  id: string;
  event_id: string;
  event_type: string;
  state: string;
  attempts: number;
}

/** Talks to a running service as the operator (ADMIN_API_KEY). */
function client(service: ServiceProcess, adminKey: string) {
  const request = async (method: string, url: string, body?: unknown) => {
    const response = await fetch(`${service.base}${url}`, {
      method,
      headers: {
        authorization: `Bearer ${adminKey}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const form = (params: FormPair[]) => new URLSearchParams(params.map(([k, v]) => [k, v])).toString();
  let calls = 0;
  return {
    request,
    /** A Twilio call to a demo number: its voice webhook, then its end. Three events each. */
    async ring(): Promise<void> {
      const { accountSid, authToken } = service.demo();
      const sid = `CA${randomBytes(16).toString('hex')}`;
      const n = calls++;
      const common: FormPair[] = [
        ['AccountSid', accountSid],
        ['CallSid', sid],
        ['From', `+1415555${String(2000 + n)}`],
        ['To', DEMO_POOL[n % DEMO_POOL.length] ?? ''],
        ['Direction', 'inbound'],
      ];
      for (const [kind, extra] of [
        ['voice', [['CallStatus', 'ringing']]],
        [
          'status',
          [
            ['CallStatus', 'completed'],
            ['CallDuration', String(60 + n)],
          ],
        ],
      ] as const) {
        const params: FormPair[] = [...common, ...extra];
        const url = `${service.base}/v1/telephony/twilio/${kind}`;
        const response = await fetch(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            'x-twilio-signature': twilioSignature(authToken, url, params),
          },
          body: form(params),
          signal: AbortSignal.timeout(10_000),
        });
        expect(response.status, await response.text()).toBe(200);
      }
    },
    async deliveries(): Promise<Delivery[]> {
      const listed = await request('GET', '/v1/webhook-deliveries?limit=500');
      expect(listed.status).toBe(200);
      return listed.body.webhook_deliveries as Delivery[];
    },
  };
}

/** Every event delivered: one logged success each, as the service's own delivery log says. */
async function expectOneSuccessPerEvent(api: ReturnType<typeof client>, events: number) {
  const rows = await api.deliveries();
  expect(rows).toHaveLength(events);
  expect(new Set(rows.map((d) => d.event_id)).size).toBe(events);
  for (const d of rows) {
    expect(d.state).toBe('delivered');
    const detail = await api.request('GET', `/v1/webhook-deliveries/${d.id}`);
    const log = detail.body.attempt_log as { succeeded: boolean; status_code: number }[];
    expect(
      log.filter((x) => x.succeeded),
      `attempts of ${d.event_type} ${d.event_id}`,
    ).toHaveLength(1);
  }
  return rows;
}

/** A fresh database for the service: a PGlite folder, or a new PostgreSQL database. */
async function freshDatabase(dir: string): Promise<{ env: Record<string, string>; drop: () => Promise<void> }> {
  if (!postgresUrl) return { env: { DATA_DIR: path.join(dir, 'pglite') }, drop: async () => {} };
  const name = `ringpool_webhooks_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: postgresUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(postgresUrl);
  url.pathname = `/${name}`;
  return {
    env: { DATABASE_URL: url.toString(), DATA_DIR: path.join(dir, 'unused-pglite') },
    drop: async () => {
      const dropper = new pg.Client({ connectionString: postgresUrl });
      await dropper.connect();
      await dropper.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await dropper.end();
    },
  };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setUp(processes: number) {
  const dir = mkdtempSync(path.join(tmpdir(), 'ringpool-webhooks-kill-'));
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  const database = await freshDatabase(dir);
  cleanups.push(database.drop);
  const adminKey = `webhooks-${randomBytes(16).toString('hex')}`;
  const services = Array.from(
    { length: processes },
    (_, i) =>
      new ServiceProcess({
        ...database.env,
        STATE_DIR: path.join(dir, `state-${i}`),
        PORT: '0',
        HOST: '127.0.0.1',
        ADMIN_API_KEY: adminKey,
        LOG_LEVEL: 'warn',
        PUBLIC_BASE_URL: '',
      }),
  );
  for (const service of services) cleanups.push(() => service.kill('SIGKILL'));
  return { services, adminKey };
}

describe('the webhook queue when the service dies', () => {
  it('delivers every event after a kill -9 mid-delivery, with exactly one logged success per event', async () => {
    const started = performance.now();
    const { services, adminKey } = await setUp(1);
    const [service] = services as [ServiceProcess];
    let secret = '';
    let victimArrived: () => void = () => {};
    const victim = new Promise<void>((resolve) => {
      victimArrived = resolve;
    });
    const VICTIM = 2;
    const receiver = await Receiver.start({
      secret: () => secret,
      respond: async (_request, n, aborted) => {
        if (n === VICTIM) {
          // Holds the answer: the service is killed while it waits for it.
          victimArrived();
          await aborted;
          return 200;
        }
        await sleep(100);
        return 200;
      },
    });
    cleanups.push(() => receiver.close());

    await service.start();
    const api = client(service, adminKey);
    const created = await api.request('POST', '/v1/webhook-endpoints', {
      url: receiver.url('/hook'),
      events: ['call.started', 'call.attributed', 'call.completed'],
    });
    expect(created.status).toBe(201);
    secret = String(created.body.secret);

    for (let i = 0; i < 3; i++) await api.ring();
    await Promise.race([
      victim,
      sleep(15_000).then(() => {
        throw new Error(`no delivery reached the receiver:\n${service.output}`);
      }),
    ]);
    await service.kill('SIGKILL');
    const killed = receiver.requests[VICTIM];
    expect(killed?.status, 'the held delivery was answered before the kill').toBeUndefined();

    // Restarted on the same data: new calls are delivered at once; the killed claim when it expires (30 s).
    await service.start();
    for (let i = 0; i < 2; i++) await api.ring();
    const events = 5 * 3;
    await waitFor(
      'every event delivered',
      async () => {
        const rows = await api.deliveries();
        return rows.length === events && rows.every((d) => d.state === 'delivered') ? rows : undefined;
      },
      45_000,
    );
    const rows = await expectOneSuccessPerEvent(api, events);

    // The receiver: every event passed the documented check and was answered 200 at least once; the killed
    // one came again under the same event id (receivers deduplicate on it).
    expect(receiver.requests.map((r) => r.checkError).filter(Boolean)).toEqual([]);
    const answered = new Set(receiver.requests.filter((r) => r.status === 200).map((r) => r.event?.id));
    expect(answered).toEqual(new Set(rows.map((d) => d.event_id)));
    const again = receiver.requests.filter((r) => r.event?.id === killed?.event?.id);
    expect(again.length).toBeGreaterThanOrEqual(2);
    expect(again.at(-1)?.status).toBe(200);
    expect(performance.now() - started).toBeLessThan(60_000);
  });

  it.skipIf(!postgresUrl)('shares one queue between two service processes: no event is delivered twice', async () => {
    const { services, adminKey } = await setUp(2);
    let secret = '';
    const receiver = await Receiver.start({
      secret: () => secret,
      respond: async () => {
        await sleep(50);
        return 200;
      },
    });
    cleanups.push(() => receiver.close());
    for (const service of services) await service.start();
    const [first, second] = services.map((service) => client(service, adminKey)) as [
      ReturnType<typeof client>,
      ReturnType<typeof client>,
    ];
    const created = await first.request('POST', '/v1/webhook-endpoints', {
      url: receiver.url('/shared'),
      events: ['call.started', 'call.attributed', 'call.completed'],
    });
    expect(created.status).toBe(201);
    secret = String(created.body.secret);
    // Calls reach both processes; both workers poll the same queue.
    await Promise.all([
      (async () => {
        for (let i = 0; i < 6; i++) await first.ring();
      })(),
      (async () => {
        for (let i = 0; i < 6; i++) await second.ring();
      })(),
    ]);
    const events = 12 * 3;
    await waitFor(
      'every event delivered',
      async () => {
        const rows = await first.deliveries();
        return rows.length === events && rows.every((d) => d.state === 'delivered') ? true : undefined;
      },
      30_000,
    );
    await expectOneSuccessPerEvent(second, events);
    expect(receiver.requests.map((r) => r.checkError).filter(Boolean)).toEqual([]);
    const ids = receiver.requests.map((r) => r.event?.id);
    expect(ids).toHaveLength(events);
    expect(new Set(ids).size).toBe(events);
  });
});
