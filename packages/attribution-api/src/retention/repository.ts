import { type Kysely, sql, type Transaction } from 'kysely';
import type { Database } from '../db/schema.ts';
import { maskCaller, type RetentionCounts } from './policy.ts';

type Db = Kysely<Database> | Transaction<Database>;

// Every statement here changes at most `limit` rows and takes its rows with SKIP LOCKED, so a large
// purge never holds many locks for long, several processes can run the same pass side by side, and
// running a pass again changes nothing.

export const BATCH = 5_000;

const ids = (values: readonly string[]) => sql`${[...values]}::uuid[]`;
const texts = (values: readonly string[]) => sql`${[...values]}::text[]`;

/** Runs `step` until it changes fewer rows than a full batch; returns the total. */
async function inBatches(limit: number, step: () => Promise<number>): Promise<number> {
  let total = 0;
  for (;;) {
    const changed = await step();
    total += changed;
    if (changed < limit) return total;
  }
}

export async function siteWindows(db: Db, siteId: string) {
  return db
    .selectFrom('sites')
    .select(['id', 'account_id', 'retention_caller_days', 'retention_recording_days', 'retention_session_days'])
    .where('id', '=', siteId)
    .executeTakeFirst();
}

/** Masks the callers of the site's calls started before `cutoff`. */
export async function maskCallers(db: Kysely<Database>, siteId: string, cutoff: Date, now: Date, limit = BATCH) {
  return inBatches(limit, () =>
    db.transaction().execute(async (trx) => {
      const rows = await trx
        .selectFrom('calls')
        .select(['id', 'caller'])
        .where('site_id', '=', siteId)
        .where('started_at', '<', cutoff)
        .where('caller', 'is not', null)
        .where('caller_masked_at', 'is', null)
        .limit(limit)
        .forUpdate()
        .skipLocked()
        .execute();
      if (rows.length === 0) return 0;
      const masked = rows.map((row) => maskCaller(row.caller ?? ''));
      await sql`
        UPDATE calls SET caller = v.masked, caller_masked_at = ${now}, updated_at = ${now}
        FROM unnest(${ids(rows.map((row) => row.id))}, ${texts(masked)}) AS v(id, masked)
        WHERE calls.id = v.id`.execute(trx);
      return rows.length;
    }),
  );
}

/** Drops the recording links of the site's calls started before `cutoff` (the recording stays at the provider). */
export async function dropRecordings(db: Kysely<Database>, siteId: string, cutoff: Date, now: Date, limit = BATCH) {
  return inBatches(limit, async () => {
    const result = await db
      .updateTable('calls')
      .set({ recording_url: null, recording_duration_s: null, updated_at: now })
      .where('id', 'in', (eb) =>
        eb
          .selectFrom('calls')
          .select('id')
          .where('site_id', '=', siteId)
          .where('started_at', '<', cutoff)
          .where('recording_url', 'is not', null)
          .limit(limit)
          .forUpdate()
          .skipLocked(),
      )
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  });
}

const VISIT_CLEARED = { landing_url: null, candidates: '[]' } as const;
// The predicate of the calls_visit_kept index.
const VISIT_KEPT = sql<boolean>`(landing_url IS NOT NULL OR candidates <> '[]'::jsonb)`;

/**
 * Purges the site's visits last seen before `cutoff`, except any whose lease still holds a number:
 * their leases, taps and pool exhaustions go with them (foreign keys), calls lose their landing page
 * and candidates, and a visitor whose last visit this was loses its row (the first touch).
 */
export async function purgeSessions(db: Kysely<Database>, siteId: string, cutoff: Date, now: Date, limit = BATCH) {
  const counts = { sessions: 0, visitors: 0, calls: 0 };
  await inBatches(limit, () =>
    db.transaction().execute(async (trx) => {
      const doomed = await trx
        .selectFrom('sessions')
        .select(['id', 'visitor_id'])
        .where('site_id', '=', siteId)
        // created_at ≤ last_seen_at: the first bound lets the (site_id, created_at) index do the work.
        .where('created_at', '<', cutoff)
        .where('last_seen_at', '<', cutoff)
        .where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom('leases')
                .select('leases.id')
                .whereRef('leases.session_id', '=', 'sessions.id')
                .where('leases.released_at', 'is', null)
                .where(sql<Date>`leases.expires_at + make_interval(secs => leases.cooldown_s)`, '>', now),
            ),
          ),
        )
        .orderBy('created_at')
        .limit(limit)
        .forUpdate()
        .skipLocked()
        .execute();
      if (doomed.length === 0) return 0;
      const sessionIds = doomed.map((row) => row.id);
      const cleared = await trx
        .updateTable('calls')
        .set({ ...VISIT_CLEARED, updated_at: now })
        .where(sql<boolean>`session_id = ANY(${ids(sessionIds)})`)
        .where(VISIT_KEPT)
        .executeTakeFirst();
      const deleted = await trx
        .deleteFrom('sessions')
        .where(sql<boolean>`id = ANY(${ids(sessionIds)})`)
        .executeTakeFirst();
      const visitors = await deleteVisitorsWithoutSessions(trx, siteId, [...new Set(doomed.map((r) => r.visitor_id))]);
      counts.calls += Number(cleared.numUpdatedRows);
      counts.sessions += Number(deleted.numDeletedRows);
      counts.visitors += visitors;
      return doomed.length;
    }),
  );
  return counts;
}

