import type pg from 'pg';

// The reports benchmark's data: a year and a month of traffic over many sites, made by PostgreSQL itself
// (INSERT … SELECT over generate_series), in the order a live service writes it (time order across sites), so
// that a site's calls lie scattered over the table as they do in production.

export interface DataShape {
  sites: number;
  sessions: number;
  calls: number;
  /** Days of history before `now`: a year plus a margin, so every 365-day window the bench asks for is full. */
  days: number;
  /** Share of all traffic that goes to the biggest site (the worst case the reports must meet). */
  biggestShare: number;
  now: Date;
}

/** Per 1,000 sessions (by their generation index): 900 lease a number, 10 find the pool full, 90 are bots. */
const LEASED_BELOW = 900;
const FALLBACK_BELOW = 910;
/** Of the leased sessions, the first 2 per 1,000 took a number by recycling (an exhaustion with a lease). */
const RECYCLED_BELOW = 2;
/** One lease in this many has a call. */
const CALL_EVERY = 5;
/** Ids of generated rows: the generation index in the last 12 hex digits (sessions in time order). */
const SESSION_PREFIX = '00000000-0000-4000-8000-';
const NUMBER_PREFIX = '00000000-0000-4000-8001-';
const POOL_PREFIX = '00000000-0000-4000-8002-';
const SITE_PREFIX = '00000000-0000-4000-8003-';
/** Per site, numbers 0 … pool size - 1 are the pool's; these two are fixed source numbers. */
const STATIC_NUMBERS = [
  { k: 9000, source: 'gbp', label: 'Google Business Profile listing' },
  { k: 9001, source: 'print', label: 'Print ad' },
];

export const siteId = (idx: number) => `${SITE_PREFIX}${idx.toString(16).padStart(12, '0')}`;

/**
 * Traffic shares: the biggest site `biggestShare`, the others along a power law (the second about 8%, the
 * median about 0.4%, the smallest about 0.2% at the defaults).
 */
export function siteWeights(sites: number, biggestShare: number): number[] {
  const rest = Array.from({ length: sites - 1 }, (_, j) => (j + 2) ** -0.9);
  const sum = rest.reduce((a, b) => a + b, 0);
  return [biggestShare, ...rest.map((w) => ((1 - biggestShare) * w) / sum)];
}

const TIME_ZONES = [
  'America/New_York',
  'America/Chicago',
  'America/Los_Angeles',
  'America/New_York',
  'America/Denver',
  'America/Chicago',
  'America/Phoenix',
  'Europe/London',
  'America/Los_Angeles',
  'Australia/Sydney',
];

