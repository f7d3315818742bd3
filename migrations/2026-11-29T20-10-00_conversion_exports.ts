import { type Kysely, sql } from 'kysely';

// Which calls went to an ad platform under which conversion name: each call is uploaded once
// per conversion name, and the primary key is what keeps two concurrent exports from both
// claiming the same call.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE conversion_exports (
      call_id uuid NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
      conversion_name text NOT NULL CHECK (char_length(conversion_name) BETWEEN 1 AND 100),
      exported_at timestamptz NOT NULL,
      PRIMARY KEY (call_id, conversion_name)
    )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE IF EXISTS conversion_exports`.execute(db);
}
