/**
 * Session + lease benchmark (docs/BENCHMARKS.md, "Session + lease"): `npm run bench`.
 *
 * On a fresh PostgreSQL database it runs the real service (a child process on 127.0.0.1) under
 * wrk at each concurrency, alternating with pgbench running the service's two lease statements
 * on the same database, then the service on an embedded PGlite folder, and times `npm start`.
 * Prints a table, writes bench/results/<date>.json and the results block of docs/BENCHMARKS.md
 * (`npm run bench -- --report bench/results/<date>.json` writes them again from a saved run).
 *
 * Each side (service, pgbench) has its own sites, each with a pool; visits go round the sites.
 * Between runs every lease is released, so a pool needs numbers for one run only: the service
 * keeps each site's numbers in memory (src/sessions/site-cache.ts) and its cost per visit grows
 * with the pool's size, so pools far larger than real ones would measure that instead.
 *
 * Settings (environment):
 *   BENCH_DATABASE_URL    server to create the bench database on (postgres://postgres@127.0.0.1:5432/postgres)
 *   BENCH_CLIENTS         concurrency levels (1,16,64)
 *   BENCH_DURATION_S      measured seconds per run (10); BENCH_WARMUP_S before each run (3)
 *   BENCH_SITES           sites per side on PostgreSQL (100); BENCH_POOL_SIZE numbers in each one's pool (600)
 *   BENCH_PGLITE_SITES    sites on PGlite (10); BENCH_PGLITE_POOL_SIZE numbers in each (2000), for all its runs
 *   BENCH_STARTUP_RUNS    `npm start` timings on an existing PGlite folder (5)
 *   BENCH_HISTORY         past sessions (with released leases) seeded on PostgreSQL before measuring (100000)
 *   BENCH_ONLY            any of postgres,pglite,startup (all)
 *   BENCH_WRITE_DOC       0: leave docs/BENCHMARKS.md alone
 *   DATABASE_POOL_SIZE    passed to the service (its default: 10)
 *   BENCH_CPU_PROFILE     a folder: the service under load runs as node --cpu-prof --import tsx, profiles go there
 *   BENCH_SERVICE_ROOT    another copy of the repository whose service to measure (an A/B of a change), with
 *                         node_modules reachable from it (e.g. a symlink to this one's)
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { cleanups, integer, machineInfo, runBench, writeResults } from './lib/harness.ts';
import { type LoadResult, type PgbenchTarget, runPgbench, runWrk, writeWrkScript } from './lib/load.ts';
import { type OpenLoopResult, runOpenLoop } from './lib/open-loop.ts';
import { freePort, ROOT, run, runOk, type Service, startService, which } from './lib/proc.ts';
import { renderMarkdown, renderTable, updateDoc } from './lib/report.ts';

// ---- settings ----

const settings = {
  adminUrl: process.env.BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres',
  clients: (process.env.BENCH_CLIENTS || '1,16,64').split(',').map((c) => Number(c.trim())),
  durationS: integer('BENCH_DURATION_S', 10),
  warmupS: integer('BENCH_WARMUP_S', 3),
  sites: Math.max(1, integer('BENCH_SITES', 100)),
  poolSize: integer('BENCH_POOL_SIZE', 600),
  pgliteSites: Math.max(1, integer('BENCH_PGLITE_SITES', 10)),
  pglitePoolSize: integer('BENCH_PGLITE_POOL_SIZE', 2000),
  startupRuns: integer('BENCH_STARTUP_RUNS', 5),
  history: integer('BENCH_HISTORY', 100_000),
  parts: new Set((process.env.BENCH_ONLY || 'postgres,pglite,startup').split(',').map((p) => p.trim())),
  writeDoc: process.env.BENCH_WRITE_DOC !== '0',
  servicePoolSize: process.env.DATABASE_POOL_SIZE || undefined,
  cpuProfile: process.env.BENCH_CPU_PROFILE ? resolve(process.env.BENCH_CPU_PROFILE) : undefined,
  serviceRoot: resolve(process.env.BENCH_SERVICE_ROOT || ROOT),
};
if (settings.clients.some((c) => !Number.isInteger(c) || c < 1)) throw new Error('BENCH_CLIENTS: e.g. 1,16,64');
if (settings.durationS < 4) throw new Error('BENCH_DURATION_S must be at least 4');

const ORIGIN = 'https://bench.example';
const LANDING = `${ORIGIN}/landing?utm_source=bench&utm_medium=cpc&utm_campaign=lease`;
const USER_AGENT =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36';
const BUSINESS_NUMBER = '+12015550100';
const SERVER = join(settings.serviceRoot, 'packages/attribution-api/src/server.ts');
const ADMIN_KEY = `bench-${randomBytes(16).toString('hex')}`;

function serviceEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = { ADMIN_API_KEY: ADMIN_KEY, SESSION_RATE_LIMIT: '1000000', LOG_LEVEL: 'warn' };
  if (settings.servicePoolSize) env.DATABASE_POOL_SIZE = settings.servicePoolSize;
  return { ...env, ...extra };
}

/** How the bench starts the service under load: as `npx tsx`, or profiled by Node when asked. */
function serviceCommand(): string[] {
  if (!settings.cpuProfile) return ['npx', 'tsx', SERVER];
  mkdirSync(settings.cpuProfile, { recursive: true });
  return [process.execPath, '--cpu-prof', `--cpu-prof-dir=${settings.cpuProfile}`, '--import', 'tsx', SERVER];
}

