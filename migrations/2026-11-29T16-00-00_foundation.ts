import { type Kysely, sql } from 'kysely';

// Frozen once released: later changes go into a new migration.

const TABLES = `
    CREATE TABLE accounts (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      name text NOT NULL,
      is_operator boolean NOT NULL DEFAULT false,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    -- At most one operator account: the installation's own, whose admin keys manage other accounts.
    CREATE UNIQUE INDEX accounts_one_operator ON accounts (is_operator) WHERE is_operator;

    CREATE TABLE api_keys (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
      name text NOT NULL,
      prefix text NOT NULL,
      key_hash text NOT NULL UNIQUE,
      is_admin boolean NOT NULL DEFAULT false,
      created_at timestamptz NOT NULL DEFAULT now(),
      revoked_at timestamptz
    );
    CREATE INDEX api_keys_account ON api_keys (account_id, created_at);

    CREATE TABLE settings (
      key text PRIMARY KEY,
      value text NOT NULL
    );

    CREATE TABLE sites (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
      public_key text NOT NULL UNIQUE,
      name text NOT NULL,
      allowed_origins text[] NOT NULL,
      swap_targets text[] NOT NULL CHECK (cardinality(swap_targets) >= 1),
      default_country text NOT NULL,
      time_zone text NOT NULL,
      idle_timeout_s integer NOT NULL DEFAULT 1800 CHECK (idle_timeout_s > 0),
      cooldown_s integer NOT NULL DEFAULT 900 CHECK (cooldown_s >= 0),
      exhaustion_policy text NOT NULL DEFAULT 'fallback' CHECK (exhaustion_policy IN ('fallback', 'recycle')),
      qualified_call_s integer NOT NULL DEFAULT 60 CHECK (qualified_call_s >= 0),
      max_leases_per_ip integer DEFAULT 10 CHECK (max_leases_per_ip > 0),
      is_demo boolean NOT NULL DEFAULT false,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX sites_account ON sites (account_id, created_at);

    CREATE TABLE pools (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
      site_id uuid NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
      name text NOT NULL,
      swap_target text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (site_id, swap_target)
    );

    CREATE TABLE tracking_numbers (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
      site_id uuid NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
      pool_id uuid REFERENCES pools (id) ON DELETE CASCADE,
      e164 text NOT NULL UNIQUE,
      swap_target text NOT NULL,
      forward_to text NOT NULL,
      provider text NOT NULL DEFAULT 'twilio',
      recording boolean NOT NULL DEFAULT false,
      source text,
      source_label text,
      -- When the number is next free to lease: end of its current holder's cooldown.
      available_at timestamptz NOT NULL DEFAULT '-infinity',
      retired_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      -- A number is either in a pool or a fixed source-level number, never both.
      CHECK ((pool_id IS NULL) = (source IS NOT NULL))
    );
    CREATE INDEX tracking_numbers_free ON tracking_numbers (pool_id, available_at, e164)
      WHERE pool_id IS NOT NULL AND retired_at IS NULL;
    CREATE INDEX tracking_numbers_site ON tracking_numbers (site_id, created_at);

    CREATE TABLE visitors (
      site_id uuid NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
      id text NOT NULL,
      first_seen_at timestamptz NOT NULL,
      first_touch jsonb NOT NULL,
      PRIMARY KEY (site_id, id)
    );

    CREATE TABLE sessions (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
      site_id uuid NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
      visitor_id text NOT NULL,
      created_at timestamptz NOT NULL,
      last_seen_at timestamptz NOT NULL,
      page_views integer NOT NULL DEFAULT 1,
      pages text[] NOT NULL DEFAULT '{}',
      landing_url text NOT NULL,
      referrer text,
      source text NOT NULL,
      medium text NOT NULL,
      utm_source text,
      utm_medium text,
      utm_campaign text,
      utm_term text,
      utm_content text,
      gclid text,
      gbraid text,
      wbraid text,
      fbclid text,
      msclkid text,
      ttclid text,
      user_agent text,
      device_type text NOT NULL,
      browser text,
      os text,
      is_bot boolean NOT NULL DEFAULT false,
      ip_hash text NOT NULL
    );
    CREATE INDEX sessions_site_created ON sessions (site_id, created_at DESC, id DESC);
    CREATE INDEX sessions_account_created ON sessions (account_id, created_at DESC, id DESC);
    CREATE INDEX sessions_visitor ON sessions (site_id, visitor_id, created_at);

    CREATE TABLE leases (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      tracking_number_id uuid NOT NULL REFERENCES tracking_numbers (id) ON DELETE CASCADE,
      session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
      pool_id uuid NOT NULL REFERENCES pools (id) ON DELETE CASCADE,
      ip_hash text NOT NULL,
      started_at timestamptz NOT NULL,
      last_seen_at timestamptz NOT NULL,
      -- End of the active phase unless the session shows life again.
      expires_at timestamptz NOT NULL,
      cooldown_s integer NOT NULL,
      -- Set when the lease was cut short (recycled to another session).
      ended_at timestamptz,
      -- When the number stopped being this session's (end of cooldown, or recycle).
      released_at timestamptz,
      end_reason text CHECK (end_reason IN ('recycled'))
    );
    -- One number, one holder: at most one unreleased lease per number, whatever the concurrency.
    CREATE UNIQUE INDEX leases_one_holder ON leases (tracking_number_id) WHERE released_at IS NULL;
    CREATE INDEX leases_number_time ON leases (tracking_number_id, started_at DESC);
    CREATE INDEX leases_session ON leases (session_id);
    CREATE INDEX leases_pool_ip ON leases (pool_id, ip_hash) WHERE released_at IS NULL;
    CREATE INDEX leases_pool_started ON leases (pool_id, started_at);

    CREATE TABLE pool_exhaustions (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      pool_id uuid NOT NULL REFERENCES pools (id) ON DELETE CASCADE,
      session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
      at timestamptz NOT NULL,
      outcome text NOT NULL CHECK (outcome IN ('fallback', 'recycled'))
    );
    CREATE INDEX pool_exhaustions_pool_at ON pool_exhaustions (pool_id, at);
    -- A session that keeps finding the pool full (each page view tries again) counts once.
    CREATE UNIQUE INDEX pool_exhaustions_once ON pool_exhaustions (session_id, pool_id);
`;

