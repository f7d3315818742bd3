import { formatAmount, perUnit } from './money.ts';
import type { CallMeasures, CostGroupRow, PoolUse } from './repository.ts';

// Report rows put together from query rows: costs beside calls, days and buckets zero-filled,
// rolled-up and live pool use joined. No I/O.

export interface CostFigures {
  /** Spend in the range, a decimal string; null when none was imported or it is in several currencies. */
  cost: string | null;
  currency: string | null;
  cost_per_call: string | null;
  cost_per_qualified_call: string | null;
  /** Why cost is null although costs exist. */
  cost_note: string | null;
}

export const NO_COST: CostFigures = {
  cost: null,
  currency: null,
  cost_per_call: null,
  cost_per_qualified_call: null,
  cost_note: null,
};

export const ZERO_CALLS: CallMeasures = {
  calls: 0,
  answered: 0,
  qualified: 0,
  first_time_callers: 0,
  avg_duration_s: null,
};

/** Cost, and cost per call and per qualified call, for one row. */
export function costFigures(cost: CostGroupRow | undefined, measures: CallMeasures): CostFigures {
  if (!cost) return NO_COST;
  if (cost.currencies.length !== 1) {
    return {
      ...NO_COST,
      cost_note: `costs in several currencies (${cost.currencies.join(', ')}) are not added up; import them in one`,
    };
  }
  const currency = cost.currencies[0] as string;
  return {
    cost: formatAmount(cost.amount, currency),
    currency,
    cost_per_call: perUnit(cost.amount, measures.calls, currency),
    cost_per_qualified_call: perUnit(cost.amount, measures.qualified, currency),
    cost_note: null,
  };
}

const keyOf = (values: (string | null)[]) => JSON.stringify(values);

export interface GroupRow extends CallMeasures {
  values: (string | null)[];
}

export interface CostedRow extends GroupRow, CostFigures {}

/**
 * Call groups and cost groups (same dimensions) side by side: a group with costs but no calls is
 * a row too, with zero calls. Most calls first, then most spend, then by value.
 */
export function withCosts(groups: GroupRow[], costs: CostGroupRow[]): CostedRow[] {
  const costByKey = new Map(costs.filter((c) => !c.is_total).map((c) => [keyOf(c.values), c]));
  const rows: CostedRow[] = groups.map((group) => {
    const cost = costByKey.get(keyOf(group.values));
    costByKey.delete(keyOf(group.values));
    return { ...group, ...costFigures(cost, group) };
  });
  for (const cost of costByKey.values()) {
    rows.push({ values: cost.values, ...ZERO_CALLS, ...costFigures(cost, ZERO_CALLS) });
  }
  const spend = (row: CostedRow) => (row.cost === null ? -1 : Number(row.cost));
  return rows.sort((a, b) => b.calls - a.calls || spend(b) - spend(a) || compareValues(a.values, b.values));
}

/** Values in ascending order, nulls last, as the SQL orders them. */
export function compareValues(a: (string | null)[], b: (string | null)[]): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? null;
    const y = b[i] ?? null;
    if (x === y) continue;
    if (x === null) return 1;
    if (y === null) return -1;
    return x < y ? -1 : 1;
  }
  return 0;
}

export interface DayCounts {
  date: string;
  calls: number;
  answered: number;
  qualified: number;
  first_time_callers: number;
}

type DayRow = { day: number; calls: number; answered: number; qualified: number; first_time_callers: number };

/** One entry per day of the range, in order, zero where the query found no calls. */
export function fillDays(dates: string[], rows: DayRow[]): DayCounts[] {
  const byDay = new Map(rows.map((row) => [row.day, row]));
  return dates.map((date, i) => {
    const row = byDay.get(i + 1);
    return {
      date,
      calls: row?.calls ?? 0,
      answered: row?.answered ?? 0,
      qualified: row?.qualified ?? 0,
      first_time_callers: row?.first_time_callers ?? 0,
    };
  });
}

export const NO_USE: PoolUse = {
  leases_started: 0,
  peak_active_leases: 0,
  peak_numbers_held: 0,
  fallbacks: 0,
  recycles: 0,
};

/** Two parts of one bucket (rolled up and live): counts add, peaks take the higher. */
export function combineUse(a: PoolUse, b: PoolUse): PoolUse {
  return {
    leases_started: a.leases_started + b.leases_started,
    peak_active_leases: Math.max(a.peak_active_leases, b.peak_active_leases),
    peak_numbers_held: Math.max(a.peak_numbers_held, b.peak_numbers_held),
    fallbacks: a.fallbacks + b.fallbacks,
    recycles: a.recycles + b.recycles,
  };
}

/** Of the visits that asked the pool for a number (a lease or the fallback), the share shown the fallback. */
export function fallbackShare(use: PoolUse): number | null {
  const asked = use.leases_started + use.fallbacks;
  return asked ? Math.round((use.fallbacks / asked) * 10_000) / 10_000 : null;
}

/**
 * Where the roll-up ends and the live sweep takes over: at the roll-up's progress, kept inside the
 * range; at the range start (all live) when a bucket edge is not on a slot edge.
 */
export function splitAt(boundaries: Date[], doneUntil: Date | null, slotMs: number): number {
  const start = (boundaries[0] as Date).getTime();
  const end = (boundaries.at(-1) as Date).getTime();
  if (!doneUntil || boundaries.some((b) => b.getTime() % slotMs !== 0)) return start;
  const done = Math.floor(doneUntil.getTime() / slotMs) * slotMs;
  return Math.min(Math.max(done, start), end);
}

/** The live sweep's buckets from `split` on: the report's edges after it, mapped back to report buckets. */
export function liveBuckets(boundaries: Date[], split: number): { boundaries: Date[]; reportBucket: number[] } {
  const end = (boundaries.at(-1) as Date).getTime();
  const edges = [split, ...boundaries.map((b) => b.getTime()).filter((t) => t > split && t < end), end];
  const reportBucket = edges.slice(0, -1).map((t) => {
    let i = 0;
    while (i + 1 < boundaries.length - 1 && (boundaries[i + 1] as Date).getTime() <= t) i++;
    return i + 1;
  });
  return { boundaries: edges.map((t) => new Date(t)), reportBucket };
}