// ---- helpers ----

const log = (message: string) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);

async function admin<T>(service: Service, method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${service.base}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_KEY}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : null,
    signal: AbortSignal.timeout(120_000),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return JSON.parse(text) as T;
}

interface Site {
  id: string;
  key: string;
  poolId: string;
}

/** Through the admin API: a site that accepts the bench origin, with no per-address lease limit, and a pool. */
async function makeSite(service: Service, name: string): Promise<Site> {
  const site = await admin<{ id: string; public_key: string }>(service, 'POST', '/v1/sites', {
    name,
    allowed_origins: [ORIGIN],
    swap_targets: [BUSINESS_NUMBER],
    default_country: 'US',
  });
  const patched = await admin<{ max_leases_per_ip: number | null }>(service, 'PATCH', `/v1/sites/${site.id}`, {
    max_leases_per_ip: null,
  });
  if (patched.max_leases_per_ip !== null) throw new Error('max_leases_per_ip did not become null');
  const pool = await admin<{ id: string }>(service, 'POST', `/v1/sites/${site.id}/pools`, { name: `${name} pool` });
  return { id: site.id, key: site.public_key, poolId: pool.id };
}

const sessionPath = (site: Site) => `/v1/public/sites/${site.key}/sessions`;
const SESSION_HEADERS = { 'Content-Type': 'text/plain;charset=UTF-8', Origin: ORIGIN, 'User-Agent': USER_AGENT };
const SESSION_BODY = JSON.stringify({ url: LANDING });

/** One visit as a browser makes it; fails unless it was given a pool number. */
async function visit(service: Service, site: Site): Promise<{ session: string }> {
  const response = await fetch(`${service.base}${sessionPath(site)}`, {
    method: 'POST',
    headers: SESSION_HEADERS,
    body: SESSION_BODY,
    signal: AbortSignal.timeout(10_000),
  });
  const body = (await response.json()) as { session: string; swaps: { via: string }[] };
  if (response.status !== 200 || body.swaps[0]?.via !== 'pool') {
    throw new Error(`a visit did not get a pool number: ${response.status} ${JSON.stringify(body)}`);
  }
  return body;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? Number.NaN) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

async function ensureTools(needPgbench: boolean): Promise<void> {
  if (!which('wrk')) {
    if (process.getuid?.() !== 0) throw new Error('wrk is missing: install it (Debian: sudo apt-get install -y wrk)');
    log('installing wrk (apt-get install -y wrk)');
    const install = () => run('apt-get', ['install', '-y', '-q', 'wrk'], { timeoutMs: 300_000 }).done;
    if ((await install()).code !== 0) {
      await run('apt-get', ['update', '-q'], { timeoutMs: 300_000 }).done;
      const again = await install();
      if (again.code !== 0) throw new Error(`apt-get install wrk failed:\n${again.stderr}`);
    }
  }
  if (needPgbench && !which('pgbench')) {
    throw new Error(
      'pgbench is missing: install the PostgreSQL client (Debian: apt-get install -y postgresql-contrib)',
    );
  }
}

