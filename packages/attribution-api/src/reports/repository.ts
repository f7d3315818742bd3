import { type Kysely, type RawBuilder, sql, type Transaction } from 'kysely';
import type { Database } from '../db/schema.ts';
import type { CostRow } from './costs.ts';
import './tables.ts';

// All of the reports' SQL. Each function takes the database and plain parameters, so the
// benchmark can time the very queries the API runs. Time ranges arrive as instants computed from
// the site's time zone (see days.ts); buckets are cut in SQL with width_bucket over their starts.

type Db = Kysely<Database> | Transaction<Database>;

export const DIMENSIONS = [
  'source',
  'medium',
  'campaign',
  'term',
  'content',
  'landing_page',
  'referrer_domain',
  'device_type',
  'tracking_number',
  'pool',
] as const;
export type Dimension = (typeof DIMENSIONS)[number];

const COLUMN: Record<Dimension, string> = {
  source: 'source',
  medium: 'medium',
  campaign: 'campaign',
  term: 'term',
  content: 'content',
  landing_page: 'landing_url',
  referrer_domain: 'referrer_domain',
  device_type: 'device_type',
  tracking_number: 'tracking_number',
  pool: 'pool_id',
};

const dimension = (d: Dimension) => sql.ref(`c.${COLUMN[d]}`);

/** Answered: the call was picked up (it went in progress, or completed, which carriers only report for answered calls). */
const ANSWERED = sql`(c.answered_at IS NOT NULL OR c.status IN ('in-progress', 'completed'))`;

/** Instants as one PostgreSQL array parameter (both drivers take text; neither need guess array types). */
function instants(values: Date[]): RawBuilder<unknown> {
  return sql`${`{${values.map((d) => d.toISOString()).join(',')}}`}::timestamptz[]`;
}

export interface CallMeasures {
  calls: number;
  answered: number;
  qualified: number;
  first_time_callers: number;
  /** Mean duration of answered calls with a known duration, to 0.1 s. */
  avg_duration_s: number | null;
}

export interface CallGroupParams {
  siteId: string;
  start: Date;
  end: Date;
  groupBy: Dimension[];
  /** At most this many groups, most calls first; undefined: all. */
  limit?: number | undefined;
}

export interface CallGroups {
  groups: (CallMeasures & { values: (string | null)[] })[];
  totals: CallMeasures;
  /** Groups in all, before the limit. */
  groupCount: number;
}

/**
 * Calls in [start, end) grouped by the given dimensions, most calls first, with the totals over
 * every group (window sums over the groups, so the scan stays one and may run in parallel).
 * Served by calls_site_started.
 */