export async function up(db: Kysely<unknown>): Promise<void> {
  // One statement per call: PGlite, like PostgreSQL's extended protocol, takes one at a time.
  for (const statement of TABLES.split(/;\s*\n/).filter((s) => s.trim())) {
    await sql.raw(statement).execute(db);
  }

  // The lease rule, in one place the database enforces: every change to who holds a number
  // locks that number's row first (so there is no lock-order deadlock), and the unique index
  // above rejects a second holder even if this function had a bug.
  // Time comes in as p_now, so tests drive it with a clock.
  await sql`
    CREATE FUNCTION ringpool_hold_numbers(p_session uuid, p_now timestamptz, p_page text)
    RETURNS TABLE (pool_id uuid, lease_id bigint, tracking_number_id uuid, expires_at timestamptz, outcome text)
    LANGUAGE plpgsql AS $fn$
    #variable_conflict use_column
    DECLARE
      s record;
      st record;
      p record;
      cur record;
      n uuid;
      l record;
      recycled boolean;
    BEGIN
      SELECT ses.id, ses.site_id, ses.ip_hash, ses.is_bot, ses.last_seen_at INTO s
        FROM sessions ses WHERE ses.id = p_session;
      IF NOT FOUND OR s.is_bot THEN
        RETURN;
      END IF;
      SELECT si.idle_timeout_s, si.cooldown_s, si.exhaustion_policy, si.max_leases_per_ip INTO st
        FROM sites si WHERE si.id = s.site_id;

      -- A sign of life writes at most once per 30 s per session.
      IF s.last_seen_at <= p_now - interval '30 seconds' THEN
        UPDATE sessions SET last_seen_at = p_now, page_views = page_views + 1,
          pages = CASE
            WHEN p_page IS NULL OR pages[cardinality(pages)] = p_page OR cardinality(pages) >= 100 THEN pages
            ELSE pages || p_page END
          WHERE id = p_session;
      END IF;

      FOR p IN SELECT po.id FROM pools po WHERE po.site_id = s.site_id ORDER BY po.created_at, po.id LOOP
        SELECT le.id, le.tracking_number_id, le.last_seen_at, le.expires_at INTO cur
          FROM leases le WHERE le.session_id = p_session AND le.pool_id = p.id AND le.released_at IS NULL;
        IF FOUND THEN
          IF cur.last_seen_at > p_now - interval '30 seconds' THEN
            RETURN QUERY SELECT p.id, cur.id, cur.tracking_number_id, cur.expires_at, 'held'::text;
            CONTINUE;
          END IF;
          PERFORM 1 FROM tracking_numbers tn WHERE tn.id = cur.tracking_number_id FOR UPDATE;
          UPDATE leases le SET last_seen_at = p_now, expires_at = p_now + make_interval(secs => st.idle_timeout_s)
            WHERE le.id = cur.id AND le.released_at IS NULL
            RETURNING le.id, le.tracking_number_id, le.expires_at INTO l;
          IF FOUND THEN
            UPDATE tracking_numbers tn
              SET available_at = l.expires_at + make_interval(secs => st.cooldown_s)
              WHERE tn.id = l.tracking_number_id;
            RETURN QUERY SELECT p.id, l.id, l.tracking_number_id, l.expires_at, 'extended'::text;
            CONTINUE;
          END IF;
        END IF;

        -- A flood from one address cannot take the pool from real visitors.
        IF st.max_leases_per_ip IS NOT NULL AND (
          SELECT count(*) FROM leases le
            WHERE le.pool_id = p.id AND le.ip_hash = s.ip_hash AND le.released_at IS NULL AND le.expires_at > p_now
        ) >= st.max_leases_per_ip THEN
          RETURN QUERY SELECT p.id, NULL::bigint, NULL::uuid, NULL::timestamptz, 'ip_limited'::text;
          CONTINUE;
        END IF;

        -- The number free longest goes first.
        recycled := false;
        SELECT tn.id INTO n FROM tracking_numbers tn
          WHERE tn.pool_id = p.id AND tn.retired_at IS NULL AND tn.available_at <= p_now
          ORDER BY tn.available_at, tn.e164
          LIMIT 1 FOR UPDATE SKIP LOCKED;
        IF n IS NULL THEN
          -- A visit may recycle once, on its first try: one whose number was recycled away
          -- does not take another by force, or numbers would churn between visitors.
          IF st.exhaustion_policy = 'recycle'
            AND NOT EXISTS (SELECT 1 FROM leases le WHERE le.session_id = p_session AND le.pool_id = p.id)
            AND NOT EXISTS (SELECT 1 FROM pool_exhaustions pe WHERE pe.session_id = p_session AND pe.pool_id = p.id)
          THEN
            SELECT tn.id INTO n FROM tracking_numbers tn
              JOIN leases le ON le.tracking_number_id = tn.id AND le.released_at IS NULL
              WHERE tn.pool_id = p.id AND tn.retired_at IS NULL
              ORDER BY le.last_seen_at, tn.id
              LIMIT 1 FOR UPDATE OF tn SKIP LOCKED;
            recycled := n IS NOT NULL;
          END IF;
          INSERT INTO pool_exhaustions (pool_id, session_id, at, outcome)
            VALUES (p.id, p_session, p_now, CASE WHEN recycled THEN 'recycled' ELSE 'fallback' END)
            ON CONFLICT (session_id, pool_id) DO NOTHING;
          IF n IS NULL THEN
            RETURN QUERY SELECT p.id, NULL::bigint, NULL::uuid, NULL::timestamptz, 'exhausted'::text;
            CONTINUE;
          END IF;
        END IF;

        -- Hand over: the previous holder's lease is released (at the end of its cooldown,
        -- or now if it is being recycled before then).
        UPDATE leases le SET
            released_at = LEAST(p_now, le.expires_at + make_interval(secs => le.cooldown_s)),
            ended_at = CASE WHEN le.expires_at > p_now THEN p_now END,
            end_reason = CASE WHEN recycled THEN 'recycled' END
          WHERE le.tracking_number_id = n AND le.released_at IS NULL;
        INSERT INTO leases (tracking_number_id, session_id, pool_id, ip_hash, started_at, last_seen_at, expires_at, cooldown_s)
          VALUES (n, p_session, p.id, s.ip_hash, p_now, p_now, p_now + make_interval(secs => st.idle_timeout_s), st.cooldown_s)
          RETURNING leases.id, leases.tracking_number_id, leases.expires_at INTO l;
        UPDATE tracking_numbers tn
          SET available_at = l.expires_at + make_interval(secs => st.cooldown_s)
          WHERE tn.id = n;
        RETURN QUERY SELECT p.id, l.id, l.tracking_number_id, l.expires_at,
          CASE WHEN recycled THEN 'recycled' ELSE 'leased' END;
      END LOOP;
    END
    $fn$;
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP FUNCTION IF EXISTS ringpool_hold_numbers(uuid, timestamptz, text)`.execute(db);
  await sql`
    DROP TABLE IF EXISTS pool_exhaustions, leases, sessions, visitors, tracking_numbers, pools, sites, settings, api_keys, accounts;
  `.execute(db);
}