async function leaseMachineInfo(client: pg.Client | undefined) {
  const version = async (command: string, args: string[]) => {
    const out = await run(command, args, { timeoutMs: 10_000 }).done.catch(() => undefined);
    return (out?.stdout || out?.stderr || '').split('\n')[0]?.trim() || undefined;
  };
  return {
    ...(await machineInfo(client, ['shared_buffers', 'synchronous_commit', 'fsync', 'autovacuum', 'max_connections'])),
    wrk: await version('wrk', ['-v']),
    pgbench: await version('pgbench', ['--version']),
  };
}

// ---- PostgreSQL: the service and pgbench, side by side ----

/** Sites, pools and numbers of one side, made by SQL with ids pgbench can compute: `uuid(side, n)`. */
const uuidSql = (side: string, n: string) => `('00000000-0000-4000-8${side}-' || lpad((${n})::text, 12, '0'))::uuid`;

async function makeSides(client: pg.Client, account: string): Promise<Record<'service' | 'pgbench', Site[]>> {
  const sides = { service: { code: '001', area: '201' }, pgbench: { code: '002', area: '202' } };
  const made: Record<string, Site[]> = {};
  for (const [side, { code, area }] of Object.entries(sides)) {
    const pool = String(Number(code) + 100);
    await client.query(
      `INSERT INTO sites (id, account_id, public_key, name, allowed_origins, swap_targets, default_country, time_zone, max_leases_per_ip)
       SELECT ${uuidSql(code, 'n')}, $1, 'bench-${side}-' || n, 'bench ${side} ' || n, ARRAY[$2], ARRAY[$3], 'US', 'UTC', NULL
       FROM generate_series(1, $4::int) AS n`,
      [account, ORIGIN, BUSINESS_NUMBER, settings.sites],
    );
    await client.query(
      `INSERT INTO pools (id, account_id, site_id, name, swap_target)
       SELECT ${uuidSql(pool, 'n')}, $1, ${uuidSql(code, 'n')}, 'bench pool', $2 FROM generate_series(1, $3::int) AS n`,
      [account, BUSINESS_NUMBER, settings.sites],
    );
    await client.query(
      `INSERT INTO tracking_numbers (account_id, site_id, pool_id, e164, swap_target, forward_to)
       SELECT $1, ${uuidSql(code, 'n')}, ${uuidSql(pool, 'n')}, '+1${area}' || (2000000 + (n - 1) * $3 + k)::text, $2, $2
       FROM generate_series(1, $4::int) AS n, generate_series(1, $3::int) AS k`,
      [account, BUSINESS_NUMBER, settings.poolSize, settings.sites],
    );
    const { rows } = await client.query<{ id: string; key: string; pool_id: string }>(
      `SELECT s.id, s.public_key AS key, p.id AS pool_id FROM sites s JOIN pools p ON p.site_id = s.id
       WHERE s.public_key LIKE $1 ORDER BY s.created_at, s.id`,
      [`bench-${side}-%`],
    );
    made[side] = rows.map((r) => ({ id: r.id, key: r.key, poolId: r.pool_id }));
  }
  return { service: made.service ?? [], pgbench: made.pgbench ?? [] };
}

/** The statements the service sends for a new session (src/sessions/repository.ts), as a pgbench script. */
function pgbenchScript(sample: Record<string, unknown>): string {
  const lit = (v: unknown) => (v === null ? 'NULL' : `'${String(v).replaceAll("'", "''")}'`);
  const attribution = [
    ...['landing_url', 'referrer', 'source', 'medium'],
    ...['utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content'],
    ...['gclid', 'gbraid', 'wbraid', 'fbclid', 'msclkid', 'ttclid'],
  ];
  // A space after each colon: pgbench would read `:name` as one of its variables (jsonb ignores the space).
  const firstTouch = JSON.stringify(Object.fromEntries(attribution.map((k) => [k, sample[k]]))).replaceAll('":', '": ');
  const device = ['user_agent', 'device_type', 'browser', 'os'];
  const site = uuidSql('002', ':site');
  return `-- Written by bench/lease.ts: the two round trips of POST /v1/public/sites/:key/sessions.
\\set site random(1, ${settings.sites})
\\set visitor random(1, 9000000000000000000)
WITH visitor AS (
  INSERT INTO visitors (site_id, id, first_seen_at, first_touch)
  VALUES (${site}, 'pgbench-' || :visitor, now(), ${lit(firstTouch)})
  ON CONFLICT DO NOTHING
)
INSERT INTO sessions (${attribution.join(', ')}, account_id, site_id, visitor_id, ${device.join(', ')}, is_bot, ip_hash, created_at, last_seen_at, pages)
VALUES (${attribution.map((k) => lit(sample[k])).join(', ')}, :account, ${site}, 'pgbench-' || :visitor, ${device
    .map((k) => lit(sample[k]))
    .join(', ')}, false, ${lit(sample.ip_hash)}, now(), now(), ARRAY[${lit(sample.landing_url)}])
RETURNING id, visitor_id, last_seen_at, is_bot, source \\gset
SELECT * FROM ringpool_hold_numbers(:id, now(), NULL);
`;
}

