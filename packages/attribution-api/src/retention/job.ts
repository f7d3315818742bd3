import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import { NO_COUNTS, nextRunAt, type RetentionCounts, retentionCutoffs } from './policy.ts';
import {
  BATCH,
  claimDueSite,
  clearCallVisits,
  dropRecordings,
  maskCallers,
  purgeOrphanEvents,
  purgeSessions,
  type RunRecord,
  recordRun,
  scheduleNewSites,
  siteWindows,
} from './repository.ts';

export interface RetentionJobOptions {
  db: Kysely<Database>;
  clock: () => Date;
  /** How often each site's pass runs (and how often this process looks for due sites); 0 turns the schedule off. */
  intervalMs: number;
  /** Delay before this process first looks (default: the interval, at most 5 min), so a restart does not wait a full interval. */
  firstRunDelayMs?: number | undefined;
  batchSize?: number | undefined;
  log?: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void } | undefined;
}

export const DEFAULT_RETENTION_INTERVAL_MS = 60 * 60_000;

/**
 * Runs each site's retention pass on a schedule kept in the database: every process looks for due
 * sites, and a site is claimed by one of them per interval (row lock, SKIP LOCKED). A pass that two
 * processes run at once anyway (a manual run) is still safe: each statement is idempotent.
 */
export class RetentionJob {
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private scheduled = false;
  private closed = false;

  constructor(private readonly options: RetentionJobOptions) {}

  get intervalMs(): number {
    return this.options.intervalMs;
  }

  start(): void {
    if (this.options.intervalMs <= 0 || this.scheduled || this.closed) return;
    this.scheduled = true;
    const first = this.options.firstRunDelayMs ?? Math.min(this.options.intervalMs, 5 * 60_000);
    const schedule = (delay: number) => {
      this.timer = setTimeout(() => {
        void this.tick().finally(() => {
          if (!this.closed) schedule(this.options.intervalMs);
        });
      }, delay);
      this.timer.unref();
    };
    schedule(first);
  }

  /** Stops the schedule for good and waits for a pass in progress to finish its current site. */
  async stop(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.ticking;
  }

  /** Runs every due site's pass in turn; errors are logged, never thrown. */
  tick(): Promise<void> {
    this.ticking ??= this.runDue().finally(() => {
      this.ticking = undefined;
    });
    return this.ticking;
  }

  private async runDue(): Promise<void> {
    const { db, clock } = this.options;
    try {
      await scheduleNewSites(db, clock());
      for (;;) {
        if (this.closed) return;
        const now = clock();
        const siteId = await claimDueSite(db, now, nextRunAt(now, this.options.intervalMs));
        if (!siteId) break;
        await this.runSite(siteId, 'schedule');
      }
      const orphans = await purgeOrphanEvents(db, this.batch);
      if (orphans > 0) this.options.log?.info({ orphans }, 'retention: old unmatched provider events deleted');
    } catch (err) {
      this.options.log?.warn({ err }, 'retention pass failed; trying again at the next interval');
    }
  }

  private get batch(): number {
    return this.options.batchSize ?? BATCH;
  }

  /** One site's pass, now; undefined when the site does not exist. */
  async runSite(siteId: string, trigger: RunRecord['trigger']): Promise<RunRecord | undefined> {
    const { db, clock } = this.options;
    const site = await siteWindows(db, siteId);
    if (!site) return undefined;
    const startedAt = clock();
    const cutoffs = retentionCutoffs(site, startedAt);
    const counts: RetentionCounts = { ...NO_COUNTS };
    const batch = this.batch;
    if (cutoffs.callers) counts.callers_masked = await maskCallers(db, siteId, cutoffs.callers, startedAt, batch);
    if (cutoffs.recordings) {
      counts.recordings_dropped = await dropRecordings(db, siteId, cutoffs.recordings, startedAt, batch);
    }
    if (cutoffs.sessions) {
      const purged = await purgeSessions(db, siteId, cutoffs.sessions, startedAt, batch);
      const older = await clearCallVisits(db, siteId, cutoffs.sessions, startedAt, batch);
      counts.sessions_purged = purged.sessions;
      counts.visitors_purged = purged.visitors;
      counts.calls_visit_cleared = purged.calls + older;
    }
    const run: RunRecord = { trigger, started_at: startedAt, finished_at: clock(), counts };
    await recordRun(db, siteId, run, nextRunAt(startedAt, this.options.intervalMs || DEFAULT_RETENTION_INTERVAL_MS));
    // Counts only: never a number, a URL or an id of a visitor.
    this.options.log?.info({ siteId, trigger, counts }, 'retention pass');
    return run;
  }
}
