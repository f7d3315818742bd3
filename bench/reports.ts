/**
 * Reports benchmark (docs/BENCHMARKS.md, "Reports"): `node --import tsx bench/reports.ts`.
 *
 * Budget (issue 5): report queries answer in ≤ 200 ms p95 on 1,000,000 calls and 5,000,000 sessions.
 *
 * 1. A fresh PostgreSQL database, migrated, filled by bench/lib/reports-data.ts (INSERT … SELECT generate_series):
 *    100 sites over a year and a month, the biggest with 20% of the traffic; 5,000,000 sessions, their leases,
 *    pool exhaustions, 1,000,000 calls and daily ad costs; then VACUUM (ANALYZE) (autovacuum is off on the bench
 *    server) and the pool-usage roll-up, as the service's job would have kept it.
 * 2. The real service as a child process on that database; each report asked over HTTP with an API key, one
 *    request at a time, on the biggest site and on median-sized sites, over ranges that end 0–29 days ago. Every
 *    report request is followed by the baseline on the same site and range: count(*) of the rows the report
 *    covers (calls, or the pools' leases), on a connection of the bench's own. All cases take turns in a shuffled
 *    order, after one warm-up pass, for BENCH_ROUNDS rounds. Then the same reports through the service functions
 *    in this process (no HTTP, API key or JSON), to tell the SQL's share from the request's.
 * 3. EXPLAIN (ANALYZE, BUFFERS) of the statements the reports run (captured from the service functions through
 *    Kysely's query log), on the biggest site and on a median-sized one.
 *
 * Prints markdown, and writes it with the raw figures to bench/results/reports-<date>.{md,json}.
 *
 * Settings (environment):
 *   BENCH_DATABASE_URL   server to create the bench database on (postgres://postgres@127.0.0.1:5432/postgres)
 *   BENCH_SESSIONS       sessions (5000000; a multiple of 1,000); BENCH_CALLS calls (1000000)
 *   BENCH_SITES          sites (100); BENCH_BIGGEST_SHARE the biggest site's share of the traffic (0.2)
 *   BENCH_DAYS           days of history (395: a year, and the 30 days the ranges are moved back by)
 *   BENCH_REPETITIONS    measured requests per case and round (40); BENCH_ROUNDS rounds (2)
 *   BENCH_DIRECT_REPETITIONS  calls per case of the service functions in this process, after the rounds (10)
 *   BENCH_KEEP           1: keep the database (its name is printed)
 *   BENCH_REUSE          the name of a kept database: measure on it, without making data
 *   BENCH_SERVICE_ROOT   another copy of the repository whose service to run (an A/B of a change)
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type CompiledQuery, Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { createApiKey } from '../packages/attribution-api/src/accounts/repository.ts';
import { migrateToLatest } from '../packages/attribution-api/src/db/migrate.ts';
import type { Database } from '../packages/attribution-api/src/db/schema.ts';
import { addDays, dayStart, hourBuckets } from '../packages/attribution-api/src/reports/days.ts';
import { type Dimension, poolSweep } from '../packages/attribution-api/src/reports/repository.ts';
import { rollUpPoolUsage } from '../packages/attribution-api/src/reports/rollup.ts';
import { callsReport, dailyReport, poolsReport } from '../packages/attribution-api/src/reports/service.ts';
import { cleanups, integer, loadNow, machineInfo, percentile, runBench, writeResults } from './lib/harness.ts';
import { type CpuUse, cpuSnapshot, cpuUse, freePort, ROOT, type Service, startService } from './lib/proc.ts';
import { type DataShape, type SeedTimings, seedReportsData } from './lib/reports-data.ts';

// ---- settings ----

const settings = {
  adminUrl: process.env.BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres',
  sessions: integer('BENCH_SESSIONS', 5_000_000),
  calls: integer('BENCH_CALLS', 1_000_000),
  sites: Math.max(30, integer('BENCH_SITES', 100)),
  biggestShare: Number(process.env.BENCH_BIGGEST_SHARE || 0.2),
  days: Math.max(395, integer('BENCH_DAYS', 395)),
  repetitions: Math.max(5, integer('BENCH_REPETITIONS', 40)),
  rounds: Math.max(1, integer('BENCH_ROUNDS', 2)),
  directRepetitions: integer('BENCH_DIRECT_REPETITIONS', 10),
  keep: process.env.BENCH_KEEP === '1',
  reuse: process.env.BENCH_REUSE || undefined,
  serviceRoot: resolve(process.env.BENCH_SERVICE_ROOT || ROOT),
};
if (!(settings.biggestShare > 0 && settings.biggestShare < 1)) throw new Error('BENCH_BIGGEST_SHARE: between 0 and 1');
if (settings.reuse && !/^ringpool_bench_reports_\w+$/.test(settings.reuse)) {
  throw new Error('BENCH_REUSE: the name of a database this bench made (ringpool_bench_reports_…)');
}

export const BUDGET_MS = 200;
const SERVER = join(settings.serviceRoot, 'packages/attribution-api/src/server.ts');
const ADMIN_KEY = `bench-${randomBytes(16).toString('hex')}`;
/** Median-sized sites: these ranks (0 = most calls) are the "typical" ones. */
const TYPICAL_RANKS = [0.4, 0.6];
/** Ranges end today or up to this many days before, drawn per request. */
const SHIFT_DAYS = 30;

