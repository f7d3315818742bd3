import { type Kysely, sql } from 'kysely';

// Retention: per-site windows after which callers are masked, recording links dropped and visits purged
// (docs/PRIVACY.md says why these defaults), and each site's retention schedule with its last run.
// A null window keeps that data until it is deleted by hand.

const STATEMENTS = [
  `ALTER TABLE sites ADD COLUMN retention_caller_days integer DEFAULT 90
    CHECK (retention_caller_days BETWEEN 1 AND 3650)`,
  `ALTER TABLE sites ADD COLUMN retention_recording_days integer DEFAULT 30
    CHECK (retention_recording_days BETWEEN 1 AND 3650)`,
  `ALTER TABLE sites ADD COLUMN retention_session_days integer DEFAULT 180
    CHECK (retention_session_days BETWEEN 1 AND 3650)`,
  // Set when the caller was masked (or erased on request): the number is gone for good.
  'ALTER TABLE calls ADD COLUMN caller_masked_at timestamptz',
  // Each partial index holds only the rows a retention pass may still have to change, so a pass
  // reads what is left to do, never the whole history.
  `CREATE INDEX calls_caller_unmasked ON calls (site_id, started_at)
    WHERE caller IS NOT NULL AND caller_masked_at IS NULL`,
  'CREATE INDEX calls_recording_kept ON calls (site_id, started_at) WHERE recording_url IS NOT NULL',
  `CREATE INDEX calls_visit_kept ON calls (site_id, started_at)
    WHERE landing_url IS NOT NULL OR candidates <> '[]'::jsonb`,
  'CREATE INDEX call_orphan_events_received ON call_orphan_events (received_at)',
  `CREATE TABLE site_retention (
    site_id uuid PRIMARY KEY REFERENCES sites (id) ON DELETE CASCADE,
    -- A process claims the site for a scheduled pass by moving this forward (row lock, SKIP LOCKED).
    next_run_at timestamptz NOT NULL,
    last_trigger text CHECK (last_trigger IN ('schedule', 'manual')),
    last_started_at timestamptz,
    last_finished_at timestamptz,
    last_counts jsonb
  )`,
  'CREATE INDEX site_retention_due ON site_retention (next_run_at)',
];

export async function up(db: Kysely<unknown>): Promise<void> {
  // One statement per call: PGlite's extended protocol takes no multi-statement strings.
  for (const statement of STATEMENTS) await sql.raw(statement).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE IF EXISTS site_retention`.execute(db);
  await sql`DROP INDEX IF EXISTS call_orphan_events_received`.execute(db);
  await sql`DROP INDEX IF EXISTS calls_visit_kept`.execute(db);
  await sql`DROP INDEX IF EXISTS calls_recording_kept`.execute(db);
  await sql`DROP INDEX IF EXISTS calls_caller_unmasked`.execute(db);
  await sql`ALTER TABLE calls DROP COLUMN IF EXISTS caller_masked_at`.execute(db);
  await sql`ALTER TABLE sites DROP COLUMN IF EXISTS retention_session_days`.execute(db);
  await sql`ALTER TABLE sites DROP COLUMN IF EXISTS retention_recording_days`.execute(db);
  await sql`ALTER TABLE sites DROP COLUMN IF EXISTS retention_caller_days`.execute(db);
}
