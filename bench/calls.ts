/**
 * Calls benchmark (docs/BENCHMARKS.md, "Calls"): `node --import tsx bench/calls.ts`.
 *
 * 1. Attribution cost against history: two fresh PostgreSQL databases, one with 10,000 past leases and one with
 *    1,000,000 (sessions and leases made by generate_series, then VACUUM ANALYZE), the same tracking numbers in
 *    both. In this process, alternating between the two in blocks: applyCallEvent for a call.started (what a
 *    webhook's write does: number, candidate leases, first call of the caller, attribution, insert) and the
 *    candidate query alone; median and p99 of each, the ratio large/small (budget ≤ 1.3), and EXPLAIN ANALYZE of
 *    the lookups.
 * 2. Webhook latency: the real service (a child process) on the 1,000,000-lease database, open-loop load of
 *    signed Twilio voice webhooks (each a new call, to numbers with an active lease) at a fixed rate, latency from
 *    each request's scheduled moment; side by side, GET /healthz at the same rate over the same connections (the
 *    service's floor: HTTP, routing, the event loop on this machine) and the same webhooks while the database is
 *    away (a second service process behind a TCP proxy that is cut: every event goes to the fsync'd spool), then
 *    how long the spool takes to drain when the database is back.
 *
 * Prints markdown, and writes it with the raw figures to bench/results/calls-<date>.{md,json}.
 *
 * Settings (environment):
 *   BENCH_DATABASE_URL   server to create the bench databases on (postgres://postgres@127.0.0.1:5432/postgres)
 *   BENCH_RATE           webhooks per second (200); BENCH_CONNECTIONS keep-alive connections (32)
 *   BENCH_DURATION_S     measured seconds per load series (15), after BENCH_WARMUP_S (3)
 *   BENCH_HISTORY        the two history sizes in leases (10000,1000000)
 *   BENCH_NUMBERS        tracking numbers the history is spread over (500, in sites of 10)
 *   BENCH_REPETITIONS    attributions timed per history size and measure (2000)
 *   BENCH_ONLY           any of attribution,webhook,outage (all)
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type CompiledQuery, Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { CallEvent } from '../packages/attribution-api/src/calls/events.ts';
import type { FormPair } from '../packages/attribution-api/src/calls/providers/form.ts';
import { twilioSignature } from '../packages/attribution-api/src/calls/providers/twilio.ts';
import { firstCallOf, leaseCandidates } from '../packages/attribution-api/src/calls/repository.ts';
import { applyCallEvent } from '../packages/attribution-api/src/calls/service.ts';
import { migrateToLatest } from '../packages/attribution-api/src/db/migrate.ts';
import type { Database } from '../packages/attribution-api/src/db/schema.ts';
import { CuttableProxy } from '../packages/attribution-api/test/support/tcp-proxy.ts';
import { cleanups, integer, machineInfo, percentile, runBench, writeResults } from './lib/harness.ts';
import {
  type OpenLoopRequestsResult,
  type PlannedRequest,
  plannedCount,
  runOpenLoopRequests,
} from './lib/open-loop.ts';
import { type CpuUse, cpuSnapshot, cpuUse, freePort, ROOT, type Service, startService } from './lib/proc.ts';

// ---- settings ----

const settings = {
  adminUrl: process.env.BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres',
  rate: Math.max(1, integer('BENCH_RATE', 200)),
  connections: Math.max(1, integer('BENCH_CONNECTIONS', 32)),
  durationS: Math.max(4, integer('BENCH_DURATION_S', 15)),
  warmupS: integer('BENCH_WARMUP_S', 3),
  history: (process.env.BENCH_HISTORY || '10000,1000000').split(',').map((h) => Number(h.trim())),
  numbers: Math.max(10, integer('BENCH_NUMBERS', 500)),
  repetitions: Math.max(100, integer('BENCH_REPETITIONS', 2000)),
  parts: new Set((process.env.BENCH_ONLY || 'attribution,webhook,outage').split(',').map((p) => p.trim())),
};
const NUMBERS_PER_SITE = 10;
if (settings.history.length !== 2 || settings.history.some((h) => !Number.isInteger(h) || h < settings.numbers)) {
  throw new Error('BENCH_HISTORY: two sizes, each at least BENCH_NUMBERS, e.g. 10000,1000000');
}
if (settings.history.some((h) => h % settings.numbers) || settings.numbers % NUMBERS_PER_SITE) {
  throw new Error(`history sizes must be multiples of BENCH_NUMBERS, itself a multiple of ${NUMBERS_PER_SITE}`);
}
const [SMALL = 0, LARGE = 0] = settings.history;
const SERVER = join(ROOT, 'packages/attribution-api/src/server.ts');
const ADMIN_KEY = `bench-${randomBytes(16).toString('hex')}`;
const BUSINESS_NUMBER = '+12015550100';
/** Callers drawn from this many numbers: some calls are repeat calls, as in life. */
const CALLERS = 5000;