export async function callGroups(db: Db, params: CallGroupParams): Promise<CallGroups> {
  const dims = params.groupBy.map(dimension);
  const values = params.groupBy.map((d, i) => sql`${dimension(d)}::text AS ${sql.ref(`v${i}`)}`);
  const order = params.groupBy.map((_, i) => sql`${sql.ref(`v${i}`)} ASC NULLS LAST`);
  const limit = params.limit === undefined ? sql`` : sql`LIMIT ${params.limit}`;
  const result = await sql<Record<string, unknown>>`
    SELECT g.*,
      round(g.duration_sum::numeric / nullif(g.durations, 0), 1)::float8 AS avg_duration_s,
      (sum(g.calls) OVER ())::int AS total_calls, (sum(g.answered) OVER ())::int AS total_answered,
      (sum(g.qualified) OVER ())::int AS total_qualified,
      (sum(g.first_time_callers) OVER ())::int AS total_first_time_callers,
      round((sum(g.duration_sum) OVER ())::numeric / nullif(sum(g.durations) OVER (), 0), 1)::float8 AS total_avg_duration_s,
      (count(*) OVER ())::int AS group_count
    FROM (
      SELECT ${sql.join(values)},
        count(*)::int AS calls,
        (count(*) FILTER (WHERE ${ANSWERED}))::int AS answered,
        (count(*) FILTER (WHERE c.qualified))::int AS qualified,
        (count(*) FILTER (WHERE c.is_first_call))::int AS first_time_callers,
        sum(c.duration_s) FILTER (WHERE ${ANSWERED}) AS duration_sum,
        count(c.duration_s) FILTER (WHERE ${ANSWERED}) AS durations
      FROM calls c
      WHERE c.site_id = ${params.siteId} AND c.started_at >= ${params.start} AND c.started_at < ${params.end}
      GROUP BY ${sql.join(dims)}
    ) g
    ORDER BY g.calls DESC, ${sql.join(order)}
    ${limit}`.execute(db);
  const first = result.rows[0];
  return {
    groups: result.rows.map((row) => ({
      values: params.groupBy.map((_, i) => row[`v${i}`] as string | null),
      calls: row.calls as number,
      answered: row.answered as number,
      qualified: row.qualified as number,
      first_time_callers: row.first_time_callers as number,
      avg_duration_s: row.avg_duration_s as number | null,
    })),
    totals: {
      calls: (first?.total_calls as number) ?? 0,
      answered: (first?.total_answered as number) ?? 0,
      qualified: (first?.total_qualified as number) ?? 0,
      first_time_callers: (first?.total_first_time_callers as number) ?? 0,
      avg_duration_s: (first?.total_avg_duration_s as number | null) ?? null,
    },
    groupCount: (first?.group_count as number) ?? 0,
  };
}

export type CostDimension = 'source' | 'campaign';

export interface CostGroupRow {
  is_total: boolean;
  values: (string | null)[];
  /** Exact sum, as a decimal string; meaningless when currencies holds more than one. */
  amount: string;
  currencies: string[];
}

/** Costs of the local days from..to (YYYY-MM-DD, both included) by source and/or campaign, and in all. */
export async function costGroups(
  db: Db,
  params: { siteId: string; from: string; to: string; groupBy: CostDimension[] },
): Promise<CostGroupRow[]> {
  const dims = params.groupBy.map((d) => sql.ref(`k.${d}`));
  const values = params.groupBy.map((d, i) => sql`, ${sql.ref(`k.${d}`)} AS ${sql.ref(`v${i}`)}`);
  const sets = dims.length ? sql`GROUPING SETS ((${sql.join(dims)}), ())` : sql`()`;
  const isTotal = dims.length ? sql`GROUPING(${sql.join(dims)}) <> 0` : sql`true`;
  const result = await sql<Record<string, unknown>>`
    SELECT ${isTotal} AS is_total ${sql.join(values, sql``)},
      sum(k.amount)::text AS amount, string_agg(DISTINCT k.currency, ',' ORDER BY k.currency) AS currencies
    FROM costs k
    WHERE k.site_id = ${params.siteId} AND k.date >= ${params.from}::date AND k.date <= ${params.to}::date
    GROUP BY ${sets}`.execute(db);
  // With no cost in the range, the grand total row still comes, empty.
  return result.rows
    .filter((row) => row.amount !== null)
    .map((row) => ({
      is_total: row.is_total as boolean,
      values: params.groupBy.map((_, i) => row[`v${i}`] as string | null),
      amount: row.amount as string,
      currencies: String(row.currencies).split(','),
    }));
}

export interface DailyRow {
  /** 1-based index of the day in the range. */
  day: number;
  /** The group's value; undefined for the all-calls row of the day. */
  value?: string | null;
  calls: number;
  answered: number;
  qualified: number;
  first_time_callers: number;
}

export interface DailyParams {
  siteId: string;
  /** The start of each local day in the range, then the end of the last. */
  boundaries: Date[];
  groupBy?: Dimension | undefined;
  /** With groupBy: the groups with the most calls, at most this many. */
  groups?: number;
}

