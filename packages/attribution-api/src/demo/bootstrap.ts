import type { Kysely } from 'kysely';
import { createApiKey } from '../accounts/repository.ts';
import type { Database } from '../db/schema.ts';
import { randomToken } from '../secrets.ts';

export const DEMO_SITE_KEY = 'demo';
export const DEMO_BUSINESS_NUMBER = '+12015550100';
/** The fictional 555-01xx range: +1 201 555 0101 … 0120. */
export const DEMO_POOL = Array.from({ length: 20 }, (_, i) => `+120155501${String(i + 1).padStart(2, '0')}`);

export interface Bootstrapped {
  /** Set only on the start that created it: the one time it can be shown. */
  adminKey: string | null;
  createdDemo: boolean;
}

/**
 * On an empty database: the operator (demo) account, a demo site with a pool of 20 numbers,
 * and an admin key unless one comes from ADMIN_API_KEY. Safe when several processes start at once.
 */
export async function bootstrap(db: Kysely<Database>, options: { adminKeyFromEnv: boolean }): Promise<Bootstrapped> {
  return db.transaction().execute(async (trx) => {
    const account = await trx
      .insertInto('accounts')
      .values({ name: 'Demo account', is_operator: true })
      .onConflict((oc) => oc.column('is_operator').where('is_operator', '=', true).doNothing())
      .returning('id')
      .executeTakeFirst();
    if (!account) return { adminKey: null, createdDemo: false };

    const site = await trx
      .insertInto('sites')
      .values({
        account_id: account.id,
        public_key: DEMO_SITE_KEY,
        name: 'Demo site',
        allowed_origins: [],
        swap_targets: [DEMO_BUSINESS_NUMBER],
        default_country: 'US',
        time_zone: 'America/New_York',
        is_demo: true,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const pool = await trx
      .insertInto('pools')
      .values({ account_id: account.id, site_id: site.id, name: 'Demo pool', swap_target: DEMO_BUSINESS_NUMBER })
      .returning('id')
      .executeTakeFirstOrThrow();
    await trx
      .insertInto('tracking_numbers')
      .values(
        DEMO_POOL.map((e164) => ({
          account_id: account.id,
          site_id: site.id,
          pool_id: pool.id,
          e164,
          swap_target: DEMO_BUSINESS_NUMBER,
          forward_to: DEMO_BUSINESS_NUMBER,
        })),
      )
      .execute();
    const adminKey = options.adminKeyFromEnv
      ? null
      : (await createApiKey(trx, account.id, 'first admin key', true)).key;
    return { adminKey, createdDemo: true };
  });
}

/** The demo site accepts the service's own origins, on whatever port it runs. */
export async function followServiceOrigin(db: Kysely<Database>, origins: string[]): Promise<void> {
  await db.updateTable('sites').set({ allowed_origins: origins }).where('is_demo', '=', true).execute();
}

/** The demo's stand-in Twilio account: `npm run call` signs its webhooks with this token. */
export const DEMO_TWILIO_ACCOUNT = `AC${'0'.repeat(32)}`;

/** Makes sure the demo account accepts simulated Twilio calls; returns the token they are signed with. */
export async function ensureDemoTelephony(db: Kysely<Database>): Promise<string | null> {
  const site = await db.selectFrom('sites').select('account_id').where('is_demo', '=', true).executeTakeFirst();
  if (!site) return null;
  await db
    .insertInto('telephony_accounts')
    .values({
      account_id: site.account_id,
      provider: 'twilio',
      provider_account: DEMO_TWILIO_ACCOUNT,
      secret: randomToken(24),
      unknown_forward_to: null,
    })
    .onConflict((oc) => oc.columns(['provider', 'provider_account']).doNothing())
    .execute();
  const row = await db
    .selectFrom('telephony_accounts')
    .select('secret')
    .where('provider', '=', 'twilio')
    .where('provider_account', '=', DEMO_TWILIO_ACCOUNT)
    .where('account_id', '=', site.account_id)
    .executeTakeFirst();
  return row?.secret ?? null;
}