const log = (message: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);

// ---- small helpers ----

function summary(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    n: sorted.length,
    p50: percentile(sorted, 0.5),
    p90: percentile(sorted, 0.9),
    p99: percentile(sorted, 0.99),
  };
}
type Summary = ReturnType<typeof summary>;

const ms = (v: number) => (Number.isFinite(v) ? (v < 10 ? `${v.toFixed(2)} ms` : `${v.toFixed(1)} ms`) : 'n/a');
const random = (n: number) => Math.floor(Math.random() * n);
const e164Of = (n: number) => `+1202${3000000 + n}`;
const callerOf = (n: number) => `+1415${2000000 + n}`;
const callSid = () => `CA${randomBytes(16).toString('hex')}`;

// ---- the bench databases: the same numbers, two sizes of history ----

interface BenchDatabase {
  name: string;
  url: string;
  history: number;
  accountId: string;
}

async function createDatabase(server: pg.Client, history: number): Promise<BenchDatabase> {
  const name = `ringpool_bench_calls_${history}_${randomBytes(4).toString('hex')}`;
  await server.query(`CREATE DATABASE ${name}`);
  cleanups.push(() => server.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  const url = new URL(settings.adminUrl);
  url.pathname = `/${name}`;
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: `${url}` }) }),
  });
  try {
    await migrateToLatest(db);
  } finally {
    await db.destroy();
  }
  const client = new pg.Client({ connectionString: `${url}` });
  await client.connect();
  try {
    const started = performance.now();
    const accountId = await seed(client, history);
    log(
      `${name}: ${history} past leases on ${settings.numbers} numbers in ${Math.round(performance.now() - started)} ms`,
    );
    return { name, url: `${url}`, history, accountId };
  } finally {
    await client.end();
  }
}

/**
 * Sites of 10 numbers; each number's leases back to back, one an hour, the newest started 15 minutes ago and
 * still active (so a call now is attributed with high confidence); each lease with its session, every tenth
 * session with a tap on the number. Ids are md5-derived, so sessions and leases can be made in two statements.
 */
async function seed(client: pg.Client, history: number): Promise<string> {
  const accountId = (
    await client.query<{ id: string }>(`INSERT INTO accounts (name) VALUES ('bench calls') RETURNING id`)
  ).rows[0]?.id;
  if (!accountId) throw new Error('no account');
  const sites = settings.numbers / NUMBERS_PER_SITE;
  const perNumber = history / settings.numbers;
  const q = (text: string, values: unknown[]) => client.query(text, values);
  await q(
    `INSERT INTO sites (id, account_id, public_key, name, allowed_origins, swap_targets, default_country, time_zone)
     SELECT md5('site' || s)::uuid, $1, 'bench-calls-' || s, 'bench calls ' || s, ARRAY['https://bench.example'], ARRAY[$2], 'US', 'UTC'
     FROM generate_series(0, $3::int - 1) AS s`,
    [accountId, BUSINESS_NUMBER, sites],
  );
  await q(
    `INSERT INTO pools (id, account_id, site_id, name, swap_target)
     SELECT md5('pool' || s)::uuid, $1, md5('site' || s)::uuid, 'bench pool', $2 FROM generate_series(0, $3::int - 1) AS s`,
    [accountId, BUSINESS_NUMBER, sites],
  );
  await q(
    `INSERT INTO tracking_numbers (id, account_id, site_id, pool_id, e164, swap_target, forward_to, available_at)
     SELECT md5('number' || n)::uuid, $1, md5('site' || (n / ${NUMBERS_PER_SITE}))::uuid, md5('pool' || (n / ${NUMBERS_PER_SITE}))::uuid,
            '+1202' || (3000000 + n), $2, $2, now() + interval '30 minutes'
     FROM generate_series(0, $3::int - 1) AS n`,
    [accountId, BUSINESS_NUMBER, settings.numbers],
  );
  // Visit g holds number g % numbers, the (g / numbers)-th of that number's leases, oldest first; $1 … $3 are
  // the history size, the count of numbers and the leases per number.
  const visits = `FROM generate_series(0, $1::int - 1) AS g,
       LATERAL (SELECT g % $2::int AS n, now() - ($3::int - g / $2::int) * interval '1 hour' + interval '45 minutes' AS t) AS x`;
  const shape = [history, settings.numbers, perNumber];
  await q(
    `INSERT INTO sessions (id, account_id, site_id, visitor_id, created_at, last_seen_at, landing_url, source, medium,
                           utm_source, utm_medium, utm_campaign, gclid, device_type, browser, os, ip_hash, pages)
     SELECT md5('session' || g)::uuid, $4, md5('site' || (x.n / ${NUMBERS_PER_SITE}))::uuid, 'visitor-' || g, x.t, x.t + interval '5 minutes',
            'https://bench.example/?utm_source=google&utm_campaign=c' || (g % 20), 'google', 'cpc', 'google', 'cpc', 'c' || (g % 20),
            'gclid-' || g, 'desktop', 'Chrome', 'macOS', 'bench', ARRAY['https://bench.example/']
     ${visits}`,
    [...shape, accountId],
  );
  await q(
    `INSERT INTO leases (tracking_number_id, session_id, pool_id, ip_hash, started_at, last_seen_at, expires_at, cooldown_s, released_at)
     SELECT md5('number' || x.n)::uuid, md5('session' || g)::uuid, md5('pool' || (x.n / ${NUMBERS_PER_SITE}))::uuid, 'bench',
            x.t, x.t + interval '5 minutes', x.t + interval '30 minutes', 900,
            CASE WHEN g / $2::int = $3::int - 1 THEN NULL ELSE x.t + interval '45 minutes' END
     ${visits}`,
    shape,
  );
  await q(
    `INSERT INTO call_intents (session_id, site_id, tracking_number, at)
     SELECT md5('session' || g)::uuid, md5('site' || (x.n / ${NUMBERS_PER_SITE}))::uuid, '+1202' || (3000000 + x.n), x.t + interval '2 minutes'
     ${visits} WHERE g % 10 = 0`,
    shape,
  );
  await client.query('VACUUM (ANALYZE)');
  return accountId;
}