/** Calls per local day (only days with calls), and per day and group for the top groups. */
export async function dailyCalls(db: Db, params: DailyParams): Promise<DailyRow[]> {
  const starts = instants(params.boundaries.slice(0, -1));
  const start = params.boundaries[0] as Date;
  const end = params.boundaries.at(-1) as Date;
  const measures = sql`count(*)::int AS calls, (count(*) FILTER (WHERE ${ANSWERED}))::int AS answered,
    (count(*) FILTER (WHERE c.qualified))::int AS qualified,
    (count(*) FILTER (WHERE c.is_first_call))::int AS first_time_callers`;
  const where = sql`c.site_id = ${params.siteId} AND c.started_at >= ${start} AND c.started_at < ${end}`;
  if (!params.groupBy) {
    const result = await sql<DailyRow>`
      SELECT width_bucket(c.started_at, ${starts}) AS day, ${measures}
      FROM calls c WHERE ${where} GROUP BY 1 ORDER BY 1`.execute(db);
    return result.rows;
  }
  const result = await sql<DailyRow & { is_total: boolean }>`
    WITH per AS (
      SELECT width_bucket(c.started_at, ${starts}) AS day, ${dimension(params.groupBy)}::text AS value, ${measures}
      FROM calls c WHERE ${where} GROUP BY 1, 2
    ),
    top AS (
      SELECT value FROM per GROUP BY value ORDER BY sum(calls) DESC, value ASC NULLS LAST LIMIT ${params.groups ?? 20}
    )
    SELECT day, NULL AS value, true AS is_total, sum(calls)::int AS calls, sum(answered)::int AS answered,
      sum(qualified)::int AS qualified, sum(first_time_callers)::int AS first_time_callers
    FROM per GROUP BY day
    UNION ALL
    SELECT per.day, per.value, false, per.calls, per.answered, per.qualified, per.first_time_callers
    FROM per JOIN top ON per.value IS NOT DISTINCT FROM top.value
    ORDER BY day`.execute(db);
  return result.rows.map(({ is_total, ...row }) => (is_total ? { ...row, value: undefined } : row));
}

export interface PoolUse {
  leases_started: number;
  peak_active_leases: number;
  peak_numbers_held: number;
  fallbacks: number;
  recycles: number;
}

export interface PoolBucketRow extends PoolUse {
  pool_id: string;
  /** 1-based index of the bucket. */
  bucket: number;
}

export interface PoolSweepParams {
  /** The site's pools; undefined: every pool (the roll-up job). */
  siteId?: string | undefined;
  /** The start of each bucket, then the end of the last. */
  boundaries: Date[];
  /** Leases still running are counted up to now, not to their predicted end. */
  now: Date;
}

/**
 * Per pool and bucket, from the leases themselves: leases started, the peak of concurrent active
 * leases and of numbers held (active or in cooldown), and exhaustions. Peaks come from one sweep:
 * each lease is a +1 event at its start and -1 at its end, a running sum (window) gives the level
 * after each instant, and a zero event at every bucket start carries the level into buckets where
 * nothing starts or ends. Only leases started in the range are read (leases_pool_started), plus,
 * per number, the one that held it when the range began (leases_number_time): a number has one
 * holder at a time, so earlier leases of it were released before that one started.
 */