const CAMPAIGNS = [
  'brand',
  'services-generic',
  'emergency-24-7',
  'near-me',
  'competitors',
  'pmax-local',
  'remarketing',
  'call-only',
  'dsa-all-pages',
  'spring-promo',
  'financing',
  'reviews-social-proof',
  'city-north',
  'city-south',
  'city-east',
  'city-west',
  'downtown',
  'suburbs',
  'seniors-discount',
  'new-patients',
  'same-day',
  'weekend',
  'maintenance-plan',
  'commercial',
  'residential',
  'installation',
  'repair',
  'inspection',
  'estimate',
  'holiday-offer',
];
const SOCIAL_CAMPAIGNS = ['fb-leads', 'fb-retargeting', 'fb-awareness'];
const SERVICES = [
  'plumber',
  'emergency plumber',
  'water heater repair',
  'drain cleaning',
  'ac repair',
  'furnace repair',
  'hvac company',
  'electrician',
  'roof repair',
  'dentist',
  'emergency dentist',
  'teeth whitening',
  'dental implants',
  'orthodontist',
  'family doctor',
  'urgent care',
  'physical therapy',
  'chiropractor',
  'dermatologist',
  'eye doctor',
  'veterinarian',
  'lawyer',
  'personal injury lawyer',
  'divorce attorney',
  'garage door repair',
  'locksmith',
  'pest control',
  'carpet cleaning',
  'moving company',
  'auto repair',
  'tire shop',
  'towing',
  'house cleaning',
  'landscaping',
  'tree removal',
  'pool service',
  'window replacement',
  'solar installation',
  'home insurance',
  'dog grooming',
];
const MODIFIERS = [
  '',
  'near me',
  'open now',
  '24 hour',
  'cost',
  'prices',
  'best',
  'cheap',
  'reviews',
  'same day',
  'emergency',
  'free estimate',
  'in springfield',
  'in riverside',
  'in fairview',
  'in franklin',
  'in greenville',
  'in bristol',
  'in clinton',
  'in salem',
  'in madison',
  'in georgetown',
  'in arlington',
  'in ashland',
  'in dover',
  'in oxford',
  'in jackson',
  'in burlington',
  'in manchester',
  'in milton',
  'on weekends',
  'for seniors',
  'that take insurance',
  'accepting new patients',
  'financing',
  'licensed',
  'local',
  'small business',
  'residential',
  'commercial',
  'how much',
  'quote',
  'appointment',
  'phone number',
  'hours',
  'company',
  'services',
  'specialist',
  'consultation',
  'top rated',
  'affordable',
  'walk in',
  'after hours',
  'sunday',
  'saturday',
  'downtown',
  'north side',
  'south side',
  'east side',
  'west side',
];
const LANDING_PATHS = [
  '/',
  '/contact',
  '/services',
  '/book-online',
  '/locations',
  '/emergency',
  '/pricing',
  '/about',
  '/reviews',
  '/financing',
  '/specials',
  '/faq',
  '/careers',
  '/blog',
  '/service-area',
  '/new-patients',
];
const REFERRAL_HOSTS = ['nextdoor.com', 'angi.com', 'bbb.org', 'thumbtack.com', 'homeadvisor.com', 'houzz.com'];

/** How visits arrive, with their share in percent (they sum to 100). */
const CHANNELS: { source: string; medium: string; kind: string; referrer: string | null; share: number }[] = [
  { source: 'google', medium: 'cpc', kind: 'search_ads', referrer: 'https://www.google.com/', share: 28 },
  { source: 'google', medium: 'organic', kind: 'organic', referrer: 'https://www.google.com/', share: 22 },
  { source: '(direct)', medium: '(none)', kind: 'direct', referrer: null, share: 15 },
  { source: 'gbp', medium: 'organic', kind: 'gbp', referrer: 'https://www.google.com/', share: 6 },
  { source: 'bing', medium: 'cpc', kind: 'search_ads', referrer: 'https://www.bing.com/', share: 5 },
  { source: '(referral)', medium: 'referral', kind: 'referral', referrer: null, share: 5 },
  { source: 'facebook', medium: 'paid_social', kind: 'social_ads', referrer: 'https://m.facebook.com/', share: 4 },
  { source: 'yelp.com', medium: 'referral', kind: 'listing', referrer: 'https://www.yelp.com/biz/', share: 4 },
  { source: 'facebook', medium: 'social', kind: 'social', referrer: 'https://m.facebook.com/', share: 3 },
  { source: 'bing', medium: 'organic', kind: 'organic', referrer: 'https://www.bing.com/', share: 3 },
  { source: 'newsletter', medium: 'email', kind: 'email', referrer: null, share: 2 },
  { source: 'duckduckgo', medium: 'organic', kind: 'organic', referrer: 'https://duckduckgo.com/', share: 1 },
  { source: 'yahoo', medium: 'organic', kind: 'organic', referrer: 'https://search.yahoo.com/', share: 1 },
  { source: 'instagram', medium: 'social', kind: 'social', referrer: 'https://l.instagram.com/', share: 1 },
];

/** Index i of 0 … size-1 with weight 1 … by cumulative share: a lookup array of `size` entries. */
function pickArray(weights: number[], size: number): number[] {
  const total = weights.reduce((a, b) => a + b, 0);
  const cdf: number[] = [];
  let acc = 0;
  for (const w of weights) {
    acc += w / total;
    cdf.push(acc);
  }
  return Array.from({ length: size }, (_, i) => {
    const u = (i + 0.5) / size;
    const found = cdf.findIndex((c) => c > u);
    return found === -1 ? weights.length - 1 : found;
  });
}

