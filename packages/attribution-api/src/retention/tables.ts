import type { ColumnType, Generated } from 'kysely';
import type { RetentionCounts } from './policy.ts';

type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;

/** A site's retention schedule and its last pass (see the retention migration). */
export interface SiteRetentionTable {
  site_id: string;
  next_run_at: ColumnType<Date, Date | string, Date | string>;
  last_trigger: 'schedule' | 'manual' | null;
  last_started_at: NullableTimestamp;
  last_finished_at: NullableTimestamp;
  last_counts: ColumnType<RetentionCounts | null, string | null, string | null>;
}

declare module '../db/schema.ts' {
  interface SiteTable {
    /** Days after which a call's caller is masked; null: never. */
    retention_caller_days: Generated<number | null>;
    /** Days after which a call's recording link is dropped; null: never. */
    retention_recording_days: Generated<number | null>;
    /** Days after its last activity a visit is purged with all that derives from it; null: never. */
    retention_session_days: Generated<number | null>;
  }
  interface CallTable {
    caller_masked_at: NullableTimestamp;
  }
  interface Database {
    site_retention: SiteRetentionTable;
  }
}
