import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import { type Kysely, sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FormPair } from '../../src/calls/providers/form.ts';
import { twilioSignature } from '../../src/calls/providers/twilio.ts';
import { CallSpool } from '../../src/calls/spool.ts';
import type { Database } from '../../src/db/schema.ts';
import { DEMO_BUSINESS_NUMBER, DEMO_POOL } from '../../src/demo/bootstrap.ts';
import { buildTestApp, call, makeAccount, makeSiteWithPool } from '../support/app.ts';
import { createTestDatabase, type TestDatabase, testDatabaseKind } from '../support/database.ts';
import { ServiceProcess } from '../support/service-process.ts';
import { CuttableProxy } from '../support/tcp-proxy.ts';

const PUBLIC_BASE = 'https://ringpool.example';
/** Far below Twilio's 15 s webhook timeout, and below how long the database stays away. */
const ANSWER_BOUND_MS = 1_500;

// ---- Twilio, as the carrier would call us ----

interface PlannedCall {
  sid: string;
  to: string;
  from: string;
  durationS: number;
}

function planCalls(count: number, numbers: string[], offset = 0): PlannedCall[] {
  return Array.from({ length: count }, (_, i) => ({
    sid: `CA${randomBytes(16).toString('hex')}`,
    to: numbers[(offset + i) % numbers.length] ?? '',
    from: `+1415555${String(1000 + offset + i).slice(-4)}`,
    durationS: 30 + offset + i,
  }));
}

const voiceParams = (accountSid: string, c: PlannedCall): FormPair[] => [
  ['AccountSid', accountSid],
  ['ApiVersion', '2010-04-01'],
  ['CallSid', c.sid],
  ['CallStatus', 'ringing'],
  ['Direction', 'inbound'],
  ['From', c.from],
  ['To', c.to],
];

const statusParams = (accountSid: string, c: PlannedCall): FormPair[] => [
  ['AccountSid', accountSid],
  ['CallDuration', String(c.durationS)],
  ['CallSid', c.sid],
  ['CallStatus', 'completed'],
  ['From', c.from],
  ['To', c.to],
];

const formBody = (params: FormPair[]) => new URLSearchParams(params.map(([k, v]) => [k, v])).toString();

/** The number a TwiML answer forwards to, if it is a <Dial> of one. */
function forwardedTo(twiml: string): string | undefined {
  return /<Response><Dial\b[^>]*><Number\b[^>]*>(\+[1-9]\d{1,14})<\/Number><\/Dial><\/Response>$/.exec(twiml)?.[1];
}

interface Answer {
  sid: string;
  kind: 'voice' | 'status';
  status: number;
  body: string;
  ms: number;
}

/**
 * Each call's voice webhook then its status callback, `concurrency` calls at a time; `afterAnswer` runs after
 * each answer (with how many there are so far) while the other calls are in flight.
 */