/**
 * Past visits, as a database in service has: with empty tables the planner picks sequential scans,
 * and PL/pgSQL keeps those plans while the tables grow during a run, so both sides would measure that.
 */
async function seedHistory(client: pg.Client, account: string): Promise<void> {
  await client.query(
    `INSERT INTO sessions (account_id, site_id, visitor_id, created_at, last_seen_at, landing_url, source, medium, device_type, ip_hash, pages)
     SELECT $1, x.sites[1 + n % cardinality(x.sites)], 'history-' || n, now() - interval '2 days', now() - interval '2 days',
            $2, 'bench', 'cpc', 'desktop', 'history', '{}'
     FROM generate_series(1, $3::int) AS n, (SELECT array_agg(id ORDER BY id) AS sites FROM sites WHERE public_key LIKE 'bench-%') AS x`,
    [account, `${ORIGIN}/`, settings.history],
  );
  await client.query(
    `WITH s AS (SELECT id, site_id, row_number() OVER (PARTITION BY site_id ORDER BY id) AS r FROM sessions WHERE ip_hash = 'history'),
          n AS (SELECT id, pool_id, site_id, row_number() OVER (PARTITION BY site_id ORDER BY id) AS k FROM tracking_numbers)
     INSERT INTO leases (tracking_number_id, session_id, pool_id, ip_hash, started_at, last_seen_at, expires_at, cooldown_s, released_at)
     SELECT n.id, s.id, n.pool_id, 'history', now() - interval '2 days', now() - interval '2 days',
            now() - interval '2 days' + interval '30 minutes', 900, now() - interval '2 days' + interval '45 minutes'
     FROM s JOIN n ON n.site_id = s.site_id AND n.k = 1 + (s.r % $1::int)`,
    [settings.poolSize],
  );
  await client.query('VACUUM (ANALYZE)');
}

/**
 * The same starting state for every run: every lease released and every number free again
 * (so a pool only needs numbers for one run), no dead rows to wade through, a fresh checkpoint.
 */
async function settle(client: pg.Client): Promise<void> {
  await client.query('UPDATE leases SET released_at = now() WHERE released_at IS NULL');
  await client.query(`UPDATE tracking_numbers SET available_at = '-infinity' WHERE available_at > '-infinity'`);
  await client.query('VACUUM (ANALYZE) sessions, visitors, leases, tracking_numbers, pool_exhaustions');
  await client.query('CHECKPOINT').catch(() => {}); // needs superuser (or pg_checkpoint); not essential
}

export interface RunCheck {
  sessions: number;
  leases: number;
  exhausted: number;
}

/** What a run left in the database; requests still in flight when the load stopped are let finish first. */
async function check(client: pg.Client, sites: Site[], since: Date): Promise<RunCheck> {
  await sleep(1_000);
  const { rows } = await client.query<{ sessions: string; leases: string; exhausted: string }>(
    `SELECT (SELECT count(*) FROM sessions WHERE site_id = ANY($1::uuid[]) AND created_at >= $3) AS sessions,
            (SELECT count(*) FROM leases WHERE pool_id = ANY($2::uuid[]) AND started_at >= $3) AS leases,
            (SELECT count(*) FROM pool_exhaustions WHERE pool_id = ANY($2::uuid[]) AND at >= $3) AS exhausted`,
    [sites.map((s) => s.id), sites.map((s) => s.poolId), since],
  );
  const row = rows[0];
  return { sessions: Number(row?.sessions), leases: Number(row?.leases), exhausted: Number(row?.exhausted) };
}

export interface PostgresLevel {
  clients: number;
  service: LoadResult & { check: RunCheck };
  pgbench: LoadResult & { check: RunCheck };
  ratio: number;
}