async function deleteVisitorsWithoutSessions(trx: Transaction<Database>, siteId: string, visitorIds: string[]) {
  if (visitorIds.length === 0) return 0;
  const result = await trx
    .deleteFrom('visitors')
    .where('site_id', '=', siteId)
    .where(sql<boolean>`id = ANY(${texts(visitorIds)})`)
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('sessions')
            .select('sessions.id')
            .whereRef('sessions.site_id', '=', 'visitors.site_id')
            .whereRef('sessions.visitor_id', '=', 'visitors.id'),
        ),
      ),
    )
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** Clears the visit-level detail (landing page, candidate visits) of the site's calls started before `cutoff`. */
export async function clearCallVisits(db: Kysely<Database>, siteId: string, cutoff: Date, now: Date, limit = BATCH) {
  return inBatches(limit, async () => {
    const result = await db
      .updateTable('calls')
      .set({ ...VISIT_CLEARED, updated_at: now })
      .where('id', 'in', (eb) =>
        eb
          .selectFrom('calls')
          .select('id')
          .where('site_id', '=', siteId)
          .where('started_at', '<', cutoff)
          .where(VISIT_KEPT)
          .limit(limit)
          .forUpdate()
          .skipLocked(),
      )
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  });
}

/**
 * Deletes provider events that have waited a week for a call that never came (they may hold a
 * recording link). Their arrival time is the database's, so the database's clock judges them.
 */
export async function purgeOrphanEvents(db: Kysely<Database>, limit = BATCH) {
  return inBatches(limit, async () => {
    const result = await db
      .deleteFrom('call_orphan_events')
      .where('id', 'in', (eb) =>
        eb
          .selectFrom('call_orphan_events')
          .select('id')
          .where('received_at', '<', sql<Date>`now() - interval '7 days'`)
          .limit(limit)
          .forUpdate()
          .skipLocked(),
      )
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  });
}

/** Gives every site without one a schedule row, due now. */
export async function scheduleNewSites(db: Db, now: Date) {
  await db
    .insertInto('site_retention')
    .columns(['site_id', 'next_run_at'])
    .expression((eb) =>
      eb
        .selectFrom('sites')
        .select(['sites.id', sql<Date>`${now}::timestamptz`.as('next_run_at')])
        .where(({ not, exists, selectFrom }) =>
          not(exists(selectFrom('site_retention as r').select('r.site_id').whereRef('r.site_id', '=', 'sites.id'))),
        ),
    )
    .onConflict((oc) => oc.column('site_id').doNothing())
    .execute();
}

/** Claims one site whose pass is due, moving its next run to `next`; undefined when none is due. */
export async function claimDueSite(db: Db, now: Date, next: Date): Promise<string | undefined> {
  const row = await db
    .updateTable('site_retention')
    .set({ next_run_at: next })
    .where('site_id', '=', (eb) =>
      eb
        .selectFrom('site_retention as due')
        .select('due.site_id')
        .where('due.next_run_at', '<=', now)
        .orderBy('due.next_run_at')
        .limit(1)
        .forUpdate()
        .skipLocked(),
    )
    .returning('site_id')
    .executeTakeFirst();
  return row?.site_id;
}

export interface RunRecord {
  trigger: 'schedule' | 'manual';
  started_at: Date;
  finished_at: Date;
  counts: RetentionCounts;
}

export async function recordRun(db: Db, siteId: string, run: RunRecord, next: Date) {
  const last = {
    last_trigger: run.trigger,
    last_started_at: run.started_at,
    last_finished_at: run.finished_at,
    last_counts: JSON.stringify(run.counts),
  };
  // Through the sites table: a site deleted during its pass gets no row.
  await db
    .insertInto('site_retention')
    .columns(['site_id', 'next_run_at', 'last_trigger', 'last_started_at', 'last_finished_at', 'last_counts'])
    .expression((eb) =>
      eb
        .selectFrom('sites')
        .select([
          'sites.id',
          sql<Date>`${next}::timestamptz`.as('next_run_at'),
          sql<string>`${last.last_trigger}::text`.as('last_trigger'),
          sql<Date>`${last.last_started_at}::timestamptz`.as('last_started_at'),
          sql<Date>`${last.last_finished_at}::timestamptz`.as('last_finished_at'),
          sql<string>`${last.last_counts}::jsonb`.as('last_counts'),
        ])
        .where('sites.id', '=', siteId),
    )
    .onConflict((oc) => oc.column('site_id').doUpdateSet(last))
    .execute();
}