const log = (message: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);

// ---- small helpers ----

function summary(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    n: sorted.length,
    p50: percentile(sorted, 0.5),
    p95: percentile(sorted, 0.95),
    p99: percentile(sorted, 0.99),
    max: sorted.at(-1) ?? Number.NaN,
  };
}
type Summary = ReturnType<typeof summary>;

const ms = (v: number) => (Number.isFinite(v) ? (v < 10 ? `${v.toFixed(2)} ms` : `${v.toFixed(0)} ms`) : 'n/a');
const thousands = (n: number) => Math.round(n).toLocaleString('en-US');

/** A seeded generator (mulberry32), so two runs ask the same sites and ranges in the same order. */
function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function localToday(now: Date, timeZone: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(now);
}

// ---- the bench database ----

interface BenchDatabase {
  name: string;
  url: string;
  accountId: string;
  shape: DataShape;
  seed: SeedTimings[];
  sizes: Record<string, { rows: number; bytes: number }>;
}

function urlOf(name: string): string {
  const url = new URL(settings.adminUrl);
  url.pathname = `/${name}`;
  return `${url}`;
}

function kyselyFor(url: string, options: { max?: number; seen?: CompiledQuery[] } = {}) {
  const seen = options.seen;
  return new Kysely<Database>({
    dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: options.max ?? 2 }) }),
    ...(seen
      ? {
          log: (event) => {
            if (event.level === 'query') seen.push(event.query);
          },
        }
      : {}),
  });
}

async function prepareDatabase(server: pg.Client): Promise<BenchDatabase> {
  const name = settings.reuse ?? `ringpool_bench_reports_${randomBytes(4).toString('hex')}`;
  const url = urlOf(name);
  let seed: SeedTimings[] = [];
  if (!settings.reuse) {
    await server.query(`CREATE DATABASE ${name}`);
    if (!settings.keep) cleanups.push(() => server.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    else cleanups.push(async () => log(`kept the database ${name} (BENCH_KEEP=1): BENCH_REUSE=${name} measures on it`));
    const db = kyselyFor(url);
    try {
      await migrateToLatest(db);
    } finally {
      await db.destroy();
    }
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const shape: DataShape = {
        sites: settings.sites,
        sessions: settings.sessions,
        calls: settings.calls,
        days: settings.days,
        biggestShare: settings.biggestShare,
        now: new Date(Math.floor(Date.now() / 60_000) * 60_000),
      };
      log(`${name}: generating ${thousands(shape.sessions)} sessions and ${thousands(shape.calls)} calls`);
      seed = (await seedReportsData(client, shape, log)).timings;
    } finally {
      await client.end();
    }
    // The pool report reads 15-minute slots the service's job rolls up; a live database has them already.
    const db2 = kyselyFor(url);
    try {
      const started = performance.now();
      const rolled = await rollUpPoolUsage(db2, new Date(), { maxChunks: 10_000 });
      await sql`VACUUM (ANALYZE) pool_usage, report_rollups`.execute(db2);
      const took = performance.now() - started;
      seed.push({ step: 'pool usage roll-up (rollUpPoolUsage)', ms: took, rows: rolled.chunks });
      log(`rollUpPoolUsage: ${rolled.chunks} day chunks in ${(took / 1000).toFixed(1)} s`);
    } finally {
      await db2.destroy();
    }
  } else {
    cleanups.push(async () => log(`measured on the kept database ${name}; drop it when done`));
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const shape = (await client.query<{ value: DataShape }>(`SELECT value FROM bench.meta WHERE key = 'shape'`)).rows[0]
      ?.value;
    const account = await client.query<{ id: string }>(`SELECT id FROM accounts WHERE name = 'bench reports agency'`);
    const accountId = account.rows[0]?.id;
    if (!shape || !accountId) throw new Error(`${name} has no bench data`);
    const sizes: BenchDatabase['sizes'] = {};
    for (const table of ['sessions', 'leases', 'pool_exhaustions', 'calls', 'costs', 'pool_usage']) {
      const { rows } = await client.query<{ n: string; bytes: string }>(
        `SELECT (SELECT count(*) FROM ${table}) AS n, pg_total_relation_size('${table}') AS bytes`,
      );
      sizes[table] = { rows: Number(rows[0]?.n), bytes: Number(rows[0]?.bytes) };
    }
    const index = await client.query<{ bytes: string }>(`SELECT pg_relation_size('calls_report') AS bytes`);
    sizes.calls_report = { rows: sizes.calls?.rows ?? 0, bytes: Number(index.rows[0]?.bytes) };
    return { name, url, accountId, shape: { ...shape, now: new Date(shape.now) }, seed, sizes };
  } finally {
    await client.end();
  }
}

