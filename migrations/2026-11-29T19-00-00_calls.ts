import { type Kysely, sql } from 'kysely';

// Calls, the telephony accounts whose signatures admit their webhooks, and provider events that
// arrived before their call (a recording callback from one process while another spooled the call).

const STATEMENTS = [
  `CREATE TABLE telephony_accounts (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    provider text NOT NULL CHECK (provider IN ('twilio', 'telnyx')),
    -- Twilio's AccountSid, Telnyx's account id as TeXML sends it in AccountSid.
    provider_account text NOT NULL,
    -- Twilio: the auth token (HMAC key, so it cannot be hashed: write-only through the API).
    -- Telnyx: the account's Ed25519 public key.
    secret text NOT NULL,
    -- Where calls to a number Ringpool does not know go; null rejects them politely.
    unknown_forward_to text,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (provider, provider_account)
  )`,
  'CREATE INDEX telephony_accounts_account ON telephony_accounts (account_id)',
  `CREATE TABLE calls (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    site_id uuid NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    tracking_number_id uuid REFERENCES tracking_numbers (id) ON DELETE SET NULL,
    tracking_number text NOT NULL,
    provider text NOT NULL,
    provider_call_id text NOT NULL,
    caller text,
    forwarded_to text,
    started_at timestamptz NOT NULL,
    answered_at timestamptz,
    ended_at timestamptz,
    status text NOT NULL CHECK (status IN ('ringing', 'in-progress', 'completed', 'busy', 'no-answer', 'failed', 'canceled')),
    duration_s integer CHECK (duration_s >= 0),
    qualified boolean NOT NULL DEFAULT false,
    recording_url text,
    recording_duration_s integer CHECK (recording_duration_s >= 0),
    session_id uuid REFERENCES sessions (id) ON DELETE SET NULL,
    confidence text NOT NULL CHECK (confidence IN ('high', 'medium', 'low', 'none')),
    reason text NOT NULL,
    candidates jsonb NOT NULL DEFAULT '[]',
    -- The visit's attribution, copied so reports group calls without joining sessions.
    source text,
    medium text,
    campaign text,
    term text,
    content text,
    source_label text,
    landing_url text,
    device_type text,
    is_first_call boolean NOT NULL,
    first_call_id uuid REFERENCES calls (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    -- A repeated webhook never makes a second call. Per account: one tenant's ids cannot block another's.
    UNIQUE (account_id, provider, provider_call_id)
  )`,
  'CREATE INDEX calls_site_started ON calls (site_id, started_at DESC, id DESC)',
  'CREATE INDEX calls_account_started ON calls (account_id, started_at DESC, id DESC)',
  'CREATE INDEX calls_site_caller ON calls (site_id, caller, started_at) WHERE caller IS NOT NULL',
  'CREATE INDEX calls_session ON calls (session_id) WHERE session_id IS NOT NULL',
  `CREATE TABLE call_orphan_events (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    provider text NOT NULL,
    provider_call_id text NOT NULL,
    event jsonb NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
  )`,
  'CREATE INDEX call_orphan_events_call ON call_orphan_events (account_id, provider, provider_call_id)',
];

export async function up(db: Kysely<unknown>): Promise<void> {
  // One statement per call: PGlite's extended protocol takes no multi-statement strings.
  for (const statement of STATEMENTS) await sql.raw(statement).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE IF EXISTS call_orphan_events`.execute(db);
  await sql`DROP TABLE IF EXISTS calls`.execute(db);
  await sql`DROP TABLE IF EXISTS telephony_accounts`.execute(db);
}
