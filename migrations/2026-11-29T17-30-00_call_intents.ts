import { type Kysely, sql } from 'kysely';

// A tap on a swapped tel: link: the visitor is about to call. The calls work raises confidence with it.

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE call_intents (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
      site_id uuid NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
      tracking_number text NOT NULL,
      at timestamptz NOT NULL
    )`.execute(db);
  await sql`CREATE INDEX call_intents_number_at ON call_intents (tracking_number, at)`.execute(db);
  await sql`CREATE INDEX call_intents_session ON call_intents (session_id)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE IF EXISTS call_intents`.execute(db);
}
