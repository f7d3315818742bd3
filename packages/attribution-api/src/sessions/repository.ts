import { type Kysely, sql } from 'kysely';
import { prepared } from '../db/database.ts';
import type { Attribution, Database } from '../db/schema.ts';

export interface HoldResult {
  pool_id: string;
  lease_id: string | null;
  tracking_number_id: string | null;
  expires_at: Date | null;
  outcome: 'held' | 'extended' | 'leased' | 'recycled' | 'exhausted' | 'ip_limited';
}

/**
 * Makes the session hold a number from each of its site's pools: extends the leases it has,
 * leases a free number where it has none, and applies the exhaustion policy. One statement:
 * the rules live in the database function `ringpool_hold_numbers` (see migrations).
 */
export async function holdNumbers(db: Kysely<Database>, sessionId: string, now: Date, page: string | null) {
  const query = sql<HoldResult>`SELECT * FROM ringpool_hold_numbers(${sessionId}, ${now}, ${page})`.compile(db);
  return (await db.executeQuery(prepared('hold_numbers', query))).rows;
}

export interface NewSession extends Attribution {
  account_id: string;
  site_id: string;
  visitor_id: string;
  user_agent: string | null;
  device_type: string;
  browser: string | null;
  os: string | null;
  is_bot: boolean;
  ip_hash: string;
}

/** How long a visitor's first touch stands (PRODUCT.md: the visitor is kept 30 days). */
export const FIRST_TOUCH_MS = 30 * 86_400_000;

/** Inserts the session, and the visitor with this visit as its first touch if it is new (or its first touch is stale). */
export async function insertSession(db: Kysely<Database>, session: NewSession, now: Date) {
  const firstTouch: Attribution = {
    landing_url: session.landing_url,
    referrer: session.referrer,
    source: session.source,
    medium: session.medium,
    utm_source: session.utm_source,
    utm_medium: session.utm_medium,
    utm_campaign: session.utm_campaign,
    utm_term: session.utm_term,
    utm_content: session.utm_content,
    gclid: session.gclid,
    gbraid: session.gbraid,
    wbraid: session.wbraid,
    fbclid: session.fbclid,
    msclkid: session.msclkid,
    ttclid: session.ttclid,
  };
  const query = db
    .with('visitor', (q) =>
      q
        .insertInto('visitors')
        .values({
          site_id: session.site_id,
          id: session.visitor_id,
          first_seen_at: now,
          first_touch: JSON.stringify(firstTouch),
        })
        // A first touch counts for 30 days: a visitor back after that starts a new one with this visit.
        .onConflict((oc) =>
          oc
            .columns(['site_id', 'id'])
            .doUpdateSet({ first_seen_at: now, first_touch: JSON.stringify(firstTouch) })
            .where('visitors.first_seen_at', '<', new Date(now.getTime() - FIRST_TOUCH_MS)),
        ),
    )
    .insertInto('sessions')
    .values({ ...session, created_at: now, last_seen_at: now, pages: [session.landing_url] })
    .returning(['id', 'visitor_id', 'last_seen_at', 'is_bot', 'source'])
    .compile();
  const [row] = (await db.executeQuery(prepared('insert_session', query))).rows;
  if (!row) throw new Error('the session insert returned no row');
  return row;
}

export async function findSiteSession(db: Kysely<Database>, siteId: string, sessionId: string) {
  return db
    .selectFrom('sessions')
    .select(['id', 'visitor_id', 'last_seen_at', 'is_bot', 'source'])
    .where('site_id', '=', siteId)
    .where('id', '=', sessionId)
    .executeTakeFirst();
}

export interface SessionCursor {
  created_at: Date;
  id: string;
}

export async function listSessions(
  db: Kysely<Database>,
  accountId: string,
  filter: { siteId?: string | undefined; limit: number; after?: SessionCursor | undefined },
) {
  let query = db.selectFrom('sessions').selectAll().where('account_id', '=', accountId);
  if (filter.siteId) query = query.where('site_id', '=', filter.siteId);
  if (filter.after) {
    const { created_at, id } = filter.after;
    query = query.where((eb) =>
      eb.or([eb('created_at', '<', created_at), eb.and([eb('created_at', '=', created_at), eb('id', '<', id)])]),
    );
  }
  return query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(filter.limit).execute();
}

export async function getSession(db: Kysely<Database>, accountId: string, id: string) {
  return db
    .selectFrom('sessions')
    .selectAll()
    .where('account_id', '=', accountId)
    .where('id', '=', id)
    .executeTakeFirst();
}

export async function sessionLeases(db: Kysely<Database>, sessionId: string) {
  return db
    .selectFrom('leases')
    .innerJoin('tracking_numbers', 'tracking_numbers.id', 'leases.tracking_number_id')
    .select([
      'leases.id',
      'leases.pool_id',
      'leases.tracking_number_id',
      'tracking_numbers.e164',
      'leases.started_at',
      'leases.last_seen_at',
      'leases.expires_at',
      'leases.cooldown_s',
      'leases.ended_at',
      'leases.released_at',
      'leases.end_reason',
    ])
    .where('leases.session_id', '=', sessionId)
    .orderBy('leases.started_at')
    .execute();
}

export async function getVisitorFirstTouch(db: Kysely<Database>, siteId: string, visitorId: string) {
  return db
    .selectFrom('visitors')
    .select(['first_seen_at', 'first_touch'])
    .where('site_id', '=', siteId)
    .where('id', '=', visitorId)
    .executeTakeFirst();
}

export async function insertCallIntent(
  db: Kysely<Database>,
  intent: { session_id: string; site_id: string; tracking_number: string; at: Date },
) {
  await db.insertInto('call_intents').values(intent).execute();
}

export async function getSetting(db: Kysely<Database>, key: string, create: () => string): Promise<string> {
  await db
    .insertInto('settings')
    .values({ key, value: create() })
    .onConflict((oc) => oc.column('key').doNothing())
    .execute();
  const row = await db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirstOrThrow();
  return row.value;
}