export async function poolSweep(db: Db, params: PoolSweepParams): Promise<PoolBucketRow[]> {
  const starts = instants(params.boundaries.slice(0, -1));
  const from = params.boundaries[0] as Date;
  const to = params.boundaries.at(-1) as Date;
  const pools = params.siteId ? sql`WHERE site_id = ${params.siteId}` : sql``;
  const result = await sql<PoolBucketRow>`
    WITH p AS (SELECT id FROM pools ${pools}),
    b AS (SELECT start FROM unnest(${starts}) AS start),
    l AS (
      SELECT le.pool_id, le.started_at, le.expires_at, le.ended_at, le.released_at, le.cooldown_s, false AS carried
      FROM leases le
      WHERE le.pool_id IN (SELECT id FROM p) AND le.started_at >= ${from} AND le.started_at < ${to}
      UNION ALL
      SELECT x.* FROM p JOIN tracking_numbers tn ON tn.pool_id = p.id
      CROSS JOIN LATERAL (
        SELECT le.pool_id, le.started_at, le.expires_at, le.ended_at, le.released_at, le.cooldown_s, true AS carried
        FROM leases le
        WHERE le.tracking_number_id = tn.id AND le.started_at < ${from}
        ORDER BY le.started_at DESC LIMIT 1
      ) x
      WHERE x.pool_id = p.id
    ),
    iv AS (
      SELECT pool_id, greatest(started_at, ${from}::timestamptz) AS s,
        least(coalesce(ended_at, expires_at), ${params.now}::timestamptz) AS active_end,
        least(coalesce(released_at, coalesce(ended_at, expires_at) + make_interval(secs => cooldown_s)),
          ${params.now}::timestamptz) AS held_end
      FROM l
    ),
    ev AS (
      SELECT pool_id, s AS t, (active_end > s)::int AS da, 1 AS dh FROM iv WHERE held_end > s
      UNION ALL SELECT pool_id, active_end, -1, 0 FROM iv WHERE active_end > s AND active_end < ${to}
      UNION ALL SELECT pool_id, held_end, 0, -1 FROM iv WHERE held_end > s AND held_end < ${to}
      UNION ALL SELECT p.id, b.start, 0, 0 FROM p CROSS JOIN b
    ),
    -- The default window frame takes every event at the same instant: the level after the instant.
    lv AS (
      SELECT pool_id, t, sum(da) OVER w AS active, sum(dh) OVER w AS held
      FROM ev WINDOW w AS (PARTITION BY pool_id ORDER BY t)
    ),
    peaks AS (
      SELECT pool_id, width_bucket(t, ${starts}) AS bucket, max(active)::int AS peak_active_leases,
        max(held)::int AS peak_numbers_held
      FROM lv GROUP BY 1, 2
    ),
    started AS (
      SELECT pool_id, width_bucket(started_at, ${starts}) AS bucket, count(*)::int AS n
      FROM l WHERE NOT carried GROUP BY 1, 2
    ),
    ex AS (
      SELECT pool_id, width_bucket(at, ${starts}) AS bucket,
        (count(*) FILTER (WHERE outcome = 'fallback'))::int AS fallbacks,
        (count(*) FILTER (WHERE outcome = 'recycled'))::int AS recycles
      FROM pool_exhaustions
      WHERE pool_id IN (SELECT id FROM p) AND at >= ${from} AND at < ${to}
      GROUP BY 1, 2
    )
    SELECT peaks.pool_id, peaks.bucket, coalesce(started.n, 0) AS leases_started,
      peaks.peak_active_leases, peaks.peak_numbers_held,
      coalesce(ex.fallbacks, 0) AS fallbacks, coalesce(ex.recycles, 0) AS recycles
    FROM peaks
    LEFT JOIN started USING (pool_id, bucket)
    LEFT JOIN ex USING (pool_id, bucket)
    ORDER BY peaks.pool_id, peaks.bucket`.execute(db);
  return result.rows;
}

export const POOL_USAGE = 'pool_usage';

/**
 * The site's rolled-up pool use per bucket, for the slots the roll-up has done: up to `doneUntil`,
 * pulled back to the oldest lease or exhaustion it has not seen yet. One statement, one snapshot.
 */
