import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import { newApiKey } from '../secrets.ts';

const keyColumns = ['id', 'account_id', 'name', 'prefix', 'is_admin', 'created_at', 'revoked_at'] as const;

export async function findActiveKeyByHash(db: Kysely<Database>, hash: string) {
  return db
    .selectFrom('api_keys')
    .select(['id', 'account_id', 'is_admin'])
    .where('key_hash', '=', hash)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
}

export async function findOperatorAccountId(db: Kysely<Database>): Promise<string | undefined> {
  const row = await db.selectFrom('accounts').select('id').where('is_operator', '=', true).executeTakeFirst();
  return row?.id;
}

export async function createAccount(db: Kysely<Database>, name: string, isOperator = false) {
  return db.insertInto('accounts').values({ name, is_operator: isOperator }).returningAll().executeTakeFirstOrThrow();
}

export async function listAccounts(db: Kysely<Database>) {
  return db.selectFrom('accounts').selectAll().orderBy('created_at').orderBy('id').execute();
}

export async function getAccount(db: Kysely<Database>, id: string) {
  return db.selectFrom('accounts').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Creates a key and returns it with its secret, which is never readable again. */
export async function createApiKey(db: Kysely<Database>, accountId: string, name: string, isAdmin: boolean) {
  const { key, prefix, hash } = newApiKey();
  const row = await db
    .insertInto('api_keys')
    .values({ account_id: accountId, name, prefix, key_hash: hash, is_admin: isAdmin })
    .returning(keyColumns)
    .executeTakeFirstOrThrow();
  return { ...row, key };
}

export async function listApiKeys(db: Kysely<Database>, accountId: string) {
  return db
    .selectFrom('api_keys')
    .select(keyColumns)
    .where('account_id', '=', accountId)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
}

export async function revokeApiKey(db: Kysely<Database>, accountId: string, id: string, now: Date) {
  return db
    .updateTable('api_keys')
    .set({ revoked_at: now })
    .where('id', '=', id)
    .where('account_id', '=', accountId)
    .where('revoked_at', 'is', null)
    .returning(keyColumns)
    .executeTakeFirst();
}
