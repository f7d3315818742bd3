import type { Kysely } from 'kysely';
import type { Database, NewSite } from '../db/schema.ts';

export type SitePatch = Partial<
  Pick<
    NewSite,
    | 'name'
    | 'allowed_origins'
    | 'swap_targets'
    | 'default_country'
    | 'time_zone'
    | 'idle_timeout_s'
    | 'cooldown_s'
    | 'exhaustion_policy'
    | 'qualified_call_s'
    | 'max_leases_per_ip'
    | 'retention_caller_days'
    | 'retention_recording_days'
    | 'retention_session_days'
  >
>;

export async function insertSite(db: Kysely<Database>, site: NewSite) {
  return db.insertInto('sites').values(site).returningAll().executeTakeFirstOrThrow();
}

export async function listSites(db: Kysely<Database>, accountId: string) {
  return db
    .selectFrom('sites')
    .selectAll()
    .where('account_id', '=', accountId)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
}

export async function getSite(db: Kysely<Database>, accountId: string, id: string) {
  return db.selectFrom('sites').selectAll().where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst();
}

export async function getSiteByKey(db: Kysely<Database>, publicKey: string) {
  return db.selectFrom('sites').selectAll().where('public_key', '=', publicKey).executeTakeFirst();
}

export async function updateSite(db: Kysely<Database>, accountId: string, id: string, patch: SitePatch, now: Date) {
  return db
    .updateTable('sites')
    .set({ ...patch, updated_at: now })
    .where('account_id', '=', accountId)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
}

export async function deleteSite(db: Kysely<Database>, accountId: string, id: string) {
  const result = await db
    .deleteFrom('sites')
    .where('account_id', '=', accountId)
    .where('id', '=', id)
    .executeTakeFirst();
  return result.numDeletedRows > 0n;
}

export async function poolTargetsInUse(db: Kysely<Database>, siteId: string): Promise<string[]> {
  const pools = await db.selectFrom('pools').select('swap_target').where('site_id', '=', siteId).execute();
  const numbers = await db
    .selectFrom('tracking_numbers')
    .select('swap_target')
    .distinct()
    .where('site_id', '=', siteId)
    .where('retired_at', 'is', null)
    .execute();
  return [...new Set([...pools, ...numbers].map((r) => r.swap_target))];
}

const poolWithCounts = (db: Kysely<Database>) =>
  db
    .selectFrom('pools')
    .selectAll('pools')
    .select((eb) => [
      eb
        .selectFrom('tracking_numbers')
        .select(eb.fn.countAll<string>().as('n'))
        .whereRef('tracking_numbers.pool_id', '=', 'pools.id')
        .where('tracking_numbers.retired_at', 'is', null)
        .as('number_count'),
      eb
        .selectFrom('pool_exhaustions')
        .select(eb.fn.countAll<string>().as('n'))
        .whereRef('pool_exhaustions.pool_id', '=', 'pools.id')
        .as('exhaustion_count'),
    ]);

export async function listPools(db: Kysely<Database>, accountId: string, siteId: string) {
  return poolWithCounts(db)
    .where('pools.account_id', '=', accountId)
    .where('pools.site_id', '=', siteId)
    .orderBy('pools.created_at')
    .orderBy('pools.id')
    .execute();
}

export async function getPool(db: Kysely<Database>, accountId: string, id: string) {
  return poolWithCounts(db).where('pools.account_id', '=', accountId).where('pools.id', '=', id).executeTakeFirst();
}

export async function insertPool(
  db: Kysely<Database>,
  pool: { account_id: string; site_id: string; name: string; swap_target: string },
) {
  return db.insertInto('pools').values(pool).returningAll().executeTakeFirstOrThrow();
}

export async function deletePool(db: Kysely<Database>, accountId: string, id: string) {
  const result = await db
    .deleteFrom('pools')
    .where('account_id', '=', accountId)
    .where('id', '=', id)
    .executeTakeFirst();
  return result.numDeletedRows > 0n;
}

export async function poolHasNumbers(db: Kysely<Database>, poolId: string): Promise<boolean> {
  const row = await db
    .selectFrom('tracking_numbers')
    .select('id')
    .where('pool_id', '=', poolId)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

export interface NewNumber {
  e164: string;
  forward_to: string;
  swap_target: string;
  provider: string;
  recording: boolean;
  pool_id: string | null;
  source: string | null;
  source_label: string | null;
}

export async function insertNumbers(db: Kysely<Database>, accountId: string, siteId: string, numbers: NewNumber[]) {
  return db
    .insertInto('tracking_numbers')
    .values(numbers.map((n) => ({ ...n, account_id: accountId, site_id: siteId })))
    .returningAll()
    .execute();
}

export async function existingNumbers(db: Kysely<Database>, e164s: string[]): Promise<string[]> {
  if (e164s.length === 0) return [];
  const rows = await db.selectFrom('tracking_numbers').select('e164').where('e164', 'in', e164s).execute();
  return rows.map((r) => r.e164);
}

export async function listNumbers(
  db: Kysely<Database>,
  accountId: string,
  siteId: string,
  filter: { poolId?: string | undefined; kind?: 'pool' | 'source' | undefined },
) {
  let query = db
    .selectFrom('tracking_numbers')
    .selectAll()
    .where('account_id', '=', accountId)
    .where('site_id', '=', siteId);
  if (filter.poolId) query = query.where('pool_id', '=', filter.poolId);
  if (filter.kind === 'pool') query = query.where('pool_id', 'is not', null);
  if (filter.kind === 'source') query = query.where('pool_id', 'is', null);
  return query.orderBy('created_at').orderBy('e164').execute();
}

export async function getNumber(db: Kysely<Database>, accountId: string, id: string) {
  return db
    .selectFrom('tracking_numbers')
    .selectAll()
    .where('account_id', '=', accountId)
    .where('id', '=', id)
    .executeTakeFirst();
}

export async function updateNumber(
  db: Kysely<Database>,
  accountId: string,
  id: string,
  patch: Partial<Pick<NewNumber, 'forward_to' | 'provider' | 'recording' | 'source_label'>> & { retired_at?: Date },
) {
  return db
    .updateTable('tracking_numbers')
    .set(patch)
    .where('account_id', '=', accountId)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
}

/** Site settings the public endpoints need, with the numbers they may show. */
export async function loadSiteConfig(db: Kysely<Database>, publicKey: string) {
  const site = await getSiteByKey(db, publicKey);
  if (!site) return undefined;
  const [pools, numbers] = await Promise.all([
    db.selectFrom('pools').select(['id', 'swap_target']).where('site_id', '=', site.id).execute(),
    db
      .selectFrom('tracking_numbers')
      .select(['id', 'e164', 'swap_target', 'pool_id', 'source'])
      .where('site_id', '=', site.id)
      // A retired pool number may still be held, so it stays; a retired source number is never shown.
      .where((eb) => eb.or([eb('retired_at', 'is', null), eb('pool_id', 'is not', null)]))
      .execute(),
  ]);
  return {
    site,
    pools,
    /** Pool numbers by id: the database says which one a session holds. */
    poolNumbers: new Map(numbers.filter((n) => n.pool_id).map((n) => [n.id, n.e164])),
    sourceNumbers: numbers.filter((n) => !n.pool_id),
  };
}
