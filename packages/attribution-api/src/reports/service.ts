import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import {
  combineUse,
  costFigures,
  fallbackShare,
  fillDays,
  liveBuckets,
  NO_USE,
  splitAt,
  withCosts,
} from './assemble.ts';
import { addDays, type Bucket, dayBuckets, dayStart, daysFrom, hourBuckets } from './days.ts';
import {
  type CostDimension,
  callGroups,
  costGroups,
  type Dimension,
  dailyCalls,
  type PoolUse,
  poolNames,
  poolSweep,
  poolUsageFromSlots,
  sitePools,
} from './repository.ts';
import { SLOT_MS } from './rollup.ts';

// The reports as the API gives them, from a site already checked to be the caller's. Each takes
// the database and plain parameters, so the benchmark can call them as the routes do.

export interface ReportSite {
  id: string;
  time_zone: string;
}

export interface CallsReportParams {
  from: string;
  to: string;
  groupBy: Dimension[];
  limit: number;
}

const COST_DIMENSIONS: readonly Dimension[] = ['source', 'campaign'];

/** Whether spend can stand beside each row: costs are kept per source and campaign only. */
export const costApplies = (groupBy: Dimension[]) => groupBy.every((d) => COST_DIMENSIONS.includes(d));

export async function callsReport(db: Kysely<Database>, site: ReportSite, params: CallsReportParams) {
  const start = dayStart(params.from, site.time_zone);
  const end = dayStart(addDays(params.to, 1), site.time_zone);
  const withCost = costApplies(params.groupBy);
  const calls = await callGroups(db, {
    siteId: site.id,
    start,
    end,
    groupBy: params.groupBy,
    limit: withCost ? undefined : params.limit,
  });
  const costs = await costGroups(db, {
    siteId: site.id,
    from: params.from,
    to: params.to,
    groupBy: withCost ? (params.groupBy as CostDimension[]) : [],
  });
  const names = params.groupBy.includes('pool') ? await poolNames(db, site.id) : undefined;
  const rows = withCost ? withCosts(calls.groups, costs) : calls.groups;
  const shown = rows.slice(0, params.limit);
  return {
    site_id: site.id,
    from: params.from,
    to: params.to,
    time_zone: site.time_zone,
    start,
    end,
    group_by: params.groupBy,
    rows: shown.map(({ values, ...measures }) => {
      const row: Record<string, unknown> = {};
      params.groupBy.forEach((d, i) => {
        row[d] = values[i] ?? null;
      });
      if (names) row.pool_name = names.get(values[params.groupBy.indexOf('pool')] ?? '') ?? null;
      return { ...row, ...measures };
    }),
    truncated: rows.length > shown.length || calls.groupCount > calls.groups.length,
    totals: {
      ...calls.totals,
      ...costFigures(
        costs.find((c) => c.is_total),
        calls.totals,
      ),
    },
  };
}

export interface DailyReportParams {
  from: string;
  to: string;
  groupBy?: Dimension | undefined;
  groups: number;
}

export async function dailyReport(db: Kysely<Database>, site: ReportSite, params: DailyReportParams) {
  const buckets = dayBuckets(params.from, params.to, site.time_zone);
  const boundaries = [...buckets.map((b) => b.start), (buckets.at(-1) as Bucket).end];
  const dates = daysFrom(params.from, params.to);
  const rows = await dailyCalls(db, {
    siteId: site.id,
    boundaries,
    groupBy: params.groupBy,
    groups: params.groups,
  });
  const all = rows.filter((row) => row.value === undefined);
  const byValue = new Map<string | null, typeof rows>();
  for (const row of rows) {
    if (row.value === undefined) continue;
    byValue.set(row.value, [...(byValue.get(row.value) ?? []), row]);
  }
  const total = (list: typeof rows) => list.reduce((sum, row) => sum + row.calls, 0);
  const groups = [...byValue.entries()]
    .map(([value, list]) => ({ value, calls: total(list), days: fillDays(dates, list) }))
    .sort((a, b) => b.calls - a.calls || compareNullsLast(a.value, b.value));
  return {
    site_id: site.id,
    from: params.from,
    to: params.to,
    time_zone: site.time_zone,
    group_by: params.groupBy ?? null,
    days: fillDays(dates, all),
    ...(params.groupBy
      ? { groups: groups.map(({ value, days }) => ({ [params.groupBy as string]: value, days })) }
      : {}),
  };
}

function compareNullsLast(a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return a < b ? -1 : 1;
}

export interface PoolsReportParams {
  from: string;
  to: string;
  bucket: 'hour' | 'day';
  now: Date;
}

/**
 * Pool use per bucket: from the 15-minute roll-up for the part of the range it has done, from the
 * leases themselves (the sweep) for the rest; the two agree on every bucket (tested).
 */
export async function poolsReport(db: Kysely<Database>, site: ReportSite, params: PoolsReportParams) {
  const buckets = (params.bucket === 'hour' ? hourBuckets : dayBuckets)(params.from, params.to, site.time_zone);
  const boundaries = [...buckets.map((b) => b.start), (buckets.at(-1) as Bucket).end];
  const pools = await sitePools(db, site.id);
  const use = new Map<string, PoolUse>();
  const add = (poolId: string, bucket: number, part: PoolUse) => {
    const key = `${poolId} ${bucket}`;
    use.set(key, combineUse(use.get(key) ?? NO_USE, part));
  };

  const rolled = await poolUsageFromSlots(db, { siteId: site.id, boundaries });
  const split = splitAt(boundaries, rolled.doneUntil, SLOT_MS);
  if (split > (boundaries[0] as Date).getTime()) {
    for (const { pool_id, bucket, ...part } of rolled.rows) add(pool_id, bucket, part);
  }
  const end = (boundaries.at(-1) as Date).getTime();
  if (split < end) {
    const live = liveBuckets(boundaries, split);
    const rows = await poolSweep(db, { siteId: site.id, boundaries: live.boundaries, now: params.now });
    for (const { pool_id, bucket, ...part } of rows) add(pool_id, live.reportBucket[bucket - 1] as number, part);
  }

  return {
    site_id: site.id,
    from: params.from,
    to: params.to,
    time_zone: site.time_zone,
    bucket: params.bucket,
    pools: pools.map((pool) => ({
      id: pool.id,
      name: pool.name,
      size: Number(pool.size),
      buckets: buckets.map((b, i) => {
        const u = use.get(`${pool.id} ${i + 1}`) ?? NO_USE;
        return {
          start: b.start,
          end: b.end,
          label: b.label,
          ...u,
          exhaustions: u.fallbacks + u.recycles,
          fallback_share: fallbackShare(u),
        };
      }),
    })),
  };
}