async function ring(
  calls: PlannedCall[],
  concurrency: number,
  send: (kind: 'voice' | 'status', c: PlannedCall) => Promise<{ status: number; body: string }>,
  afterAnswer?: (answered: number) => Promise<void>,
): Promise<Answer[]> {
  const answers: Answer[] = [];
  let next = 0;
  const worker = async () => {
    for (let c = calls[next++]; c; c = calls[next++]) {
      for (const kind of ['voice', 'status'] as const) {
        const started = performance.now();
        const { status, body } = await send(kind, c);
        answers.push({ sid: c.sid, kind, status, body, ms: performance.now() - started });
        await afterAnswer?.(answers.length);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return answers;
}

/** Every voice webhook forwarded to its number's forward-to, every webhook answered 200 in time. */
function expectAnswered(answers: Answer[], calls: PlannedCall[], forwardOf: Map<string, string>) {
  expect(answers).toHaveLength(calls.length * 2);
  const slow = answers.filter((a) => a.status !== 200 || a.ms > ANSWER_BOUND_MS);
  expect(slow, 'webhooks not answered 200 within the bound').toEqual([]);
  const voice = new Map(answers.filter((a) => a.kind === 'voice').map((a) => [a.sid, forwardedTo(a.body)]));
  expect(voice).toEqual(new Map(calls.map((c) => [c.sid, forwardOf.get(c.to)])));
}

// ---- 1. In process, both databases: the calls table locked mid-run ----

/** A transaction holding ACCESS EXCLUSIVE on calls: on PostgreSQL call writes wait; on PGlite, everything does. */
async function lockCalls(db: Kysely<Database>): Promise<{ release: () => Promise<void> }> {
  let release = () => {};
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let locked = () => {};
  const held = new Promise<void>((resolve) => {
    locked = resolve;
  });
  const transaction = db.transaction().execute(async (trx) => {
    await sql`LOCK TABLE calls IN ACCESS EXCLUSIVE MODE`.execute(trx);
    locked();
    await released;
  });
  await Promise.race([held, transaction]);
  return {
    release: async () => {
      release();
      await transaction;
    },
  };
}

describe('calls while the database is slower than a webhook can wait', () => {
  let database: TestDatabase;
  let app: FastifyInstance;
  let spoolDir: string;
  let spool: CallSpool;
  let accountSid: string;
  let authToken: string;
  let e164s: string[];
  let forwardOf: Map<string, string>;

  beforeAll(async () => {
    database = await createTestDatabase();
    spoolDir = mkdtempSync(path.join(tmpdir(), 'ringpool-outage-spool-'));
    spool = new CallSpool({ dir: spoolDir });
    app = await buildTestApp(database.db, { callSpool: spool, publicBaseUrl: PUBLIC_BASE, callWriteTimeoutMs: 200 });

    const { auth } = await makeAccount(database.db, 'Outage dental');
    const { numbers } = await makeSiteWithPool(app, auth, { size: 4 });
    e164s = numbers.map((n) => n.e164);
    accountSid = `AC${randomBytes(16).toString('hex')}`;
    authToken = randomBytes(16).toString('hex');
    const connected = await call(app, auth, {
      method: 'POST',
      url: '/v1/telephony-accounts',
      payload: { provider: 'twilio', provider_account: accountSid, secret: authToken },
    });
    if (connected.status !== 201) throw new Error(`telephony account: ${JSON.stringify(connected.body)}`);
    // As the periodic refresh would: the directory now knows the new numbers without the database.
    await app.telephonyDirectory.refresh();
    const rows = await database.db.selectFrom('tracking_numbers').select(['e164', 'forward_to']).execute();
    forwardOf = new Map(rows.map((r) => [r.e164, r.forward_to]));
  });

  afterAll(async () => {
    await app?.close();
    spool?.close();
    await database?.close();
    if (spoolDir) rmSync(spoolDir, { recursive: true, force: true });
  });

  const send = async (kind: 'voice' | 'status', c: PlannedCall) => {
    const params = kind === 'voice' ? voiceParams(accountSid, c) : statusParams(accountSid, c);
    const url = `/v1/telephony/twilio/${kind}`;
    const response = await app.inject({
      method: 'POST',
      url,
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': twilioSignature(authToken, `${PUBLIC_BASE}${url}`, params),
      },
      payload: formBody(params),
    });
    return { status: response.statusCode, body: response.body };
  };

  /** Replays the spool until it is empty; nothing may have been set aside as poison. */
  const replayAll = async () => {
    for (let pass = 0; pass < 5 && spool.pendingCount() > 0; pass++) await app.callRecorder.replay();
    expect(spool.pendingCount()).toBe(0);
    expect(existsSync(path.join(spoolDir, 'poison.ndjson')), 'an event was set aside as poison').toBe(false);
  };

  /** Each call in the database once, as it ended. */
  const expectStored = async (calls: PlannedCall[]) => {
    const sids = calls.map((c) => c.sid);
    const stored = await database.db
      .selectFrom('calls')
      .select(['provider_call_id', 'tracking_number', 'caller', 'forwarded_to', 'status', 'duration_s'])
      .where('provider_call_id', 'in', sids)
      .execute();
    const expected = calls.map((c) => ({
      provider_call_id: c.sid,
      tracking_number: c.to,
      caller: c.from,
      forwarded_to: forwardOf.get(c.to),
      status: 'completed',
      duration_s: c.durationS,
    }));
    const bySid = (a: { provider_call_id: string }, b: { provider_call_id: string }) =>
      a.provider_call_id.localeCompare(b.provider_call_id);
    expect(stored.sort(bySid)).toEqual(expected.sort(bySid));
  };

  it('forwards every call, spools what the database cannot take in time, and replays each call once', async () => {
    const before = planCalls(10, e164s);
    const during = planCalls(20, e164s, 10);
    const after = planCalls(10, e164s, 30);

    const answers = await ring(before, 2, send);
    expect(spool.pendingCount()).toBe(0);
    const lock = await lockCalls(database.db);
    try {
      answers.push(...(await ring(during, 4, send)));
      // Still locked: nothing of these calls can have reached the database, so all of it is on disk.
      expect(spool.pendingCount()).toBe(during.length * 2);
    } finally {
      await lock.release();
    }
    // Right after: the writes the lock held back are still landing while these calls come in.
    answers.push(...(await ring(after, 2, send)));
    const all = [...before, ...during, ...after];
    expectAnswered(answers, all, forwardOf);

    await replayAll();
    await expectStored(all);
  });

  it('keeps a status that arrives while its call is still being written', async () => {
    // After a timeout the start's write goes on in the background, and the call's end can overtake it.
    const calls = planCalls(40, e164s, 100);
    // The end a few milliseconds after the start, a little later each call: some land while the start is mid-write.
    const answers = [];
    for (const [i, c] of calls.entries()) {
      answers.push(await Promise.all([send('voice', c), sleep(i % 10).then(() => send('status', c))]));
    }
    expect(answers.flat().map((a) => a.status)).toEqual(calls.flatMap(() => [200, 200]));

    await replayAll();
    await expectStored(calls);
    const sids = calls.map((c) => c.sid);
    const waiting = await database.db
      .selectFrom('call_orphan_events')
      .select('provider_call_id')
      .where('provider_call_id', 'in', sids)
      .execute();
    expect(waiting, 'updates still waiting for a call that exists').toEqual([]);
  });
});

// ---- 2. PostgreSQL only: the real service, its database connection cut ----

const postgresUrl = testDatabaseKind() === 'postgres' ? process.env.TEST_DATABASE_URL : undefined;

type StoredCall = { provider_call_id: string; status: string; duration_s: number | null };

describe.skipIf(!postgresUrl)(
  'a real outage (PostgreSQL only: set TEST_DATABASE_URL, project integration-postgres)',
  () => {
    const name = `ringpool_outage_${randomBytes(6).toString('hex')}`;
    const adminKey = `outage-${randomBytes(16).toString('hex')}`;
    const forwardOf = new Map(DEMO_POOL.map((n) => [n, DEMO_BUSINESS_NUMBER]));
    let stateDir: string;
    let proxy: CuttableProxy;
    let service: ServiceProcess;
    let demo: { accountSid: string; authToken: string };
    const cutMidRun: PlannedCall[] = [];

    const postgres = (database = '') => {
      const url = new URL(postgresUrl ?? '');
      if (database) url.pathname = `/${database}`;
      return new pg.Client({ connectionString: url.toString() });
    };

    beforeAll(async () => {
      const admin = postgres();
      await admin.connect();
      await admin.query(`CREATE DATABASE ${name}`);
      await admin.end();
      const target = new URL(postgresUrl ?? '');
      proxy = new CuttableProxy({ host: target.hostname, port: Number(target.port || 5432) });
      await proxy.open();
      const viaProxy = new URL(target);
      viaProxy.hostname = '127.0.0.1';
      viaProxy.port = String(proxy.port);
      viaProxy.pathname = `/${name}`;
      stateDir = mkdtempSync(path.join(tmpdir(), 'ringpool-outage-state-'));
      service = new ServiceProcess({
        DATABASE_URL: viaProxy.toString(),
        STATE_DIR: stateDir,
        DATA_DIR: path.join(stateDir, 'unused-pglite'),
        PORT: '0',
        HOST: '127.0.0.1',
        ADMIN_API_KEY: adminKey,
        LOG_LEVEL: 'warn',
        PUBLIC_BASE_URL: '',
      });
      await service.start(15_000);
      demo = service.demo();
    }, 18_000);

    afterAll(async () => {
      await service?.kill('SIGKILL');
      await proxy?.cut();
      const admin = postgres();
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
      if (stateDir) rmSync(stateDir, { recursive: true, force: true });
    });

    const send = async (kind: 'voice' | 'status', c: PlannedCall) => {
      const params = kind === 'voice' ? voiceParams(demo.accountSid, c) : statusParams(demo.accountSid, c);
      // No PUBLIC_BASE_URL: the service checks the signature against the URL it was called at.
      const url = `${service.base}/v1/telephony/twilio/${kind}`;
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'x-twilio-signature': twilioSignature(demo.authToken, url, params),
        },
        body: formBody(params),
        signal: AbortSignal.timeout(10_000),
      }).catch(async (err: Error) => {
        await sleep(200);
        throw new Error(
          `${kind} webhook: ${err.message} (service ${service.alive ? 'up' : 'dead'}):\n${service.output}`,
        );
      });
      return { status: response.status, body: await response.text() };
    };

    /** Polls the calls API until every call is there and completed (the spool drained), or the time is up. */
    const drained = async (calls: PlannedCall[], timeoutMs: number): Promise<StoredCall[]> => {
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        const response = await fetch(`${service.base}/v1/calls?limit=500`, {
          headers: { authorization: `Bearer ${adminKey}` },
          signal: AbortSignal.timeout(5_000),
        }).catch(() => undefined);
        const rows = response?.status === 200 ? ((await response.json()) as { calls: StoredCall[] }).calls : [];
        const done = new Set(rows.filter((r) => r.status === 'completed').map((r) => r.provider_call_id));
        if (calls.every((c) => done.has(c.sid)) || performance.now() > deadline) return rows;
        await sleep(250);
      }
    };

    const expectStoredOnce = (rows: StoredCall[], calls: PlannedCall[]) => {
      const summary = rows.map((r) => [r.provider_call_id, r.status, r.duration_s]);
      expect(summary.sort()).toEqual(calls.map((c) => [c.sid, 'completed', c.durationS]).sort());
    };

    const spooled = () => readdirSync(path.join(stateDir, 'spool')).filter((f) => /\.(open|ndjson)/.test(f));

    it('forwards every call while the connection is cut mid-run, and writes each once when it is back', async () => {
      const calls = planCalls(20, DEMO_POOL);
      // Cut with webhooks in flight: their queries die with the connection.
      const answers = await ring(calls, 4, send, async (answered) => {
        if (answered === 16) await proxy.cut();
      });
      expect(service.alive, `the service died:\n${service.output}`).toBe(true);
      expect(spooled().length, 'nothing was spooled while the database was away').toBeGreaterThan(0);
      expectAnswered(answers, calls, forwardOf);

      await proxy.open();
      expectStoredOnce(await drained(calls, 10_000), calls);
      cutMidRun.push(...calls);
    }, 15_000);

    it('keeps what a service killed (SIGKILL) during the outage had spooled, and writes it after a restart', async () => {
      await proxy.cut();
      const orphaned = planCalls(8, DEMO_POOL, 20);
      expectAnswered(await ring(orphaned, 4, send), orphaned, forwardOf);
      await service.kill('SIGKILL');
      expect(spooled().length, 'the killed service left nothing in the spool').toBeGreaterThan(0);

      // The service cannot start without its database: it comes back once the database has.
      await proxy.open();
      await service.start(15_000);
      const all = [...cutMidRun, ...orphaned];
      expectStoredOnce(await drained(all, 10_000), all);
      expect(spooled()).toEqual([]);

      // Exactly once, as the database itself says (not through the proxy).
      const direct = postgres(name);
      await direct.connect();
      try {
        const { rows } = await direct.query<{ provider_call_id: string; n: number }>(
          'SELECT provider_call_id, count(*)::int AS n FROM calls GROUP BY provider_call_id',
        );
        expect(rows.map((r) => [r.provider_call_id, r.n]).sort()).toEqual(all.map((c) => [c.sid, 1]).sort());
      } finally {
        await direct.end();
      }
    }, 27_000);
  },
);