async function benchPostgres(workDir: string, server: pg.Client) {
  const name = `ringpool_bench_${randomBytes(5).toString('hex')}`;
  await server.query(`CREATE DATABASE ${name}`);
  cleanups.push(() => server.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  const url = new URL(settings.adminUrl);
  url.pathname = `/${name}`;
  log(`database ${name} created`);

  const service = await startService(serviceCommand(), serviceEnv({ DATABASE_URL: url.toString() }), {
    port: await freePort(),
    timeoutMs: 120_000,
    cwd: settings.serviceRoot,
  });
  cleanups.push(() => service.stop());
  log(`service ready on ${service.base} in ${Math.round(service.readyMs)} ms (migrated a new database)`);

  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  cleanups.push(() => client.end());
  const account = (await client.query<{ id: string }>('SELECT id FROM accounts WHERE is_operator')).rows[0]?.id;
  if (!account) throw new Error('the service made no operator account');
  const sites = await makeSides(client, account);
  log(`${settings.sites} sites per side, each with a pool of ${settings.poolSize} numbers`);
  await seedHistory(client, account);
  log(`${settings.history} past sessions with released leases, analyzed`);

  // One visit through the service; pgbench then inserts the very same row values.
  const [firstSite] = sites.service;
  if (!firstSite) throw new Error('no site');
  const first = await visit(service, firstSite);
  const sample = (await client.query('SELECT * FROM sessions WHERE id = $1', [first.session])).rows[0];
  const script = join(workDir, 'lease.sql');
  writeFileSync(script, pgbenchScript(sample));
  const target: PgbenchTarget = { url: url.toString(), script, variables: { account }, workDir };
  const pgbenchOnce = ['-n', '-M', 'prepared', '-f', script, '-t', '1', '-D', `account=${account}`, url.toString()];
  const probed = new Date(Date.now() - 1000);
  await runOk('pgbench', pgbenchOnce, { timeoutMs: 30_000, cwd: workDir });
  const compared = await client.query<{ row: unknown }>(
    `SELECT to_jsonb(s) - '{id,site_id,visitor_id,created_at,last_seen_at}'::text[] AS row FROM sessions s
     WHERE s.id = $1 OR s.visitor_id LIKE 'pgbench-%' ORDER BY s.visitor_id LIKE 'pgbench-%'`,
    [first.session],
  );
  const [ours, theirs] = compared.rows.map((r) => JSON.stringify(r.row));
  if (compared.rows.length !== 2 || ours !== theirs) {
    throw new Error(`pgbench's session row differs from the service's:\n${ours}\n${theirs}`);
  }
  if ((await check(client, sites.pgbench, probed)).leases !== 1) {
    throw new Error('the pgbench script did not lease a number');
  }

  const wrkScript = join(workDir, 'session.lua');
  writeWrkScript(wrkScript, { paths: sites.service.map(sessionPath), headers: SESSION_HEADERS, body: SESSION_BODY });
  const wrkUrl = `${service.base}${sessionPath(firstSite)}`;
  const parties = { servicePid: service.pid, database: name };

  const levels: PostgresLevel[] = [];
  for (const [index, clients] of settings.clients.entries()) {
    // Alternate who goes first, so neither side always meets the machine right after the other.
    const order = index % 2 === 0 ? (['service', 'pgbench'] as const) : (['pgbench', 'service'] as const);
    const level: Partial<PostgresLevel> = { clients };
    for (const side of order) {
      await settle(client);
      if (side === 'service') {
        await runWrk(wrkScript, wrkUrl, clients, settings.warmupS, parties);
        const since = new Date();
        const result = await runWrk(wrkScript, wrkUrl, clients, settings.durationS, parties);
        level.service = { ...result, check: await check(client, sites.service, since) };
      } else {
        await runPgbench(target, clients, settings.warmupS, { log: false, database: name });
        const since = new Date();
        const result = await runPgbench(target, clients, settings.durationS, { log: true, database: name });
        level.pgbench = { ...result, check: await check(client, sites.pgbench, since) };
      }
      const done = side === 'service' ? level.service : level.pgbench;
      log(
        `${String(clients).padStart(2)} clients, ${side.padEnd(7)}: ${done?.rate.toFixed(0)}/s, ` +
          `p50 ${done?.latencyMs.p50.toFixed(2)} ms, p99 ${done?.latencyMs.p99.toFixed(2)} ms`,
      );
    }
    if (!level.service || !level.pgbench) throw new Error('a run is missing');
    levels.push({ ...level, ratio: level.service.rate / level.pgbench.rate } as PostgresLevel);
  }

  // The latency at a given load: 64 connections sending at half the rate the service reached at saturation.
  const saturated = levels.find((l) => l.clients === 64) ?? levels.at(-1);
  let openLoop: OpenLoopResult | undefined;
  if (saturated) {
    await settle(client);
    const rate = Math.max(1, Math.round(saturated.service.rate / 2));
    const spec = { paths: sites.service.map(sessionPath), headers: SESSION_HEADERS, body: SESSION_BODY };
    openLoop = await runOpenLoop(service.base, spec, {
      rate,
      connections: 64,
      durationS: settings.durationS,
      warmupS: settings.warmupS,
    });
    log(
      `open loop, 64 connections at ${rate}/s: ${openLoop.achieved.toFixed(0)}/s done, ` +
        `p50 ${openLoop.latencyMs.p50.toFixed(2)} ms, p99 ${openLoop.latencyMs.p99.toFixed(2)} ms, ${openLoop.errors} errors`,
    );
  }

  await service.stop();
  return { sites: settings.sites, poolSize: settings.poolSize, levels, openLoop };
}

// ---- PGlite: the embedded database, and how fast `npm start` is ready ----

async function benchPglite(workDir: string) {
  const dataDir = join(workDir, 'pglite');
  const env = serviceEnv({ DATA_DIR: dataDir });
  const startNpm = async () =>
    startService(['npm', 'start'], env, { port: await freePort(), timeoutMs: 120_000, cwd: settings.serviceRoot });

  // First start: an empty folder, so PGlite initialises it and the migrations run.
  const first = await startNpm();
  cleanups.push(() => first.stop());
  log(`first start on an empty PGlite folder: ready in ${Math.round(first.readyMs)} ms`);
  const sites: Site[] = [];
  if (settings.parts.has('pglite')) {
    // No SQL from outside while the service holds the folder: all through the admin API, and no
    // release between runs, so the pools hold numbers for every run.
    let next = 2000000;
    for (let i = 1; i <= settings.pgliteSites; i++) {
      const site = await makeSite(first, `bench pglite ${i}`);
      for (let added = 0; added < settings.pglitePoolSize; added += 1000) {
        const count = Math.min(1000, settings.pglitePoolSize - added);
        const numbers = Array.from({ length: count }, () => ({ number: `+1203${next++}` }));
        await admin(first, 'POST', `/v1/pools/${site.poolId}/numbers`, { numbers });
      }
      sites.push(site);
    }
    log(`${settings.pgliteSites} PGlite sites, each with a pool of ${settings.pglitePoolSize} numbers`);
  }
  await first.stop();

  const startup = {
    firstStartMs: first.readyMs,
    firstBannerMs: first.bannerMs,
    runsMs: [] as number[],
    bannerMs: [] as number[],
  };
  if (settings.parts.has('startup')) {
    for (let i = 0; i < settings.startupRuns; i++) {
      const again = await startNpm();
      await again.stop();
      startup.runsMs.push(again.readyMs);
      if (again.bannerMs !== undefined) startup.bannerMs.push(again.bannerMs);
    }
    log(`npm start on the existing folder: ${startup.runsMs.map((ms) => Math.round(ms)).join(', ')} ms`);
  }

  const levels: (LoadResult & { exhaustions: number })[] = [];
  const [firstSite] = sites;
  if (firstSite) {
    const service = await startService(serviceCommand(), env, {
      port: await freePort(),
      timeoutMs: 120_000,
      cwd: settings.serviceRoot,
    });
    cleanups.push(() => service.stop());
    await visit(service, firstSite);
    const wrkScript = join(workDir, 'pglite.lua');
    writeWrkScript(wrkScript, { paths: sites.map(sessionPath), headers: SESSION_HEADERS, body: SESSION_BODY });
    const wrkUrl = `${service.base}${sessionPath(firstSite)}`;
    const parties = { servicePid: service.pid, database: undefined };
    for (const clients of settings.clients) {
      await runWrk(wrkScript, wrkUrl, clients, settings.warmupS, parties);
      const result = await runWrk(wrkScript, wrkUrl, clients, settings.durationS, parties);
      let exhaustions = 0;
      for (const site of sites) {
        exhaustions += (await admin<{ exhaustion_count: number }>(service, 'GET', `/v1/pools/${site.poolId}`))
          .exhaustion_count;
      }
      levels.push({ ...result, exhaustions });
      log(
        `${String(clients).padStart(2)} clients, PGlite : ${result.rate.toFixed(0)}/s, ` +
          `p50 ${result.latencyMs.p50.toFixed(2)} ms, p99 ${result.latencyMs.p99.toFixed(2)} ms`,
      );
    }
    await service.stop();
  }
  return {
    sites: settings.pgliteSites,
    poolSize: settings.pglitePoolSize,
    levels,
    startup: settings.parts.has('startup') ? { ...startup, medianMs: median(startup.runsMs) } : undefined,
  };
}

// ---- main ----

export type PostgresResults = Awaited<ReturnType<typeof benchPostgres>>;
export type PgliteResults = Awaited<ReturnType<typeof benchPglite>>;

/** The results block of docs/BENCHMARKS.md, laid out as `npm run lint` (Biome) wants it. */
async function writeDoc(results: Results): Promise<void> {
  const doc = join(ROOT, 'docs', 'BENCHMARKS.md');
  updateDoc(doc, renderMarkdown(results));
  await runOk('npx', ['biome', 'format', '--write', doc], { timeoutMs: 60_000 });
  log('docs/BENCHMARKS.md updated (results block of "Session + lease")');
}

/** `npm run bench -- --report bench/results/<date>.json`: the table and the doc block again, from a saved run. */
async function reportOnly(file: string): Promise<void> {
  const results = JSON.parse(readFileSync(file, 'utf8')) as Results;
  console.log(renderTable(results));
  if (settings.writeDoc) await writeDoc(results);
}

async function main() {
  const saved = process.argv.indexOf('--report');
  if (saved > 0) {
    const file = process.argv[saved + 1];
    if (!file) throw new Error('--report needs a results file');
    return reportOnly(file);
  }
  const started = new Date();
  await ensureTools(settings.parts.has('postgres'));
  const workDir = mkdtempSync(join(tmpdir(), 'ringpool-bench-'));
  cleanups.push(async () => rmSync(workDir, { recursive: true, force: true }));

  const overrides = Object.entries(process.env)
    .filter(([k]) => k.startsWith('BENCH_') || k === 'DATABASE_POOL_SIZE')
    .map(([k, v]) => `${k}=${v}`);
  const command = [...overrides, 'npm run bench'].join(' ');
  log(
    `${command}: clients ${settings.clients.join(', ')}, ${settings.durationS} s runs after ${settings.warmupS} s warm-ups`,
  );

  let server: pg.Client | undefined;
  if (settings.parts.has('postgres')) {
    const client = new pg.Client({ connectionString: settings.adminUrl });
    await client.connect();
    cleanups.push(() => client.end());
    server = client;
  }
  const machine = await leaseMachineInfo(server);
  if (machine.uncommitted.length) log(`measuring uncommitted changes: ${machine.uncommitted.join(', ')}`);

  const postgres = server ? await benchPostgres(workDir, server) : undefined;
  const pglite = settings.parts.has('pglite') || settings.parts.has('startup') ? await benchPglite(workDir) : undefined;

  const results = {
    date: started.toISOString(),
    command,
    machine,
    settings: {
      clients: settings.clients,
      durationS: settings.durationS,
      warmupS: settings.warmupS,
      servicePoolSize: Number(settings.servicePoolSize ?? 10),
      serviceRoot: settings.serviceRoot === resolve(ROOT) ? undefined : settings.serviceRoot,
      logLevel: 'warn',
      loadGenerator: 'wrk (keep-alive connections, one request in flight each)',
      pgbench: 'pgbench -M prepared, -j min(2, clients), latency percentiles from --log',
    },
    postgres,
    pglite,
  };

  console.log(`\n${renderTable(results)}`);
  log(`results in ${writeResults('', started, results)}.json`);
  if (settings.writeDoc) await writeDoc(results);
}

export type Results = {
  date: string;
  command: string;
  machine: Awaited<ReturnType<typeof leaseMachineInfo>>;
  settings: Record<string, unknown> & {
    clients: number[];
    durationS: number;
    servicePoolSize: number;
    serviceRoot: string | undefined;
  };
  postgres: PostgresResults | undefined;
  pglite: PgliteResults | undefined;
};

await runBench(main);