export interface SeedTimings {
  step: string;
  ms: number;
  rows: number;
}

/**
 * Fills a migrated, empty database. Runs with session_replication_role = replica: no foreign-key checks and no
 * triggers during the load (the generator fills calls.pool_id and calls.referrer_domain itself, with the same
 * function the trigger uses). Returns the account id and the time each step took.
 */
export async function seedReportsData(
  client: pg.Client,
  shape: DataShape,
  log: (message: string) => void,
): Promise<{ accountId: string; timings: SeedTimings[] }> {
  const timings: SeedTimings[] = [];
  const step = async (name: string, text: string, values: unknown[] = []) => {
    const started = performance.now();
    const result = await client.query(text, values);
    const ms = performance.now() - started;
    timings.push({ step: name, ms, rows: result.rowCount ?? 0 });
    log(`${name}: ${(result.rowCount ?? 0).toLocaleString('en-US')} rows in ${(ms / 1000).toFixed(1)} s`);
    return result;
  };
  await client.query(`SET session_replication_role = replica`);
  await client.query(`SET synchronous_commit = off`);
  await client.query(`SET work_mem = '512MB'`);
  await client.query(`SELECT setseed(0.42)`);

  const weights = siteWeights(shape.sites, shape.biggestShare);
  const leases = Math.floor((shape.sessions * LEASED_BELOW) / 1000);
  const attributed = Math.floor(leases / CALL_EVERY);
  if (attributed > shape.calls) throw new Error(`${shape.calls} calls: fewer than the ${attributed} attributed ones`);
  if (shape.sessions % 1000) throw new Error('sessions: a multiple of 1,000');
  const hoursOfHistory = shape.days * 24;
  const start = new Date(shape.now.getTime() - shape.days * 86_400_000);

  // ---- the generator's own tables (schema bench: kept with the database, for a rerun on it) ----
  await client.query(`CREATE SCHEMA bench`);
  await client.query(`CREATE TABLE bench.meta (key text PRIMARY KEY, value jsonb NOT NULL)`);
  await client.query(
    `CREATE TABLE bench.sites (idx int PRIMARY KEY, id uuid NOT NULL UNIQUE, pool_id uuid NOT NULL, weight float8 NOT NULL,
       pool_size int NOT NULL, pages int NOT NULL, campaigns int NOT NULL, callers int NOT NULL, host text NOT NULL,
       business text NOT NULL, time_zone text NOT NULL, currency text NOT NULL, spend float8 NOT NULL)`,
  );
  await client.query(
    `CREATE TABLE bench.channels (idx int PRIMARY KEY, source text NOT NULL, medium text NOT NULL, kind text NOT NULL, referrer text)`,
  );
  await client.query(
    `CREATE FUNCTION bench.g_of(id uuid) RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE
       AS $$ SELECT ('x' || right(id::text, 12))::bit(48)::bigint $$`,
  );
  await client.query(
    `CREATE FUNCTION bench.number_id(site int, k int) RETURNS uuid LANGUAGE sql IMMUTABLE PARALLEL SAFE
       AS $$ SELECT ('${NUMBER_PREFIX}' || lpad(to_hex(site * 10000 + k), 12, '0'))::uuid $$`,
  );
  await client.query(
    `CREATE FUNCTION bench.number_e164(site int, k int) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
       AS $$ SELECT '+1' || (5550000000 + site * 10000 + k)::text $$`,
  );
  await client.query(`INSERT INTO bench.meta VALUES ('shape', $1)`, [JSON.stringify(shape)]);

  const sites = weights.map((w, idx) => {
    const leasesPerHour = (w * leases) / hoursOfHistory;
    const timeZone = idx === 0 ? 'America/New_York' : (TIME_ZONES[idx % TIME_ZONES.length] as string);
    return {
      idx,
      weight: w,
      // A number is held up to ~50 min (active 30, cooldown 15, a few page views); numbers go round in turn,
      // and traffic at the end of the history is 4/3 of the mean: 2.5 times that hour's leases never overlap.
      poolSize: Math.ceil(leasesPerHour * (4 / 3) * 2.5) + 8,
      pages: 20 + Math.round((3000 * w) / (weights[0] as number)),
      campaigns: Math.min(CAMPAIGNS.length, 4 + Math.round(26 * Math.sqrt(w / (weights[0] as number)))),
      callers: Math.ceil(1.5 * w * shape.calls) + 10,
      timeZone,
      currency: timeZone.startsWith('Europe') ? 'GBP' : timeZone.startsWith('Australia') ? 'AUD' : 'USD',
      spend: 20 + 4000 * w,
    };
  });
  if (sites.some((s) => s.poolSize >= (STATIC_NUMBERS[0]?.k ?? 0))) throw new Error('a pool too big for the ids');
  await client.query(
    `INSERT INTO bench.sites
     SELECT u.idx, ('${SITE_PREFIX}' || lpad(to_hex(u.idx), 12, '0'))::uuid, ('${POOL_PREFIX}' || lpad(to_hex(u.idx), 12, '0'))::uuid,
            u.weight, u.pool_size, u.pages, u.campaigns, u.callers, 'site' || u.idx || '.example', '+1' || (2015550000 + u.idx),
            u.time_zone, u.currency, u.spend
     FROM unnest($1::int[], $2::float8[], $3::int[], $4::int[], $5::int[], $6::int[], $7::text[], $8::text[], $9::float8[])
       AS u(idx, weight, pool_size, pages, campaigns, callers, time_zone, currency, spend)`,
    [
      sites.map((s) => s.idx),
      sites.map((s) => s.weight),
      sites.map((s) => s.poolSize),
      sites.map((s) => s.pages),
      sites.map((s) => s.campaigns),
      sites.map((s) => s.callers),
      sites.map((s) => s.timeZone),
      sites.map((s) => s.currency),
      sites.map((s) => s.spend),
    ],
  );
  await client.query(
    `INSERT INTO bench.channels SELECT * FROM unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::text[])`,
    [
      CHANNELS.map((_, i) => i),
      CHANNELS.map((c) => c.source),
      CHANNELS.map((c) => c.medium),
      CHANNELS.map((c) => c.kind),
      CHANNELS.map((c) => c.referrer),
    ],
  );
  const sitePick = pickArray(weights, 10_000);
  const channelPick = pickArray(
    CHANNELS.map((c) => c.share),
    1000,
  );

  // ---- account, sites, pools, numbers ----
  const accountId = (
    await client.query<{ id: string }>(`INSERT INTO accounts (name) VALUES ('bench reports agency') RETURNING id`)
  ).rows[0]?.id;
  if (!accountId) throw new Error('no account');
  await step(
    'sites, pools and numbers',
    `WITH s AS (
       INSERT INTO sites (id, account_id, public_key, name, allowed_origins, swap_targets, default_country, time_zone, created_at)
       SELECT b.id, $1, 'bench-reports-' || b.idx, 'Site ' || b.idx, ARRAY['https://www.' || b.host], ARRAY[b.business], 'US',
              b.time_zone, $2::timestamptz - interval '1 day'
       FROM bench.sites b RETURNING id
     ), p AS (
       INSERT INTO pools (id, account_id, site_id, name, swap_target, created_at)
       SELECT b.pool_id, $1, b.id, 'Main number', b.business, $2::timestamptz - interval '1 day' FROM bench.sites b RETURNING id
     )
     INSERT INTO tracking_numbers (id, account_id, site_id, pool_id, e164, swap_target, forward_to, source, source_label, created_at)
     SELECT bench.number_id(b.idx, k), $1, b.id, b.pool_id, bench.number_e164(b.idx, k), b.business, b.business, NULL, NULL,
            $2::timestamptz - interval '1 day'
     FROM bench.sites b CROSS JOIN LATERAL generate_series(0, b.pool_size - 1) AS k
     UNION ALL
     SELECT bench.number_id(b.idx, n.k), $1, b.id, NULL, bench.number_e164(b.idx, n.k), b.business, b.business, n.source, n.label,
            $2::timestamptz - interval '1 day'
     FROM bench.sites b CROSS JOIN unnest($3::int[], $4::text[], $5::text[]) AS n(k, source, label)`,
    [
      accountId,
      start,
      STATIC_NUMBERS.map((n) => n.k),
      STATIC_NUMBERS.map((n) => n.source),
      STATIC_NUMBERS.map((n) => n.label),
    ],
  );

  // ---- sessions: time grows with the index (traffic doubles over the history), site and channel drawn ----
  // Density ∝ 1 + x over the history x ∈ [0, 1): the visit at quantile q comes at x = sqrt(1 + 3q) - 1.
  await step(
    'sessions',
    `INSERT INTO sessions (id, account_id, site_id, visitor_id, created_at, last_seen_at, page_views, pages, landing_url,
                           referrer, source, medium, utm_source, utm_medium, utm_campaign, utm_term, utm_content, gclid,
                           msclkid, user_agent, device_type, browser, os, is_bot, ip_hash)
     SELECT v.id, $1, v.site_id, v.visitor_id, v.t, v.t + (v.views - 1) * interval '70 seconds', v.views, ARRAY[v.landing],
            v.landing,
            CASE v.kind
              WHEN 'referral' THEN 'https://' || v.referral_host || '/'
              WHEN 'listing' THEN v.channel_referrer || 'site-' || v.idx
              ELSE v.channel_referrer
            END,
            CASE v.kind WHEN 'referral' THEN v.referral_host ELSE v.source END,
            v.medium,
            CASE WHEN v.kind IN ('search_ads', 'social_ads', 'email', 'gbp') THEN v.source END,
            CASE WHEN v.kind IN ('search_ads', 'social_ads', 'email', 'gbp') THEN v.medium END,
            CASE v.kind
              WHEN 'search_ads' THEN ($4::text[])[1 + v.campaign]
              WHEN 'social_ads' THEN ($5::text[])[1 + floor(3 * power(v.r_campaign, 1.5))::int]
              WHEN 'email' THEN 'newsletter-' || to_char(v.t, 'YYYY-MM')
              WHEN 'gbp' THEN 'listing'
            END,
            -- A campaign's keywords: 8 services × 15 modifiers of its own (campaigns overlap a little).
            CASE WHEN v.kind = 'search_ads' AND v.r_term < 0.9
              THEN rtrim(($6::text[])[1 + (v.campaign * 7 + floor(8 * power(v.r_service, 1.6))::int) % 40] || ' ' ||
                         ($7::text[])[1 + (v.campaign * 11 + floor(15 * power(v.r_modifier, 1.4))::int) % 60])
            END,
            CASE v.kind
              WHEN 'search_ads' THEN 'ad-' || (1 + floor(12 * power(v.r_content, 1.5))::int)
              WHEN 'social_ads' THEN 'creative-' || (1 + floor(6 * v.r_content)::int)
            END,
            CASE WHEN v.kind = 'search_ads' AND v.source = 'google' THEN 'Cj0KCQiA' || to_hex(v.g * 2654435761) END,
            CASE WHEN v.kind = 'search_ads' AND v.source = 'bing' THEN to_hex(v.g * 40503) || 'b1c2' END,
            CASE WHEN v.r_device < 0.35 THEN 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) Mobile/15E148 Safari/604.1'
                 WHEN v.r_device < 0.62 THEN 'Mozilla/5.0 (Linux; Android 14; Pixel 8) Chrome/131.0 Mobile Safari/537.36'
                 WHEN v.r_device < 0.83 THEN 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0 Safari/537.36'
                 WHEN v.r_device < 0.91 THEN 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) Version/18.1 Safari/605.1.15'
                 WHEN v.r_device < 0.95 THEN 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0 Edg/131.0'
                 ELSE 'Mozilla/5.0 (iPad; CPU OS 18_1 like Mac OS X) Mobile/15E148 Safari/604.1' END,
            CASE WHEN v.r_device < 0.62 THEN 'mobile' WHEN v.r_device < 0.95 THEN 'desktop' ELSE 'tablet' END,
            CASE WHEN v.r_device < 0.35 THEN 'Mobile Safari' WHEN v.r_device < 0.83 THEN 'Chrome'
                 WHEN v.r_device < 0.91 THEN 'Safari' WHEN v.r_device < 0.95 THEN 'Edge' ELSE 'Mobile Safari' END,
            CASE WHEN v.r_device < 0.35 THEN 'iOS' WHEN v.r_device < 0.62 THEN 'Android' WHEN v.r_device < 0.83 THEN 'Windows'
                 WHEN v.r_device < 0.91 THEN 'macOS' WHEN v.r_device < 0.95 THEN 'Windows' ELSE 'iOS' END,
            v.g % 1000 >= ${FALLBACK_BELOW},
            v.ip_hash
     FROM (
       SELECT r.*, s.idx, s.id AS site_id, floor(s.campaigns * power(r.r_campaign, 1.8))::int AS campaign,
              c.source, c.medium, c.kind, c.referrer AS channel_referrer,
              'https://www.' || s.host || CASE
                WHEN p.page < 16 THEN ($8::text[])[1 + p.page]
                WHEN p.page % 3 = 0 THEN '/blog/post-' || p.page
                ELSE '/services/service-' || p.page
              END AS landing
       FROM (
         SELECT g,
                ('${SESSION_PREFIX}' || lpad(to_hex(g), 12, '0'))::uuid AS id,
                $2::timestamptz + (sqrt(1 + 3 * (g + 0.5) / $3::float8) - 1) * ${shape.days} * interval '1 day' AS t,
                ($9::int[])[1 + floor(random() * 10000)::int] AS site,
                ($10::int[])[1 + floor(random() * 1000)::int] AS channel,
                random() AS r_page, random() AS r_campaign, random() AS r_term, random() AS r_service,
                random() AS r_modifier, random() AS r_content, random() AS r_device,
                CASE WHEN random() < 0.5
                  THEN ($11::text[])[1 + floor(6 * random())::int]
                  ELSE 'blog' || floor(300 * power(random(), 2))::int || '.example'
                END AS referral_host,
                1 + floor(4 * power(random(), 2))::int AS views,
                'v' || to_hex((g * 7919) % 3700000) AS visitor_id,
                'ip' || to_hex((g * 104729) % 2500000) AS ip_hash
         FROM generate_series(0, $3::bigint - 1) AS g
       ) r
       JOIN bench.sites s ON s.idx = r.site
       JOIN bench.channels c ON c.idx = r.channel
       CROSS JOIN LATERAL (SELECT floor(s.pages * power(r.r_page, 2.2))::int AS page) p
     ) v`,
    [
      accountId,
      start,
      shape.sessions,
      CAMPAIGNS,
      SOCIAL_CAMPAIGNS,
      SERVICES,
      MODIFIERS,
      LANDING_PATHS,
      sitePick,
      channelPick,
      REFERRAL_HOSTS,
    ],
  );

  // ---- leases: each site's numbers go round in turn, in time order; released 15 min after their active end ----
  await step(
    'leases',
    `INSERT INTO leases (tracking_number_id, session_id, pool_id, ip_hash, started_at, last_seen_at, expires_at, cooldown_s,
                         released_at)
     SELECT bench.number_id(b.idx, (x.k % b.pool_size)::int), x.id, b.pool_id, x.ip_hash, x.created_at, x.last_seen_at,
            x.last_seen_at + interval '30 minutes', 900,
            CASE WHEN x.last_seen_at + interval '45 minutes' <= $1 THEN x.last_seen_at + interval '45 minutes' END
     FROM (
       SELECT s.id, s.site_id, s.ip_hash, s.created_at, s.last_seen_at,
              row_number() OVER (PARTITION BY s.site_id ORDER BY s.created_at) - 1 AS k
       FROM sessions s
       WHERE bench.g_of(s.id) % 1000 < ${LEASED_BELOW}
     ) x
     JOIN bench.sites b ON b.id = x.site_id
     ORDER BY x.created_at`,
    [shape.now],
  );
  await step(
    'pool exhaustions',
    `INSERT INTO pool_exhaustions (pool_id, session_id, at, outcome)
     SELECT b.pool_id, s.id, s.created_at,
            CASE WHEN bench.g_of(s.id) % 1000 < ${RECYCLED_BELOW} THEN 'recycled' ELSE 'fallback' END
     FROM sessions s JOIN bench.sites b ON b.id = s.site_id
     WHERE bench.g_of(s.id) % 1000 < ${RECYCLED_BELOW}
        OR bench.g_of(s.id) % 1000 BETWEEN ${LEASED_BELOW} AND ${FALLBACK_BELOW - 1}
     ORDER BY s.created_at`,
  );

  // ---- calls: one lease in five (during its active phase), and the rest to numbers with no visit behind them ----
  const unattributed = shape.calls - attributed;
  await step(
    'calls',
    `INSERT INTO calls (id, account_id, site_id, tracking_number_id, tracking_number, provider, provider_call_id, caller,
                        forwarded_to, started_at, answered_at, ended_at, status, duration_s, qualified, session_id,
                        confidence, reason, candidates, source, medium, campaign, term, content, source_label, landing_url,
                        device_type, is_first_call, first_call_id, pool_id, referrer_domain, created_at, updated_at)
     SELECT c.id, $1, c.site_id, c.tracking_number_id, c.tracking_number, 'twilio', 'CA' || replace(c.id::text, '-', ''),
            c.caller, c.business, c.at,
            CASE WHEN o.status = 'completed' THEN c.at + o.ring END,
            c.at + o.ring + CASE WHEN o.status = 'completed' THEN o.duration ELSE 0 END * interval '1 second',
            o.status,
            CASE WHEN o.status = 'completed' THEN o.duration END,
            o.status = 'completed' AND o.duration >= 60,
            c.session_id, o.confidence, o.reason,
            CASE WHEN c.session_id IS NULL THEN '[]'::jsonb
              ELSE jsonb_build_array(jsonb_build_object('session_id', c.session_id, 'lease_id', c.lease_id,
                     'phase', CASE o.confidence WHEN 'medium' THEN 'cooldown' ELSE 'active' END,
                     'confidence', o.confidence, 'tapped', c.r_tap < 0.1, 'reason', o.reason))
            END,
            c.source, c.medium, c.campaign, c.term, c.content, c.source_label, c.landing_url, c.device_type,
            c.nth = 1, CASE WHEN c.nth > 1 THEN c.first_id END, c.pool_id, c.referrer_domain,
            c.at, c.at + o.ring + o.duration * interval '1 second'
     FROM (
       SELECT r.*, row_number() OVER w AS nth, first_value(r.id) OVER w AS first_id
       FROM (
         SELECT gen_random_uuid() AS id, l.id AS lease_id, l.session_id, l.tracking_number_id,
                '+1' || (5550000000 + bench.g_of(l.tracking_number_id))::text AS tracking_number, l.pool_id,
                b.id AS site_id, b.business,
                least(l.started_at + (l.last_seen_at - l.started_at + interval '25 minutes') * random(),
                      $2::timestamptz - interval '1 minute') AS at,
                '+1' || (2000000000::bigint + b.idx * 5000000 + floor(random() * b.callers))::bigint::text AS caller,
                se.source, se.medium, se.utm_campaign AS campaign, se.utm_term AS term, se.utm_content AS content,
                NULL::text AS source_label, se.landing_url, se.device_type,
                ringpool_referrer_domain(se.referrer) AS referrer_domain,
                random() AS r_status, random() AS r_duration, random() AS r_ring, random() AS r_conf, random() AS r_tap
         FROM leases l
         JOIN sessions se ON se.id = l.session_id
         JOIN bench.sites b ON b.id = se.site_id
         WHERE l.id % ${CALL_EVERY} = 1
         UNION ALL
         SELECT gen_random_uuid(), NULL, NULL, bench.number_id(b.idx, n.k), bench.number_e164(b.idx, n.k),
                CASE WHEN n.k < 9000 THEN b.pool_id END, b.id, b.business,
                least(x.at, $2::timestamptz - interval '1 minute'),
                '+1' || (2000000000::bigint + b.idx * 5000000 + floor(random() * b.callers))::bigint::text,
                CASE n.k WHEN 9000 THEN 'gbp' WHEN 9001 THEN 'print' END, NULL, NULL, NULL, NULL,
                CASE n.k WHEN 9000 THEN 'Google Business Profile listing' WHEN 9001 THEN 'Print ad' END, NULL, NULL, NULL,
                random(), random(), random(), random(), random()
         FROM (
           SELECT u, ($3::int[])[1 + floor(random() * 10000)::int] AS site, random() AS r_kind, random() AS r_k,
                  $4::timestamptz + (sqrt(1 + 3 * random()) - 1) * ${shape.days} * interval '1 day' AS at
           FROM generate_series(0, $5::int - 1) AS u
         ) x
         JOIN bench.sites b ON b.idx = x.site
         CROSS JOIN LATERAL (SELECT CASE WHEN x.r_kind < 0.25 THEN 9000 WHEN x.r_kind < 0.4 THEN 9001
                                         ELSE floor(x.r_k * b.pool_size)::int END AS k) n
       ) r
       WINDOW w AS (PARTITION BY r.site_id, r.caller ORDER BY r.at)
     ) c
     CROSS JOIN LATERAL (
       SELECT s.status, s.confidence, floor(10 * power(180, c.r_duration))::int AS duration,
              (3 + floor(20 * c.r_ring)::int) * interval '1 second' AS ring,
              CASE s.confidence
                WHEN 'high' THEN 'One visit held the number when the call came in'
                WHEN 'medium' THEN 'The number’s last visit, in its cooldown, when the call came in'
                WHEN 'low' THEN 'Several visits held the number around the call; the latest is the likeliest'
                ELSE coalesce('A fixed number for ' || c.source, 'No visit held the number around the call')
              END AS reason
       FROM (SELECT CASE WHEN c.r_status < 0.70 THEN 'completed' WHEN c.r_status < 0.85 THEN 'no-answer'
                         WHEN c.r_status < 0.88 THEN 'busy' WHEN c.r_status < 0.90 THEN 'failed' ELSE 'canceled' END AS status,
                    CASE WHEN c.session_id IS NULL THEN 'none' WHEN c.r_conf < 0.72 THEN 'high'
                         WHEN c.r_conf < 0.92 THEN 'medium' ELSE 'low' END AS confidence) s
     ) o
     ORDER BY c.at`,
    [accountId, shape.now, sitePick, start, unattributed],
  );

  // ---- ad costs: every site, every day, each search campaign on Google, the top three on Bing, three on Facebook ----
  await step(
    'costs',
    `INSERT INTO costs (account_id, site_id, date, source, campaign, amount, currency, created_at, updated_at)
     SELECT $1, b.id, ($2::timestamptz AT TIME ZONE b.time_zone)::date - d, k.source, k.campaign,
            round((b.spend * k.scale * (0.5 + random()))::numeric, 2), b.currency, $2, $2
     FROM bench.sites b
     CROSS JOIN generate_series(0, ${shape.days}) AS d
     CROSS JOIN LATERAL (
       SELECT 'google' AS source, ($3::text[])[i] AS campaign, 1.0 / i AS scale FROM generate_series(1, b.campaigns) AS i
       UNION ALL SELECT 'bing', ($3::text[])[i], 0.2 / i FROM generate_series(1, least(3, b.campaigns)) AS i
       UNION ALL SELECT 'facebook', ($4::text[])[i], 0.3 / i FROM generate_series(1, 3) AS i
     ) k`,
    [accountId, shape.now, CAMPAIGNS, SOCIAL_CAMPAIGNS],
  );

  await client.query(`RESET session_replication_role`);
  await client.query(`RESET work_mem`);
  // autovacuum is off on the bench server: statistics and the visibility map (index-only scans) come from here.
  const started = performance.now();
  await client.query(`VACUUM (ANALYZE)`);
  timings.push({ step: 'VACUUM (ANALYZE)', ms: performance.now() - started, rows: 0 });
  log(`VACUUM (ANALYZE) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return { accountId, timings };
}