// ---- sites: the biggest, and median-sized ones ----

interface BenchSite {
  id: string;
  time_zone: string;
  /** Calls in all (the whole history). */
  calls: number;
}

async function benchSites(url: string, accountId: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<BenchSite>(
      `SELECT s.id, s.time_zone, count(c.id)::int AS calls
       FROM sites s LEFT JOIN calls c ON c.site_id = s.id
       WHERE s.account_id = $1 GROUP BY s.id ORDER BY 3 DESC, 1`,
      [accountId],
    );
    const [lo = 0, hi = 0] = TYPICAL_RANKS.map((r) => Math.floor(r * rows.length));
    const biggest = rows[0];
    if (!biggest) throw new Error('no sites');
    return { biggest, typical: rows.slice(lo, hi), ranks: `${lo}–${hi - 1}`, all: rows };
  } finally {
    await client.end();
  }
}

// ---- the cases ----

type SiteKind = 'biggest' | 'typical';
type Baseline = 'calls' | 'leases' | 'none';

interface Case {
  id: string;
  report: string;
  site: SiteKind;
  days: number;
  baseline: Baseline;
  path: (p: RequestParams) => string;
  /** The same report through the service function, in this process (no HTTP, no auth, no JSON). */
  direct?: (db: Kysely<Database>, p: RequestParams) => Promise<unknown>;
  /** What the answer says the baseline counted (calls or leases in the range), to check the two agree. */
  counted?: (body: unknown) => number;
}

interface RequestParams {
  site: BenchSite;
  from: string;
  to: string;
  start: Date;
  end: Date;
}

const q = (p: RequestParams, extra: Record<string, string>) =>
  new URLSearchParams({ site_id: p.site.id, from: p.from, to: p.to, ...extra }).toString();

type CallsBody = { totals: { calls: number }; rows: unknown[] };
type DailyBody = { days: { calls: number }[] };
type PoolsBody = { pools: { buckets: { leases_started: number }[] }[] };

const callsTotal = (body: unknown) => (body as CallsBody).totals.calls;
const dailyTotal = (body: unknown) => (body as DailyBody).days.reduce((sum, d) => sum + d.calls, 0);
const poolsTotal = (body: unknown) =>
  (body as PoolsBody).pools.reduce((sum, p) => sum + p.buckets.reduce((s, b) => s + b.leases_started, 0), 0);

function callsCase(groupBy: string, site: SiteKind, days: number): Case {
  return {
    id: `calls:${groupBy}:${site}:${days}`,
    report: `calls by ${groupBy.replace(',', ' + ')}`,
    site,
    days,
    baseline: 'calls',
    path: (p) => `/v1/reports/calls?${q(p, { group_by: groupBy })}`,
    direct: (db, p) =>
      callsReport(db, p.site, { from: p.from, to: p.to, groupBy: groupBy.split(',') as Dimension[], limit: 1000 }),
    counted: callsTotal,
  };
}