// ---- 1. attribution cost: 10,000 vs 1,000,000 past leases ----

interface AttributionSide {
  history: number;
  apply: Summary;
  candidates: Summary;
  confidence: Record<string, number>;
}

/** A Kysely of its own per database, one connection, that keeps the last statements it ran (for EXPLAIN). */
function openMeasured(url: string) {
  const seen: CompiledQuery[] = [];
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 1 }) }),
    log: (event) => {
      if (event.level === 'query') seen.push(event.query);
    },
  });
  return { db, seen };
}

function callStarted(bench: BenchDatabase): CallEvent {
  return {
    type: 'call.started',
    accountId: bench.accountId,
    provider: 'twilio',
    callId: callSid(),
    to: e164Of(random(settings.numbers)),
    from: callerOf(random(CALLERS)),
    forwardedTo: BUSINESS_NUMBER,
    at: new Date().toISOString(),
  };
}

async function benchAttribution(small: BenchDatabase, large: BenchDatabase) {
  const sides = [small, large].map((bench) => ({ bench, ...openMeasured(bench.url) }));
  cleanups.push(() => Promise.all(sides.map((side) => side.db.destroy())));
  const numberIds = new Map<string, string>();
  for (let n = 0; n < settings.numbers; n++) {
    const row = await sides[0]?.db
      .selectFrom('tracking_numbers')
      .select('id')
      .where('e164', '=', e164Of(n))
      .executeTakeFirstOrThrow();
    if (row) numberIds.set(e164Of(n), row.id);
  }
  const times = sides.map(() => ({ apply: [] as number[], candidates: [] as number[] }));
  const confidence = sides.map(() => ({}) as Record<string, number>);

  const once = async (i: number, warm: boolean) => {
    const side = sides[i];
    const timing = times[i];
    if (!side || !timing) return;
    const event = callStarted(side.bench);
    let started = performance.now();
    await applyCallEvent(side.db, event, new Date());
    const applied = performance.now() - started;
    const to = event.type === 'call.started' ? event.to : '';
    started = performance.now();
    await leaseCandidates(side.db, numberIds.get(to) ?? '', to, new Date());
    const looked = performance.now() - started;
    if (warm) return;
    timing.apply.push(applied);
    timing.candidates.push(looked);
  };
  // Warm both (caches, plans), then alternate blocks so that the machine's other load falls on both alike.
  for (let k = 0; k < 200; k++) for (const i of [0, 1]) await once(i, true);
  const block = 50;
  for (let done = 0; done < settings.repetitions; done += block) {
    for (const i of done % (2 * block) === 0 ? [0, 1] : [1, 0]) {
      for (let k = 0; k < block; k++) await once(i, false);
    }
  }
  for (const [i, side] of sides.entries()) {
    const rows = await side.db
      .selectFrom('calls')
      .select(['confidence', (eb) => eb.fn.countAll<string>().as('n')])
      .groupBy('confidence')
      .execute();
    for (const row of rows) (confidence[i] as Record<string, number>)[row.confidence] = Number(row.n);
  }
  const results: AttributionSide[] = sides.map((side, i) => ({
    history: side.bench.history,
    apply: summary(times[i]?.apply ?? []),
    candidates: summary(times[i]?.candidates ?? []),
    confidence: confidence[i] ?? {},
  }));
  const explain = await explainLookups(large, sides[1]?.db, sides[1]?.seen ?? [], numberIds);
  return { sides: results, explain };
}

