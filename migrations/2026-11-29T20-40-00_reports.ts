import { type Kysely, sql } from 'kysely';

// Reports: ad costs per day, source and campaign; two report columns on calls (the number's pool
// and the visit's referrer domain), filled as a call is inserted so reports never join sessions;
// an index the calls report reads alone; pool use rolled up per 15-minute slot.

const STATEMENTS = [
  `CREATE TABLE costs (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    site_id uuid NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    -- A day in the site's time zone, as ad platforms report spend.
    date date NOT NULL,
    source text NOT NULL,
    -- null: spend for the source as a whole, not split by campaign.
    campaign text,
    amount numeric NOT NULL CHECK (amount >= 0),
    currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    -- One figure per day, source and campaign; "no campaign" is one key too, so NULLS NOT DISTINCT.
    CONSTRAINT costs_key UNIQUE NULLS NOT DISTINCT (site_id, date, source, campaign)
  )`,
  // No foreign key: deleting a pool must not rewrite a million calls; the report shows its id.
  'ALTER TABLE calls ADD COLUMN pool_id uuid',
  'ALTER TABLE calls ADD COLUMN referrer_domain text',
  // The host of a stored referrer (origin + path), lower case, without "www.".
  `CREATE FUNCTION ringpool_referrer_domain(referrer text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE RETURNS NULL ON NULL INPUT
    AS $fn$ SELECT regexp_replace(lower(substring(referrer from '^[A-Za-z][A-Za-z0-9+.-]*://(\\[[^\\]]*\\]|[^/:?#]+)')), '^www\\.', '') $fn$`,
  // Calls made before this migration; done before the index exists, so the updates need not maintain it.
  `UPDATE calls c SET pool_id = tn.pool_id FROM tracking_numbers tn
    WHERE tn.id = c.tracking_number_id AND tn.pool_id IS NOT NULL`,
  `UPDATE calls c SET referrer_domain = ringpool_referrer_domain(s.referrer) FROM sessions s
    WHERE s.id = c.session_id AND s.referrer IS NOT NULL`,
  // The report's scan of a site's calls over a date range reads this index alone (index-only), for
  // the measures and every dimension: without keyword, content and landing page here, a year of a big
  // site's calls grouped by them read the whole table. Values are bounded (UTM values 255 characters,
  // a call's landing page 500), so an entry stays well under btree's limit of about 2.7 kB.
  `CREATE INDEX calls_report ON calls (site_id, started_at) INCLUDE (status, answered_at, duration_s, qualified,
    is_first_call, source, medium, campaign, term, content, landing_url, device_type, referrer_domain, pool_id,
    tracking_number)`,
  // Filled in the database, whichever path inserts the call (webhook, generic ingress, spool replay).
  `CREATE FUNCTION ringpool_call_report_fields() RETURNS trigger LANGUAGE plpgsql AS $fn$
    BEGIN
      IF NEW.pool_id IS NULL AND NEW.tracking_number_id IS NOT NULL THEN
        NEW.pool_id := (SELECT tn.pool_id FROM tracking_numbers tn WHERE tn.id = NEW.tracking_number_id);
      END IF;
      IF NEW.referrer_domain IS NULL AND NEW.session_id IS NOT NULL THEN
        NEW.referrer_domain := (SELECT ringpool_referrer_domain(s.referrer) FROM sessions s WHERE s.id = NEW.session_id);
      END IF;
      RETURN NEW;
    END
  $fn$`,
  `CREATE TRIGGER calls_report_fields BEFORE INSERT ON calls
    FOR EACH ROW EXECUTE FUNCTION ringpool_call_report_fields()`,
  // Pool use per 15-minute slot (UTC-aligned, so every local hour and day is a union of slots),
  // rolled up by a job once a slot is past: the pool report then reads slots, not millions of leases.
  `CREATE TABLE pool_usage (
    pool_id uuid NOT NULL REFERENCES pools (id) ON DELETE CASCADE,
    slot timestamptz NOT NULL,
    leases_started integer NOT NULL,
    peak_active_leases integer NOT NULL,
    peak_numbers_held integer NOT NULL,
    fallbacks integer NOT NULL,
    recycles integer NOT NULL,
    PRIMARY KEY (pool_id, slot)
  )`,
  'CREATE INDEX pool_usage_slot ON pool_usage (slot)',
  // How far the roll-up has gone, and the last lease and exhaustion it has seen: rows that arrive
  // later with older times (an import, a clock set back) send it back over their slots.
  `CREATE TABLE report_rollups (
    name text PRIMARY KEY,
    done_until timestamptz NOT NULL,
    last_lease_id bigint NOT NULL,
    last_exhaustion_id bigint NOT NULL
  )`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  // One statement per call: PGlite's extended protocol takes no multi-statement strings.
  for (const statement of STATEMENTS) await sql.raw(statement).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX IF EXISTS calls_report`.execute(db);
  await sql`DROP TRIGGER IF EXISTS calls_report_fields ON calls`.execute(db);
  await sql`DROP FUNCTION IF EXISTS ringpool_call_report_fields()`.execute(db);
  await sql`DROP FUNCTION IF EXISTS ringpool_referrer_domain(text)`.execute(db);
  await sql`ALTER TABLE calls DROP COLUMN IF EXISTS referrer_domain`.execute(db);
  await sql`ALTER TABLE calls DROP COLUMN IF EXISTS pool_id`.execute(db);
  await sql`DROP TABLE IF EXISTS report_rollups`.execute(db);
  await sql`DROP TABLE IF EXISTS pool_usage`.execute(db);
  await sql`DROP TABLE IF EXISTS costs`.execute(db);
}