const CASES: Case[] = [
  ...(['typical', 'biggest'] as const).flatMap((site) => [30, 90, 365].map((days) => callsCase('source', site, days))),
  ...['campaign,term', 'landing_page', 'referrer_domain', 'device_type'].flatMap((groupBy) => [
    callsCase(groupBy, 'typical', 90),
    callsCase(groupBy, 'biggest', 90),
    callsCase(groupBy, 'biggest', 365),
  ]),
  ...(
    [
      ['typical', 90],
      ['biggest', 90],
      ['biggest', 365],
    ] as const
  ).map(
    ([site, days]): Case => ({
      id: `daily:source:${site}:${days}`,
      report: 'daily series by source',
      site,
      days,
      baseline: 'calls',
      path: (p) => `/v1/reports/calls/daily?${q(p, { group_by: 'source' })}`,
      direct: (db, p) => dailyReport(db, p.site, { from: p.from, to: p.to, groupBy: 'source', groups: 20 }),
      counted: dailyTotal,
    }),
  ),
  ...(
    [
      ['hour', 30],
      ['day', 365],
    ] as const
  ).flatMap(([bucket, days]) =>
    (['typical', 'biggest'] as const).map(
      (site): Case => ({
        id: `pools:${bucket}:${site}:${days}`,
        report: `pools, ${bucket === 'hour' ? 'hourly' : 'daily'}`,
        site,
        days,
        baseline: 'leases',
        path: (p) => `/v1/reports/pools?${q(p, { bucket })}`,
        direct: (db, p) => poolsReport(db, p.site, { from: p.from, to: p.to, bucket, now: new Date() }),
        counted: poolsTotal,
      }),
    ),
  ),
  ...(['typical', 'biggest'] as const).map(
    (site): Case => ({
      id: `list:${site}`,
      report: 'GET /v1/calls?site_id&limit=100 (floor)',
      site,
      days: 0,
      baseline: 'none',
      path: (p) => `/v1/calls?${new URLSearchParams({ site_id: p.site.id, limit: '100' })}`,
    }),
  ),
];

// ---- measuring ----

interface Sample {
  round: number;
  ms: number;
  baselineMs: number | undefined;
  /** Rows the baseline counted: the report's calls or leases in the range. */
  counted: number | undefined;
  rows: number;
  bytes: number;
}

interface CaseResult {
  case: Case;
  samples: Sample[];
  /** The service function in this process, same sites and ranges. */
  direct: number[];
  mismatches: { params: string; report: number; baseline: number }[];
  errors: string[];
}

const BASELINE_SQL: Record<Exclude<Baseline, 'none'>, string> = {
  calls: `SELECT count(*)::int AS n FROM calls WHERE site_id = $1 AND started_at >= $2 AND started_at < $3`,
  leases: `SELECT count(*)::int AS n FROM leases
           WHERE pool_id IN (SELECT id FROM pools WHERE site_id = $1) AND started_at >= $2 AND started_at < $3`,
};

class Measurer {
  private readonly random = prng(20261129);
  readonly results = new Map<string, CaseResult>(
    CASES.map((c) => [c.id, { case: c, samples: [], direct: [], mismatches: [], errors: [] }]),
  );

  constructor(
    private readonly base: string,
    private readonly key: string,
    private readonly sites: { biggest: BenchSite; typical: BenchSite[] },
    private readonly baseline: pg.Client,
  ) {}

  params(c: Case, now: Date): RequestParams {
    const site =
      c.site === 'biggest'
        ? this.sites.biggest
        : (this.sites.typical[Math.floor(this.random() * this.sites.typical.length)] as BenchSite);
    const to = addDays(localToday(now, site.time_zone), -Math.floor(this.random() * SHIFT_DAYS));
    const from = addDays(to, -(Math.max(1, c.days) - 1));
    return {
      site,
      from,
      to,
      start: dayStart(from, site.time_zone),
      end: dayStart(addDays(to, 1), site.time_zone),
    };
  }

  async once(c: Case, round: number, record: boolean): Promise<void> {
    const result = this.results.get(c.id) as CaseResult;
    const p = this.params(c, new Date());
    const path = c.path(p);
    const started = performance.now();
    const response = await fetch(`${this.base}${path}`, { headers: { authorization: `Bearer ${this.key}` } });
    const text = await response.text();
    const took = performance.now() - started;
    if (response.status !== 200) {
      result.errors.push(`${response.status} ${path}: ${text.slice(0, 300)}`);
      return;
    }
    let baselineMs: number | undefined;
    let counted: number | undefined;
    if (c.baseline !== 'none') {
      const t0 = performance.now();
      const { rows } = await this.baseline.query<{ n: number }>(BASELINE_SQL[c.baseline], [p.site.id, p.start, p.end]);
      baselineMs = performance.now() - t0;
      counted = rows[0]?.n ?? 0;
    }
    const body = JSON.parse(text) as Record<string, unknown>;
    if (c.counted && counted !== undefined) {
      const reported = c.counted(body);
      if (reported !== counted && result.mismatches.length < 20) {
        result.mismatches.push({ params: path, report: reported, baseline: counted });
      }
    }
    const rows = Array.isArray(body.rows)
      ? body.rows.length
      : Array.isArray(body.calls)
        ? body.calls.length
        : Array.isArray(body.days)
          ? body.days.length
          : Array.isArray(body.pools)
            ? (body.pools as PoolsBody['pools']).reduce((sum, pool) => sum + pool.buckets.length, 0)
            : 0;
    if (record) result.samples.push({ round, ms: took, baselineMs, counted, rows, bytes: text.length });
  }

