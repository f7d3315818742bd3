import { type Kysely, sql } from 'kysely';

// Outbound webhooks: an account's endpoints, the events written in the same transaction as their
// call (a transactional outbox), one delivery per event and endpoint (the queue), and its attempts.

const STATEMENTS = [
  `CREATE TABLE webhook_endpoints (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    url text NOT NULL,
    description text,
    events text[] NOT NULL CHECK (cardinality(events) > 0),
    enabled boolean NOT NULL DEFAULT true,
    -- The HMAC key, so it cannot be hashed: write-only through the API, shown once.
    secret text NOT NULL,
    -- After a rotation the old key keeps signing beside the new one until it expires.
    previous_secret text,
    previous_secret_expires_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
  )`,
  'CREATE INDEX webhook_endpoints_account ON webhook_endpoints (account_id, created_at, id)',
  `CREATE TABLE webhook_events (
    id uuid PRIMARY KEY,
    account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    type text NOT NULL,
    -- Purging a call purges the copies of it that wait to be sent.
    call_id uuid REFERENCES calls (id) ON DELETE CASCADE,
    -- The exact bytes sent, every attempt: the event id and payload never change across retries.
    body text NOT NULL,
    created_at timestamptz NOT NULL
  )`,
  'CREATE INDEX webhook_events_created ON webhook_events (created_at)',
  'CREATE INDEX webhook_events_call ON webhook_events (call_id) WHERE call_id IS NOT NULL',
  `CREATE TABLE webhook_deliveries (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    endpoint_id uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id uuid NOT NULL REFERENCES webhook_events (id) ON DELETE CASCADE,
    event_type text NOT NULL,
    state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
    -- Attempts since the run began (creation or the last replay): the backoff's exponent.
    attempts integer NOT NULL DEFAULT 0,
    run_started_at timestamptz NOT NULL,
    next_attempt_at timestamptz NOT NULL,
    -- A worker's claim: until locked_until no other worker takes the row; a dead worker's claim expires.
    locked_until timestamptz,
    claim_id uuid,
    last_status_code integer,
    last_error text,
    delivered_at timestamptz,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    -- One delivery per event and endpoint, whatever happens.
    UNIQUE (endpoint_id, event_id)
  )`,
  `CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'pending'`,
  'CREATE INDEX webhook_deliveries_account ON webhook_deliveries (account_id, created_at DESC, id DESC)',
  'CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id)',
  `CREATE TABLE webhook_attempts (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id uuid NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    at timestamptz NOT NULL,
    succeeded boolean NOT NULL,
    status_code integer,
    duration_ms integer NOT NULL CHECK (duration_ms >= 0),
    error text
  )`,
  'CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, id)',
];

export async function up(db: Kysely<unknown>): Promise<void> {
  // One statement per call: PGlite's extended protocol takes no multi-statement strings.
  for (const statement of STATEMENTS) await sql.raw(statement).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE IF EXISTS webhook_attempts`.execute(db);
  await sql`DROP TABLE IF EXISTS webhook_deliveries`.execute(db);
  await sql`DROP TABLE IF EXISTS webhook_events`.execute(db);
  await sql`DROP TABLE IF EXISTS webhook_endpoints`.execute(db);
}