export async function poolUsageFromSlots(
  db: Db,
  params: { siteId: string; boundaries: Date[] },
): Promise<{ doneUntil: Date | null; rows: PoolBucketRow[] }> {
  const starts = instants(params.boundaries.slice(0, -1));
  const from = params.boundaries[0] as Date;
  const to = params.boundaries.at(-1) as Date;
  const result = await sql<PoolBucketRow & { done_until: Date | null }>`
    WITH st AS (
      SELECT least(r.done_until,
        (SELECT min(le.started_at) FROM leases le WHERE le.id > r.last_lease_id),
        (SELECT min(pe.at) FROM pool_exhaustions pe WHERE pe.id > r.last_exhaustion_id)) AS done_until
      FROM report_rollups r WHERE r.name = ${POOL_USAGE}
    )
    SELECT (SELECT done_until FROM st) AS done_until, agg.* FROM (SELECT 1) one
    LEFT JOIN LATERAL (
      SELECT u.pool_id, width_bucket(u.slot, ${starts}) AS bucket, sum(u.leases_started)::int AS leases_started,
        max(u.peak_active_leases) AS peak_active_leases, max(u.peak_numbers_held) AS peak_numbers_held,
        sum(u.fallbacks)::int AS fallbacks, sum(u.recycles)::int AS recycles
      FROM pool_usage u JOIN pools p ON p.id = u.pool_id
      WHERE p.site_id = ${params.siteId} AND u.slot >= ${from} AND u.slot < ${to}
        AND u.slot + interval '15 minutes' <= (SELECT done_until FROM st)
      GROUP BY 1, 2
    ) agg ON true`.execute(db);
  const doneUntil = result.rows[0]?.done_until ?? null;
  const rows = result.rows.filter((row) => row.pool_id !== null).map(({ done_until: _, ...row }) => row);
  return { doneUntil, rows };
}

// A constant key for pg_try_advisory_xact_lock: one roll-up at a time across service processes.
const ROLLUP_LOCK = 7_312_046_117;

/** Takes the roll-up's lock for this transaction, or answers false when another process holds it. */
export async function tryRollupLock(trx: Transaction<Database>): Promise<boolean> {
  const result = await sql<{
    locked: boolean;
  }>`SELECT pg_try_advisory_xact_lock(${ROLLUP_LOCK}::bigint) AS locked`.execute(trx);
  return result.rows[0]?.locked === true;
}

export interface RollupState {
  doneUntil: Date | null;
  lastLeaseId: string;
  lastExhaustionId: string;
}

/** The roll-up's state, the newest lease and exhaustion ids, and the oldest time among rows newer than it has seen. */
export async function rollupProgress(trx: Transaction<Database>): Promise<{
  state: RollupState;
  maxLeaseId: string;
  maxExhaustionId: string;
  oldestUnseen: Date | null;
}> {
  const state = await trx
    .selectFrom('report_rollups')
    .select(['done_until', 'last_lease_id', 'last_exhaustion_id'])
    .where('name', '=', POOL_USAGE)
    .executeTakeFirst();
  const lastLease = state?.last_lease_id ?? '0';
  const lastExhaustion = state?.last_exhaustion_id ?? '0';
  const result = await sql<{ max_lease: string | null; max_exhaustion: string | null; oldest: Date | null }>`
    SELECT (SELECT max(id) FROM leases)::text AS max_lease, (SELECT max(id) FROM pool_exhaustions)::text AS max_exhaustion,
      least((SELECT min(started_at) FROM leases WHERE id > ${lastLease}::bigint),
        (SELECT min(at) FROM pool_exhaustions WHERE id > ${lastExhaustion}::bigint)) AS oldest`.execute(trx);
  const row = result.rows[0];
  return {
    state: { doneUntil: state?.done_until ?? null, lastLeaseId: lastLease, lastExhaustionId: lastExhaustion },
    maxLeaseId: row?.max_lease ?? lastLease,
    maxExhaustionId: row?.max_exhaustion ?? lastExhaustion,
    oldestUnseen: row?.oldest ?? null,
  };
}