  /** The report through its service function in this process, on the bench's own pool of connections. */
  async direct(c: Case, db: Kysely<Database>): Promise<void> {
    if (!c.direct) return;
    const p = this.params(c, new Date());
    const started = performance.now();
    await c.direct(db, p);
    (this.results.get(c.id) as CaseResult).direct.push(performance.now() - started);
  }

  shuffled(): Case[] {
    const order = [...CASES];
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1));
      [order[i], order[j]] = [order[j] as Case, order[i] as Case];
    }
    return order;
  }

  /** Every case once, in a shuffled order (so the machine's other work falls on all alike). */
  async pass(round: number, record: boolean): Promise<void> {
    for (const c of this.shuffled()) await this.once(c, round, record);
  }
}

interface Round {
  round: number;
  seconds: number;
  cpu: CpuUse;
  loadAtEnd: number[];
}

// ---- EXPLAIN ----

interface Plan {
  name: string;
  statement: string;
  plan: string;
  indexes: string[];
  seqScans: string[];
  executionMs: number;
  jit: boolean;
  heapFetches: number;
}

const STATEMENT_NAMES: [RegExp, string][] = [
  [/FROM costs k/, 'costGroups'],
  [/width_bucket\(c\.started_at/, 'dailyCalls'],
  [/FROM calls c/, 'callGroups'],
  [/FROM pool_usage u/, 'poolUsageFromSlots'],
  [/FROM leases le/, 'poolSweep'],
  [/from "pools"/, 'sitePools'],
];
const statementName = (sql: string) => STATEMENT_NAMES.find(([re]) => re.test(sql))?.[1] ?? 'other';

async function explainAll(bench: BenchDatabase, site: BenchSite, kind: SiteKind): Promise<Plan[]> {
  const seen: CompiledQuery[] = [];
  const db = kyselyFor(bench.url, { max: 1, seen });
  const client = new pg.Client({ connectionString: bench.url });
  await client.connect();
  const plans: Plan[] = [];
  const explain = async (name: string, statement: string, parameters: readonly unknown[]) => {
    const { rows } = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${statement}`, [
      ...parameters,
    ]);
    const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
    plans.push({
      name,
      statement,
      plan,
      indexes: [
        ...new Set(
          [...plan.matchAll(/(?:Index (?:Only )?Scan (?:Backward )?using|Bitmap Index Scan on) (\w+)/g)].map(
            (m) => m[1] ?? '',
          ),
        ),
      ],
      seqScans: [...new Set([...plan.matchAll(/Seq Scan on (\w+)/g)].map((m) => m[1] ?? ''))],
      executionMs: Number(/Execution Time: ([\d.]+) ms/.exec(plan)?.[1] ?? Number.NaN),
      jit: /^JIT:/m.test(plan),
      heapFetches: [...plan.matchAll(/Heap Fetches: (\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0),
    });
  };
  /** Runs a report through its service function, then EXPLAINs each statement it sent (but the trivial ones). */
  const viaService = async (label: string, report: () => Promise<unknown>) => {
    await report(); // warm, as the measured requests were
    seen.length = 0;
    await report();
    for (const query of [...seen]) {
      const name = statementName(query.sql);
      if (name === 'sitePools' || name === 'other') continue;
      await explain(`${kind} site, ${label}: ${name}`, query.sql, query.parameters);
    }
  };
  try {
    const now = new Date();
    const to = localToday(now, site.time_zone);
    const from365 = addDays(to, -364);
    const from90 = addDays(to, -89);
    const from30 = addDays(to, -29);
    const s = { id: site.id, time_zone: site.time_zone };
    if (kind === 'typical') {
      for (const groupBy of [['source'], ['campaign', 'term'], ['landing_page']]) {
        await viaService(`calls by ${groupBy.join(' + ')}, 90 days`, () =>
          callsReport(db, s, { from: from90, to, groupBy: groupBy as Dimension[], limit: 1000 }),
        );
      }
      return plans;
    }
    for (const groupBy of [['source'], ['campaign', 'term'], ['landing_page'], ['referrer_domain'], ['device_type']]) {
      await viaService(`calls by ${groupBy.join(' + ')}, 365 days`, () =>
        callsReport(db, s, { from: from365, to, groupBy: groupBy as Dimension[], limit: 1000 }),
      );
    }
    await viaService('daily series by source, 90 days', () =>
      dailyReport(db, s, { from: from90, to, groupBy: 'source', groups: 20 }),
    );
    await viaService('pools, daily, 365 days', () => poolsReport(db, s, { from: from365, to, bucket: 'day', now }));
    // The live path, for the part of a range the roll-up has not done yet: here, 30 days of it.
    const buckets = hourBuckets(from30, to, site.time_zone);
    const boundaries = [...buckets.map((b) => b.start), buckets.at(-1)?.end as Date];
    seen.length = 0;
    await poolSweep(db, { siteId: site.id, boundaries, now });
    seen.length = 0;
    await poolSweep(db, { siteId: site.id, boundaries, now });
    const sweep = seen[0];
    if (sweep) {
      await explain(
        `${kind} site, pool sweep (the live path, no roll-up), hourly, 30 days`,
        sweep.sql,
        sweep.parameters,
      );
    }
    const start = dayStart(from365, site.time_zone);
    const end = dayStart(addDays(to, 1), site.time_zone);
    await explain(`${kind} site, baseline: count(*) of the calls, 365 days`, BASELINE_SQL.calls, [site.id, start, end]);
    return plans;
  } finally {
    await client.end();
    await db.destroy();
  }
}

// ---- report ----

interface Results {
  date: string;
  command: string;
  settings: typeof settings;
  machine: Awaited<ReturnType<typeof machineInfo>>;
  database: Omit<BenchDatabase, 'url'>;
  sites: {
    biggest: BenchSite;
    typical: BenchSite[];
    /** The typical sites' ranks by calls, 0 = the biggest. */
    ranks: string;
    smallest: BenchSite | undefined;
  };
  service: { readyMs: number };
  rounds: Round[];
  cases: {
    id: string;
    report: string;
    site: SiteKind;
    days: number;
    all: Summary;
    perRound: Summary[];
    baseline: Summary | undefined;
    direct: Summary | undefined;
    counted: Summary | undefined;
    rows: Summary;
    bytes: Summary;
    mismatches: CaseResult['mismatches'];
    errors: string[];
  }[];
  plans: Plan[];
  loadAverageAtEnd: number[];
}

const range = (days: number) => (days ? `${days} days` : '–');

function renderMarkdown(r: Results): string {
  const m = r.machine;
  const d = r.database;
  const size = (t: string) =>
    `${thousands(d.sizes[t]?.rows ?? 0)} (${((d.sizes[t]?.bytes ?? 0) / 2 ** 20).toFixed(0)} MiB)`;
  const lines = [
    '## Reports',
    '',
    `\`${r.command}\` on ${r.date.slice(0, 16).replace('T', ' ')} UTC, commit ${m.commit}` +
      (m.uncommitted.length ? ` with uncommitted changes to ${m.uncommitted.length} files of the service` : '') +
      `; ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, shared with other work (load average ${m.loadAverageAtStart.join(', ')} at start, ` +
      `${r.loadAverageAtEnd.join(', ')} at the end); Node ${m.node}; ${(m.postgres ?? 'unknown').split(' on ')[0]} ` +
      `(${Object.entries(m.pgSettings)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}).`,
    '',
    `Data: ${d.shape.sites} sites over ${d.shape.days} days; sessions ${size('sessions')}, leases ${size('leases')}, ` +
      `pool exhaustions ${size('pool_exhaustions')}, calls ${size('calls')} (index calls_report ${((d.sizes.calls_report?.bytes ?? 0) / 2 ** 20).toFixed(0)} MiB), ` +
      `costs ${size('costs')}, pool_usage slots ${size('pool_usage')}. Biggest site: ${thousands(r.sites.biggest.calls)} calls; ` +
      `median-sized sites (ranks ${r.sites.ranks}): ` +
      `${thousands(Math.min(...r.sites.typical.map((s) => s.calls)))}–${thousands(Math.max(...r.sites.typical.map((s) => s.calls)))} calls; ` +
      `smallest: ${thousands(r.sites.smallest?.calls ?? 0)}.`,
  ];
  if (d.seed.length) {
    const total = d.seed.reduce((sum, s) => sum + s.ms, 0);
    lines.push(
      '',
      `Seeding: ${(total / 1000).toFixed(0)} s in all — ${d.seed.map((s) => `${s.step} ${(s.ms / 1000).toFixed(1)} s`).join(', ')}.`,
    );
  }
  lines.push(
    '',
    `The service (child process, LOG_LEVEL=warn, its default pool of 10 connections, retention schedule off) answered /readyz ` +
      `${(r.service.readyMs / 1000).toFixed(1)} s after it was spawned. One request at a time over keep-alive HTTP with an API key; ` +
      `${r.rounds.length} round(s) of ${settings.repetitions} requests per case, all cases taking turns in a shuffled order after a warm-up pass; ` +
      `each report request followed by its baseline, count(*) over the same site and range on the bench's own connection. ` +
      `In-process: the same reports through the service functions in the bench process (${settings.directRepetitions} per case after the rounds, ` +
      'no HTTP, API key or JSON; pools without the route’s roll-up catch-up).',
    '',
    `| report | site | range | rows counted (median) | p50 | p95 | p99 | p95 per round | ≤ ${BUDGET_MS} ms p95 | baseline count(*) p50 | p50 ÷ baseline | in-process p50 / p95 |`,
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |',
    ...r.cases.map((c) => {
      const met = c.all.p95 <= BUDGET_MS;
      return (
        `| ${c.report} | ${c.site} | ${range(c.days)} | ${c.counted ? thousands(c.counted.p50) : '–'} | ${ms(c.all.p50)} | ` +
        `**${ms(c.all.p95)}** | ${ms(c.all.p99)} | ${c.perRound.map((s) => ms(s.p95)).join(' / ')} | ` +
        `${c.days ? (met ? 'met' : '**MISSED**') : '–'} | ${c.baseline ? ms(c.baseline.p50) : '–'} | ` +
        `${c.baseline ? (c.all.p50 / c.baseline.p50).toFixed(1) : '–'} | ` +
        `${c.direct ? `${ms(c.direct.p50)} / ${ms(c.direct.p95)}` : '–'} |`
      );
    }),
    '',
    `Requests per case: ${r.cases[0]?.all.n ?? 0}; rows counted: the calls (or, for pools, the site's leases) in the range, by the baseline. ` +
      'CPU during each round, in cores (2.00 = the whole machine): ' +
      r.rounds
        .map(
          (x) =>
            `round ${x.round}: ${x.seconds.toFixed(0)} s, the service ${x.cpu.service.toFixed(2)}, the machine ${x.cpu.machine.toFixed(2)}, ` +
            `load average at its end ${x.loadAtEnd.join(', ')}`,
        )
        .join('; ') +
      '.',
  );
  const problems = r.cases.flatMap((c) => [
    ...c.errors.map((e) => `${c.id}: ${e}`),
    ...c.mismatches.map((x) => `${c.id}: the report counted ${x.report}, count(*) ${x.baseline}: ${x.params}`),
  ]);
  lines.push(
    '',
    problems.length
      ? `Checks: **${problems.length} problems**:\n\n${problems.map((p) => `- ${p}`).join('\n')}`
      : 'Checks: every request answered 200; every report’s total (calls, or leases started) equals count(*) over the same range.',
  );
  lines.push('', '### EXPLAIN (ANALYZE, BUFFERS)', '');
  lines.push(
    '| statement | execution | index scans | sequential scans | heap fetches | JIT |',
    '| --- | ---: | --- | --- | ---: | --- |',
    ...r.plans.map(
      (p) =>
        `| ${p.name} | ${ms(p.executionMs)} | ${p.indexes.join(', ') || '–'} | ${p.seqScans.join(', ') || '–'} | ` +
        `${thousands(p.heapFetches)} | ${p.jit ? 'yes' : 'no'} |`,
    ),
  );
  for (const p of r.plans) lines.push('', `${p.name}:`, '', '```text', p.plan, '```');
  return `${lines.join('\n')}\n`;
}

// ---- main ----

async function main() {
  const started = new Date();
  const overrides = Object.entries(process.env)
    .filter(([k]) => k.startsWith('BENCH_'))
    .map(([k, v]) => `${k}=${v}`);
  const command = [...overrides, 'node --import tsx bench/reports.ts'].join(' ');
  const server = new pg.Client({ connectionString: settings.adminUrl });
  await server.connect();
  cleanups.push(() => server.end());
  const machine = await machineInfo(server, [
    'shared_buffers',
    'work_mem',
    'effective_cache_size',
    'max_parallel_workers_per_gather',
    'jit',
    'autovacuum',
    'random_page_cost',
  ]);
  log(`${command}: ${machine.cpus} CPUs, load average ${machine.loadAverageAtStart.join(', ')}`);
  const workDir = mkdtempSync(join(tmpdir(), 'ringpool-bench-reports-'));
  cleanups.push(async () => rmSync(workDir, { recursive: true, force: true }));

  const bench = await prepareDatabase(server);
  const sites = await benchSites(bench.url, bench.accountId);
  log(
    `biggest site ${thousands(sites.biggest.calls)} calls; typical ${sites.typical.map((s) => s.calls).join(', ')}; ` +
      `load average ${loadNow().join(', ')}`,
  );

  const keyDb = kyselyFor(bench.url);
  const key = (await createApiKey(keyDb, bench.accountId, 'bench reports', false)).key;
  await keyDb.destroy();

  const service: Service = await startService(
    [process.execPath, '--import', 'tsx', SERVER],
    {
      DATABASE_URL: bench.url,
      STATE_DIR: join(workDir, 'state'),
      ADMIN_API_KEY: ADMIN_KEY,
      LOG_LEVEL: 'warn',
      RETENTION_INTERVAL_MINUTES: '0',
    },
    { port: await freePort(), timeoutMs: 120_000, cwd: settings.serviceRoot },
  );
  cleanups.push(() => service.stop());
  log(`service ready on ${service.base} in ${Math.round(service.readyMs)} ms`);

  const baseline = new pg.Client({ connectionString: bench.url });
  await baseline.connect();
  cleanups.push(() => baseline.end());
  const measurer = new Measurer(service.base, key, sites, baseline);
  await measurer.pass(0, false);
  const rounds: Round[] = [];
  for (let round = 1; round <= settings.rounds; round++) {
    const before = cpuSnapshot();
    for (let i = 0; i < settings.repetitions; i++) await measurer.pass(round, true);
    const after = cpuSnapshot();
    const x: Round = {
      round,
      seconds: (after.at - before.at) / 1000,
      cpu: cpuUse(before, after, { servicePid: service.pid, loadPid: undefined, database: bench.name }),
      loadAtEnd: loadNow(),
    };
    rounds.push(x);
    log(`round ${round}: ${x.seconds.toFixed(0)} s, load average ${x.loadAtEnd.join(', ')}`);
    for (const result of measurer.results.values()) {
      const s = summary(result.samples.filter((y) => y.round === round).map((y) => y.ms));
      log(`  ${result.case.id}: p50 ${ms(s.p50)} p95 ${ms(s.p95)} p99 ${ms(s.p99)}`);
    }
  }
  await service.stop();

  // The same reports through the service functions in this process: what the SQL and assembling cost without
  // HTTP, the API key lookup and JSON (pools: without the route's catch-up of the roll-up).
  log(`in-process: ${settings.directRepetitions} passes`);
  const direct = kyselyFor(bench.url, { max: 10 });
  try {
    for (const c of measurer.shuffled()) await measurer.direct(c, direct).catch(() => undefined);
    for (const result of measurer.results.values()) result.direct.length = 0;
    for (let i = 0; i < settings.directRepetitions; i++) {
      for (const c of measurer.shuffled()) await measurer.direct(c, direct);
    }
  } finally {
    await direct.destroy();
  }

  log('EXPLAIN (ANALYZE, BUFFERS) on the biggest site');
  const plans = [
    ...(await explainAll(bench, sites.biggest, 'biggest')),
    ...(await explainAll(bench, sites.typical[0] as BenchSite, 'typical')),
  ];

  const results: Results = {
    date: started.toISOString(),
    command,
    settings,
    machine,
    database: {
      name: bench.name,
      accountId: bench.accountId,
      shape: bench.shape,
      seed: bench.seed,
      sizes: bench.sizes,
    },
    sites: {
      biggest: sites.biggest,
      typical: sites.typical,
      ranks: sites.ranks,
      smallest: sites.all.at(-1),
    },
    service: { readyMs: service.readyMs },
    rounds,
    cases: [...measurer.results.values()].map((result) => {
      const baselines = result.samples.flatMap((s) => (s.baselineMs === undefined ? [] : [s.baselineMs]));
      const counted = result.samples.flatMap((s) => (s.counted === undefined ? [] : [s.counted]));
      return {
        id: result.case.id,
        report: result.case.report,
        site: result.case.site,
        days: result.case.days,
        all: summary(result.samples.map((s) => s.ms)),
        perRound: rounds.map((x) => summary(result.samples.filter((s) => s.round === x.round).map((s) => s.ms))),
        baseline: baselines.length ? summary(baselines) : undefined,
        direct: result.direct.length ? summary(result.direct) : undefined,
        counted: counted.length ? summary(counted) : undefined,
        rows: summary(result.samples.map((s) => s.rows)),
        bytes: summary(result.samples.map((s) => s.bytes)),
        mismatches: result.mismatches,
        errors: result.errors.slice(0, 20),
      };
    }),
    plans,
    loadAverageAtEnd: loadNow(),
  };
  const markdown = renderMarkdown(results);
  process.stdout.write(`\n${markdown}`);
  log(`results in ${writeResults('reports-', started, results, markdown)}.{md,json}`);
}

await runBench(main);