/** EXPLAIN (ANALYZE, BUFFERS) of each statement a call's attribution reads with, on the large history. */
async function explainLookups(
  bench: BenchDatabase,
  db: Kysely<Database> | undefined,
  seen: CompiledQuery[],
  numberIds: Map<string, string>,
) {
  if (!db) return [];
  const to = e164Of(7);
  const at = new Date();
  seen.length = 0;
  await leaseCandidates(db, numberIds.get(to) ?? '', to, at);
  const site = await db
    .selectFrom('tracking_numbers')
    .select('site_id')
    .where('e164', '=', to)
    .executeTakeFirstOrThrow();
  seen.length = 0;
  await leaseCandidates(db, numberIds.get(to) ?? '', to, at);
  await firstCallOf(db, site.site_id, callerOf(7), at);
  const statements = [...seen];
  const client = new pg.Client({ connectionString: bench.url });
  await client.connect();
  try {
    const plans: { name: string; plan: string; indexes: string[]; seqScans: string[] }[] = [];
    for (const [i, query] of statements.entries()) {
      const { rows } = await client.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${query.sql}`,
        [...query.parameters],
      );
      const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
      plans.push({
        name: i === 0 ? 'candidate leases (leaseCandidates)' : "the caller's first call (firstCallOf)",
        plan,
        indexes: [
          ...new Set([...plan.matchAll(/Index (?:Only )?Scan (?:Backward )?using (\w+)/g)].map((m) => m[1] ?? '')),
        ],
        seqScans: [...plan.matchAll(/Seq Scan on (\w+)/g)].map((m) => m[1] ?? ''),
      });
    }
    return plans;
  } finally {
    await client.end();
  }
}

// ---- 2. webhook latency on the large history ----

interface Telephony {
  accountSid: string;
  authToken: string;
}

async function connectTwilio(bench: BenchDatabase): Promise<Telephony> {
  const telephony = { accountSid: `AC${randomBytes(16).toString('hex')}`, authToken: randomBytes(16).toString('hex') };
  const client = new pg.Client({ connectionString: bench.url });
  await client.connect();
  try {
    await client.query(
      `INSERT INTO telephony_accounts (account_id, provider, provider_account, secret) VALUES ($1, 'twilio', $2, $3)`,
      [bench.accountId, telephony.accountSid, telephony.authToken],
    );
  } finally {
    await client.end();
  }
  return telephony;
}

async function startBenchService(databaseUrl: string, stateDir: string, logLevel = 'warn'): Promise<Service> {
  const service = await startService(
    [process.execPath, '--import', 'tsx', SERVER],
    {
      DATABASE_URL: databaseUrl,
      STATE_DIR: stateDir,
      ADMIN_API_KEY: ADMIN_KEY,
      LOG_LEVEL: logLevel,
      SESSION_RATE_LIMIT: '1000000',
    },
    { port: await freePort(), timeoutMs: 120_000 },
  );
  cleanups.push(() => service.stop());
  return service;
}

/** A Twilio voice webhook for a new call to one of the bench numbers, signed for this service's URL. */
function voiceWebhook(service: Service, telephony: Telephony, sids: string[]): PlannedRequest {
  const sid = callSid();
  sids.push(sid);
  const path = '/v1/telephony/twilio/voice';
  const params: FormPair[] = [
    ['AccountSid', telephony.accountSid],
    ['ApiVersion', '2010-04-01'],
    ['CallSid', sid],
    ['CallStatus', 'ringing'],
    ['Direction', 'inbound'],
    ['From', callerOf(random(CALLERS))],
    ['To', e164Of(random(settings.numbers))],
  ];
  return {
    method: 'POST',
    path,
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded',
      'X-Twilio-Signature': twilioSignature(telephony.authToken, `${service.base}${path}`, params),
    },
    body: new URLSearchParams(params.map(([k, v]) => [k, v])).toString(),
  };
}

const forwards = (status: number, body: string) =>
  status === 200 && body.includes(`<Number>${BUSINESS_NUMBER}</Number></Dial>`);

interface Series {
  name: string;
  result: OpenLoopRequestsResult;
  /** fsync of one appended line in the spool's directory, just before the series: how busy the disk was. */
  fsyncMs: { p50: number; p99: number };
  /** PostgreSQL checkpoints (timed or requested, by anyone on the server) during the series. */
  checkpoints: number;
  /** The bench database's backends busy in a statement, sampled every 250 ms: mean, max, and what they waited on. */
  sessions: { meanActive: number; maxActive: number; waits: Record<string, number> };
  cpu: CpuUse;
  /** The machine's 1-minute load average as the series ended: its other work (2 cores). */
  load: number;
}

async function measure(
  name: string,
  service: Service,
  stateDir: string,
  database: string,
  request: (i: number) => PlannedRequest,
  accept: (status: number, body: string) => boolean,
): Promise<Series> {
  const options = {
    rate: settings.rate,
    connections: settings.connections,
    durationS: settings.durationS,
    warmupS: settings.warmupS,
  };
  // Made before the clock starts, so signing is not in the measured loop.
  const requests = Array.from({ length: plannedCount(options) }, (_, i) => request(i));
  const fsyncMs = fsyncProbe(stateDir);
  const checkpointsBefore = await checkpoints();
  const before = { snapshot: cpuSnapshot() };
  const cpuTimer = sleep(settings.warmupS * 1000).then(() => {
    before.snapshot = cpuSnapshot();
  });
  const sampling = sampleSessions(database);
  const result = await runOpenLoopRequests(service.base, (i) => requests[i] ?? requests[0] ?? request(i), {
    ...options,
    accept,
    slowMs: 1_000,
  });
  const sessions = await sampling.stop();
  await cpuTimer;
  const cpu = cpuUse(before.snapshot, cpuSnapshot(), { servicePid: service.pid, loadPid: undefined, database });
  log(
    `${name}: ${result.achieved.toFixed(0)}/s answered, p50 ${ms(result.latencyMs.p50)}, p99 ${ms(result.latencyMs.p99)}, ` +
      `max ${ms(result.latencyMs.max)}, ${result.errors} errors, service CPU ${cpu.service.toFixed(2)}`,
  );
  return {
    name,
    result,
    sessions,
    fsyncMs,
    checkpoints: (await checkpoints()) - checkpointsBefore,
    cpu,
    load: Math.round((loadavg()[0] ?? 0) * 10) / 10,
  };
}

async function countCalls(
  url: string,
  sids: string[],
): Promise<{ total: number; byConfidence: Record<string, number> }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ confidence: string; n: number }>(
      'SELECT confidence, count(*)::int AS n FROM calls WHERE provider_call_id = ANY($1) GROUP BY confidence',
      [sids],
    );
    const byConfidence = Object.fromEntries(rows.map((r) => [r.confidence, r.n]));
    return { total: rows.reduce((sum, r) => sum + r.n, 0), byConfidence };
  } finally {
    await client.end();
  }
}

async function benchWebhooks(large: BenchDatabase, workDir: string) {
  const telephony = await connectTwilio(large);
  const series: Series[] = [];
  let stored: Awaited<ReturnType<typeof countCalls>> | undefined;
  let sent = 0;
  if (settings.parts.has('webhook')) {
    const stateDir = join(workDir, 'state-a');
    const service = await startBenchService(large.url, stateDir);
    log(`service ready on ${service.base} in ${Math.round(service.readyMs)} ms`);
    const sids: string[] = [];
    const probe = voiceWebhook(service, telephony, sids);
    const answer = await fetch(`${service.base}${probe.path}`, {
      method: 'POST',
      headers: probe.headers,
      body: probe.body,
    });
    const text = await answer.text();
    if (!forwards(answer.status, text)) throw new Error(`the probe call was not forwarded: ${answer.status} ${text}`);
    series.push(
      await measure(
        'voice webhook',
        service,
        stateDir,
        large.name,
        () => voiceWebhook(service, telephony, sids),
        forwards,
      ),
    );
    const healthz: PlannedRequest = { method: 'GET', path: '/healthz', headers: {} };
    series.push(
      await measure(
        'GET /healthz (baseline)',
        service,
        stateDir,
        large.name,
        () => healthz,
        (s) => s === 200,
      ),
    );
    // A write slower than the webhook waits goes through the spool, replayed within 5 s.
    for (const deadline = performance.now() + 15_000; performance.now() < deadline; await sleep(500)) {
      stored = await countCalls(large.url, sids);
      if (stored.total >= sids.length) break;
    }
    sent = sids.length;
    await service.stop();
  }
  let outage: Awaited<ReturnType<typeof benchOutage>> | undefined;
  if (settings.parts.has('outage')) outage = await benchOutage(large, telephony, workDir);
  return { series, sent, stored, outage };
}

/**
 * The same webhooks while the database is away: two services behind one TCP proxy, cut while they are idle (so
 * no query is in flight), one at LOG_LEVEL=warn as deployed (each spooled event logs a warning with its error)
 * and one at LOG_LEVEL=error (the spool alone); then the proxy restored and the first one's drain timed.
 */
async function benchOutage(large: BenchDatabase, telephony: Telephony, workDir: string) {
  const target = new URL(large.url);
  const proxy = new CuttableProxy({ host: target.hostname, port: Number(target.port || 5432) });
  await proxy.open();
  cleanups.push(() => proxy.cut());
  const viaProxy = new URL(large.url);
  viaProxy.hostname = '127.0.0.1';
  viaProxy.port = String(proxy.port);
  const dirs = { logged: join(workDir, 'state-warn'), quiet: join(workDir, 'state-error') };
  const logged = await startBenchService(`${viaProxy}`, dirs.logged, 'warn');
  const quiet = await startBenchService(`${viaProxy}`, dirs.quiet, 'error');
  const sids: string[] = [];
  await sleep(1_000);
  await proxy.cut();
  const series: Series[] = [];
  for (const [service, dir, name] of [
    [logged, dirs.logged, 'voice webhook, database away (spool; LOG_LEVEL=warn)'],
    [quiet, dirs.quiet, 'voice webhook, database away (spool; LOG_LEVEL=error)'],
  ] as const) {
    const own = service === logged ? sids : [];
    const webhook = () => voiceWebhook(service, telephony, own);
    series.push(await measure(name, service, dir, large.name, webhook, forwards));
    if (!alive(service.pid)) throw new Error(`the service died while the database was away:\n${service.output()}`);
  }
  await quiet.stop();
  const spooled = readdirLines(join(dirs.logged, 'spool'));
  await proxy.open();
  const restored = performance.now();
  let stored = 0;
  while (performance.now() - restored < 120_000) {
    stored = (await countCalls(large.url, sids)).total;
    if (stored >= sids.length) break;
    await sleep(200);
  }
  const drainS = (performance.now() - restored) / 1000;
  log(`spool: ${spooled} events, drained into the database in ${drainS.toFixed(1)} s (${stored}/${sids.length} calls)`);
  await logged.stop();
  await proxy.cut();
  return { series, spooled, drainS, stored, sent: sids.length };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Times 50 appends of a line, each fsync'd, as the spool makes them: the disk's state before a series. */
function fsyncProbe(dir: string): { p50: number; p99: number } {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'fsync-probe');
  const fd = openSync(file, 'a');
  const times: number[] = [];
  try {
    for (let i = 0; i < 50; i++) {
      const started = performance.now();
      writeSync(fd, '{"probe":true}\n');
      fsyncSync(fd);
      times.push(performance.now() - started);
    }
  } finally {
    closeSync(fd);
    rmSync(file, { force: true });
  }
  const s = summary(times);
  return { p50: s.p50, p99: s.p99 };
}

/** Samples pg_stat_activity for one database until stopped (its own connection, not counted). */
function sampleSessions(database: string) {
  let stopping = false;
  const counts: number[] = [];
  const waits: Record<string, number> = {};
  const done = (async () => {
    const client = new pg.Client({ connectionString: settings.adminUrl });
    await client.connect();
    try {
      while (!stopping) {
        const { rows } = await client.query<{ wait: string | null }>(
          `SELECT coalesce(wait_event_type || ':' || wait_event, 'cpu') AS wait FROM pg_stat_activity
           WHERE datname = $1 AND state = 'active' AND pid <> pg_backend_pid()`,
          [database],
        );
        counts.push(rows.length);
        for (const row of rows) waits[row.wait ?? 'cpu'] = (waits[row.wait ?? 'cpu'] ?? 0) + 1;
        await sleep(250);
      }
    } finally {
      await client.end();
    }
  })();
  return {
    async stop() {
      stopping = true;
      await done;
      const total = counts.reduce((a, b) => a + b, 0);
      return { meanActive: counts.length ? total / counts.length : 0, maxActive: Math.max(0, ...counts), waits };
    },
  };
}

let serverClient: pg.Client | undefined;
async function checkpoints(): Promise<number> {
  const row = await serverClient?.query<{ n: number }>(
    'SELECT (checkpoints_timed + checkpoints_req)::int AS n FROM pg_stat_bgwriter',
  );
  return row?.rows[0]?.n ?? 0;
}

/** Events in a spool directory (lines of its segments). */
function readdirLines(dir: string): number {
  let lines = 0;
  for (const name of readdirSafe(dir)) {
    if (!/\.(open|ndjson)/.test(name) || name === 'poison.ndjson') continue;
    lines += readFileSync(join(dir, name), 'utf8').split('\n').filter(Boolean).length;
  }
  return lines;
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

// ---- report ----

type Results = {
  date: string;
  command: string;
  settings: Omit<typeof settings, 'parts'> & { parts: string[] };
  machine: Awaited<ReturnType<typeof machineInfo>>;
  attribution: Awaited<ReturnType<typeof benchAttribution>> | undefined;
  webhooks: Awaited<ReturnType<typeof benchWebhooks>> | undefined;
};

export const ATTRIBUTION_BUDGET = 1.3;

const thousands = (n: number) => n.toLocaleString('en-US');

function renderMarkdown(r: Results): string {
  const m = r.machine;
  const lines = [
    '## Calls',
    '',
    `\`${r.command}\` on ${r.date.slice(0, 16).replace('T', ' ')} UTC, commit ${m.commit}` +
      (m.uncommitted.length ? ` with uncommitted changes to ${m.uncommitted.length} files of the service` : '') +
      `; ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, shared with other work (load average ${m.loadAverageAtStart.join(', ')} at start); ` +
      `Node ${m.node}; ${(m.postgres ?? 'unknown').split(' on ')[0]} (shared_buffers ${m.pgSettings.shared_buffers ?? '?'}, ` +
      `synchronous_commit ${m.pgSettings.synchronous_commit ?? '?'}).`,
  ];
  const a = r.attribution;
  if (a) {
    const [small, large] = a.sides;
    if (small && large) {
      const ratio = (f: (s: AttributionSide) => number) => f(large) / f(small);
      const applyRatio = ratio((s) => s.apply.p50);
      const candidatesRatio = ratio((s) => s.candidates.p50);
      const met = applyRatio <= ATTRIBUTION_BUDGET && candidatesRatio <= ATTRIBUTION_BUDGET;
      lines.push(
        '',
        `### Attributing one call, against ${thousands(small.history)} and ${thousands(large.history)} past leases`,
        '',
        `${thousands(settings.numbers)} tracking numbers in sites of ${NUMBERS_PER_SITE}, each with its leases back to back (one an hour, the newest active), ` +
          'each lease with its session and every tenth session with a tap on the number; generated with `generate_series`, then `VACUUM ANALYZE`. ' +
          `In the bench process, one connection per database, alternating between the two in blocks of 50: ${thousands(a.sides[0]?.apply.n ?? 0)} calls each, ` +
          'to a random number from a random one of 5,000 callers, after 200 warm-up calls.',
        '',
        '| past leases | `applyCallEvent` (call.started) p50 | p99 | candidate query p50 | p99 |',
        '| ---: | ---: | ---: | ---: | ---: |',
        ...[small, large].map(
          (s) =>
            `| ${thousands(s.history)} | ${ms(s.apply.p50)} | ${ms(s.apply.p99)} | ${ms(s.candidates.p50)} | ${ms(s.candidates.p99)} |`,
        ),
        `| ratio | ${applyRatio.toFixed(2)} | ${ratio((s) => s.apply.p99).toFixed(2)} | ${candidatesRatio.toFixed(2)} | ${ratio((s) => s.candidates.p99).toFixed(2)} |`,
        '',
        `Budget: median ratio ≤ ${ATTRIBUTION_BUDGET}: **${met ? 'MET' : 'MISSED'}** (applyCallEvent ${applyRatio.toFixed(2)}, candidate query ${candidatesRatio.toFixed(2)}). ` +
          '`applyCallEvent` is the whole write of a new call: the number, the candidate leases, the caller’s first call, ' +
          'the attribution, the insert and its webhook outbox rows, in a transaction.',
      );
      for (const plan of a.explain) {
        lines.push(
          '',
          `EXPLAIN ANALYZE, ${plan.name}, ${thousands(large.history)} past leases: index scans on ${plan.indexes.join(', ') || 'none'}` +
            (plan.seqScans.length ? `; sequential scans on ${plan.seqScans.join(', ')}` : '; no sequential scan') +
            '.',
          '',
          '```text',
          plan.plan,
          '```',
        );
      }
    }
  }
  const w = r.webhooks;
  if (w) {
    const series = [...w.series, ...(w.outage?.series ?? [])];
    lines.push(
      '',
      `### Twilio voice webhooks at ${settings.rate} calls/s`,
      '',
      `The service as a child process on the ${thousands(settings.history[1] ?? 0)}-lease database (its own pool of 10 connections, LOG_LEVEL=warn). ` +
        `Open loop: a request every ${(1000 / settings.rate).toFixed(0)} ms over ${settings.connections} keep-alive connections, ` +
        `latency from each request’s scheduled moment, ${settings.durationS} s measured after ${settings.warmupS} s of warm-up. ` +
        'Each webhook is a new call (its own CallSid and signature) to a random bench number from a random caller; ' +
        'it is answered once the call is written, attributed, or spooled after 1 s. ' +
        'Baseline: `GET /healthz` at the same rate over the same connections, which shows the floor on this machine ' +
        '(HTTP, routing, the event loop) so the difference is the webhook’s own work (form, signature, the write). ' +
        'Database away: two more service processes whose connections go through a TCP proxy, cut while they are idle: ' +
        'each write fails at once and the event is fsync’d to the spool; one at LOG_LEVEL=warn as deployed (a warning ' +
        'with the error for every spooled event), one at LOG_LEVEL=error (the spool alone).',
      '',
      '| series | answered/s | p50 | p90 | p99 | max | ≥ 1 s | errors | service CPU | PostgreSQL CPU | machine CPU | load avg | fsync p50 / p99 | checkpoints |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...series.map(
        (s) =>
          `| ${s.name} | ${s.result.achieved.toFixed(0)} | ${ms(s.result.latencyMs.p50)} | ${ms(s.result.latencyMs.p90)} | ` +
          `${ms(s.result.latencyMs.p99)} | ${ms(s.result.latencyMs.max)} | ${s.result.slow} | ${s.result.errors} | ` +
          `${s.cpu.service.toFixed(2)} | ${s.cpu.postgres.toFixed(2)} | ${s.cpu.machine.toFixed(2)} | ${s.load.toFixed(1)} | ` +
          `${ms(s.fsyncMs.p50)} / ${ms(s.fsyncMs.p99)} | ${s.checkpoints} |`,
      ),
      '',
      ...series.map((s) => {
        const waits = Object.entries(s.sessions.waits)
          .sort((x, y) => y[1] - x[1])
          .slice(0, 3)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ');
        return `- ${s.name}: ${s.sessions.meanActive.toFixed(1)} database sessions busy on average (max ${s.sessions.maxActive}; samples by wait: ${waits || 'none'}).`;
      }),
      '',
      'CPU in cores (1.00 = one core busy, 2.00 = the whole machine) over the measured seconds; the load generator ' +
        'runs in the bench process; ≥ 1 s: answers at least 1 s after their scheduled moment (the service spools a write ' +
        'it has waited 1 s for); load avg: the 1-minute load average as the series ended (other work on the machine); ' +
        'fsync: an appended line fsync’d in the spool’s folder, 50 times just before the series; checkpoints: ' +
        'PostgreSQL checkpoints during the series (the server is shared; each DROP DATABASE forces one).',
    );
    if (w.stored) {
      const by = Object.entries(w.stored.byConfidence)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ');
      lines.push('', `Calls written: ${w.stored.total} of ${w.sent} sent (confidence: ${by}).`);
    }
    if (w.outage) {
      lines.push(
        '',
        `Database away: ${w.outage.spooled} events in the spool; after the database came back, all ${w.outage.stored} of ` +
          `${w.outage.sent} calls were in it ${w.outage.drainS.toFixed(1)} s later (replay runs every 5 s).`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

// ---- main ----

async function main() {
  const started = new Date();
  const overrides = Object.entries(process.env)
    .filter(([k]) => k.startsWith('BENCH_'))
    .map(([k, v]) => `${k}=${v}`);
  const command = [...overrides, 'node --import tsx bench/calls.ts'].join(' ');
  const server = new pg.Client({ connectionString: settings.adminUrl });
  await server.connect();
  cleanups.push(() => server.end());
  serverClient = server;
  const machine = await machineInfo(server, ['shared_buffers', 'synchronous_commit', 'fsync', 'max_connections']);
  log(`${command}: ${machine.cpus} CPUs, load average ${machine.loadAverageAtStart.join(', ')}`);
  const workDir = mkdtempSync(join(tmpdir(), 'ringpool-bench-calls-'));
  cleanups.push(async () => rmSync(workDir, { recursive: true, force: true }));

  const needsSmall = settings.parts.has('attribution');
  const small = needsSmall ? await createDatabase(server, SMALL) : undefined;
  const large = await createDatabase(server, LARGE);
  const attribution = small ? await benchAttribution(small, large) : undefined;
  if (attribution) {
    for (const side of attribution.sides) {
      log(
        `${thousands(side.history)} leases: apply p50 ${ms(side.apply.p50)} p99 ${ms(side.apply.p99)}, ` +
          `candidates p50 ${ms(side.candidates.p50)} p99 ${ms(side.candidates.p99)}`,
      );
    }
  }
  const webhooks =
    settings.parts.has('webhook') || settings.parts.has('outage') ? await benchWebhooks(large, workDir) : undefined;

  const results: Results = {
    date: started.toISOString(),
    command,
    settings: { ...settings, parts: [...settings.parts] },
    machine,
    attribution,
    webhooks,
  };
  const markdown = renderMarkdown(results);
  process.stdout.write(`\n${markdown}`);
  log(`results in ${writeResults('calls-', started, results, markdown)}.{md,json}`);
}

await runBench(main);