export async function saveRollupState(trx: Transaction<Database>, state: RollupState & { doneUntil: Date }) {
  const values = {
    name: POOL_USAGE,
    done_until: state.doneUntil,
    last_lease_id: state.lastLeaseId,
    last_exhaustion_id: state.lastExhaustionId,
  };
  await trx
    .insertInto('report_rollups')
    .values(values)
    .onConflict((oc) => oc.column('name').doUpdateSet(values))
    .execute();
}

/** Replaces the slots in [from, to) of every pool with these (slots with nothing going on are not stored). */
export async function replaceSlots(
  trx: Transaction<Database>,
  params: { from: Date; to: Date; rows: (PoolUse & { pool_id: string; slot: Date })[] },
) {
  await trx.deleteFrom('pool_usage').where('slot', '>=', params.from).where('slot', '<', params.to).execute();
  const rows = params.rows.filter(
    (r) => r.leases_started || r.peak_active_leases || r.peak_numbers_held || r.fallbacks || r.recycles,
  );
  for (let i = 0; i < rows.length; i += 1000) {
    await trx
      .insertInto('pool_usage')
      .values(rows.slice(i, i + 1000))
      .execute();
  }
}

/** The site's pools with their current size (numbers not retired). */
export async function sitePools(db: Db, siteId: string) {
  return db
    .selectFrom('pools')
    .leftJoin('tracking_numbers', (join) =>
      join.onRef('tracking_numbers.pool_id', '=', 'pools.id').on('tracking_numbers.retired_at', 'is', null),
    )
    .select((eb) => ['pools.id', 'pools.name', eb.fn.count<string>('tracking_numbers.id').as('size')])
    .where('pools.site_id', '=', siteId)
    .groupBy(['pools.id', 'pools.name', 'pools.created_at'])
    .orderBy('pools.created_at')
    .orderBy('pools.id')
    .execute();
}

/** Names of pools by id, for report rows grouped by pool (the site's own pools only). */
export async function poolNames(db: Db, siteId: string): Promise<Map<string, string>> {
  const rows = await db.selectFrom('pools').select(['id', 'name']).where('site_id', '=', siteId).execute();
  return new Map(rows.map((row) => [row.id, row.name]));
}

/** Stores costs all or nothing: a row for a day, source and campaign already there is replaced. */
export async function upsertCosts(
  db: Kysely<Database>,
  params: { accountId: string; siteId: string; rows: CostRow[]; now: Date },
): Promise<{ inserted: number; updated: number }> {
  return db.transaction().execute(async (trx) => {
    let inserted = 0;
    let updated = 0;
    for (let i = 0; i < params.rows.length; i += 1000) {
      const chunk = params.rows.slice(i, i + 1000).map((row) => ({
        account_id: params.accountId,
        site_id: params.siteId,
        ...row,
        created_at: params.now,
        updated_at: params.now,
      }));
      const result = await trx
        .insertInto('costs')
        .values(chunk)
        .onConflict((oc) =>
          oc.columns(['site_id', 'date', 'source', 'campaign']).doUpdateSet((eb) => ({
            amount: eb.ref('excluded.amount'),
            currency: eb.ref('excluded.currency'),
            updated_at: eb.ref('excluded.updated_at'),
          })),
        )
        // xmax is 0 for a row this statement inserted, set for one it updated.
        .returning(sql<boolean>`xmax = 0`.as('inserted'))
        .execute();
      for (const row of result) {
        if (row.inserted) inserted++;
        else updated++;
      }
    }
    return { inserted, updated };
  });
}

export async function listCosts(db: Db, params: { siteId: string; from: string; to: string }) {
  return db
    .selectFrom('costs')
    .select([
      sql<string>`to_char(date, 'YYYY-MM-DD')`.as('date'),
      'source',
      'campaign',
      'amount',
      'currency',
      'updated_at',
    ])
    .where('site_id', '=', params.siteId)
    .where('date', '>=', params.from)
    .where('date', '<=', params.to)
    .orderBy('date')
    .orderBy('source')
    .orderBy(sql`campaign NULLS FIRST`)
    .execute();
}