export async function retentionState(db: Db, siteId: string) {
  return db.selectFrom('site_retention').selectAll().where('site_id', '=', siteId).executeTakeFirst();
}

export interface ErasureCounts {
  calls: number;
  recordings_dropped: number;
  sessions_deleted: number;
  visitors_deleted: number;
}

/**
 * Erases one caller from a site, on their request. The calls stay (reports still count them) but
 * lose the number, the recording link, the visit detail and the link between them; the visits they
 * were attributed to are deleted with every other visit of the same browser (visitor), leases or
 * not; the webhook events that carry those calls (sent or waiting) are deleted.
 */
export async function eraseCaller(db: Kysely<Database>, siteId: string, e164: string, now: Date) {
  return db.transaction().execute(async (trx): Promise<ErasureCounts> => {
    // A repeat call links to the caller's first call (first_call_id): following those links both ways
    // reaches the caller's calls already masked, and their recording links and visits.
    const linked = await sql<{ id: string }>`
      WITH RECURSIVE linked (id, first_call_id) AS (
        SELECT id, first_call_id FROM calls WHERE site_id = ${siteId} AND caller = ${e164}
        UNION
        SELECT c.id, c.first_call_id FROM calls c JOIN linked l ON c.id = l.first_call_id OR c.first_call_id = l.id
        WHERE c.site_id = ${siteId}
      )
      SELECT id FROM linked`.execute(trx);
    if (linked.rows.length === 0) return { calls: 0, recordings_dropped: 0, sessions_deleted: 0, visitors_deleted: 0 };
    const calls = await trx
      .selectFrom('calls')
      .select(['id', 'session_id', 'recording_url'])
      .where(sql<boolean>`id = ANY(${ids(linked.rows.map((row) => row.id))})`)
      .forUpdate()
      .execute();
    const callIds = calls.map((row) => row.id);
    const attributed = [...new Set(calls.flatMap((row) => (row.session_id ? [row.session_id] : [])))];
    const visitorIds = attributed.length
      ? (
          await trx
            .selectFrom('sessions')
            .select('visitor_id')
            .distinct()
            .where('site_id', '=', siteId)
            .where(sql<boolean>`id = ANY(${ids(attributed)})`)
            .execute()
        ).map((row) => row.visitor_id)
      : [];
    let sessionsDeleted = 0;
    let visitorsDeleted = 0;
    if (visitorIds.length) {
      const sessions = await trx
        .selectFrom('sessions')
        .select('id')
        .where('site_id', '=', siteId)
        .where(sql<boolean>`visitor_id = ANY(${texts(visitorIds)})`)
        .execute();
      const sessionIds = sessions.map((row) => row.id);
      await trx
        .updateTable('calls')
        .set({ ...VISIT_CLEARED, updated_at: now })
        .where(sql<boolean>`session_id = ANY(${ids(sessionIds)})`)
        .execute();
      const deleted = await trx
        .deleteFrom('sessions')
        .where(sql<boolean>`id = ANY(${ids(sessionIds)})`)
        .executeTakeFirst();
      sessionsDeleted = Number(deleted.numDeletedRows);
      const visitors = await trx
        .deleteFrom('visitors')
        .where('site_id', '=', siteId)
        .where(sql<boolean>`id = ANY(${texts(visitorIds)})`)
        .executeTakeFirst();
      visitorsDeleted = Number(visitors.numDeletedRows);
    }
    await trx
      .updateTable('calls')
      .set({
        caller: null,
        caller_masked_at: now,
        recording_url: null,
        recording_duration_s: null,
        session_id: null,
        first_call_id: null,
        ...VISIT_CLEARED,
        updated_at: now,
      })
      .where(sql<boolean>`id = ANY(${ids(callIds)})`)
      .execute();
    await trx
      .deleteFrom('webhook_events')
      .where(sql<boolean>`call_id = ANY(${ids(callIds)})`)
      .execute();
    return {
      calls: callIds.length,
      recordings_dropped: calls.filter((row) => row.recording_url !== null).length,
      sessions_deleted: sessionsDeleted,
      visitors_deleted: visitorsDeleted,
    };
  });
}
