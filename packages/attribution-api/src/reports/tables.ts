import type { ColumnType, Generated } from 'kysely';

/** Ad spend for one day, source and campaign (see the reports migration). */
export interface CostTable {
  id: Generated<string>;
  account_id: string;
  site_id: string;
  /** YYYY-MM-DD, a day on the site's clock; read back as text, never as a Date at UTC midnight. */
  date: ColumnType<string, string, string>;
  source: string;
  campaign: string | null;
  /** numeric, read back as a decimal string. */
  amount: ColumnType<string, string, string>;
  currency: string;
  created_at: ColumnType<Date, Date | string | undefined, never>;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

/** A pool's use in one 15-minute slot, rolled up once the slot is past (see rollup.ts). */
export interface PoolUsageTable {
  pool_id: string;
  slot: ColumnType<Date, Date | string, Date | string>;
  leases_started: number;
  peak_active_leases: number;
  peak_numbers_held: number;
  fallbacks: number;
  recycles: number;
}

/** How far a roll-up has gone, and the last rows it has seen. */
export interface ReportRollupTable {
  name: string;
  done_until: ColumnType<Date, Date | string, Date | string>;
  last_lease_id: ColumnType<string, string | number, string | number>;
  last_exhaustion_id: ColumnType<string, string | number, string | number>;
}

declare module '../db/schema.ts' {
  interface Database {
    costs: CostTable;
    pool_usage: PoolUsageTable;
    report_rollups: ReportRollupTable;
  }
  interface CallTable {
    /** The dialled number's pool when the call came in (filled by a trigger on insert). */
    pool_id: ColumnType<string | null, never, never>;
    /** The visit's referrer host without "www." (filled by a trigger on insert). */
    referrer_domain: ColumnType<string | null, never, never>;
  }
}
