import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, sql } from 'kysely';
import { PGliteDialect } from 'kysely-pglite-dialect';
import pg from 'pg';
import { inject } from 'vitest';
import { type OpenedDatabase, openDatabase, PGLITE_PARSERS } from '../../src/db/database.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import type { Database } from '../../src/db/schema.ts';

export type TestDatabaseKind = 'pglite' | 'postgres';

export interface TestDatabase extends OpenedDatabase {
  /** For PostgreSQL: the fresh database's URL, so a second app instance can share it. */
  url: string | undefined;
}

export function testDatabaseKind(): TestDatabaseKind {
  return process.env.RINGPOOL_TEST_DB === 'postgres' ? 'postgres' : 'pglite';
}

/**
 * A fresh, migrated database for one test file: an in-memory PGlite (a copy of the migrated
 * template made by the global setup), or a new PostgreSQL
 * database created on TEST_DATABASE_URL's server and dropped on close.
 */
export async function createTestDatabase(options: { poolSize?: number } = {}): Promise<TestDatabase> {
  if (testDatabaseKind() === 'pglite') {
    const template = await readFile(inject('pgliteTemplate'));
    const client = await PGlite.create({ loadDataDir: new Blob([template]), parsers: PGLITE_PARSERS });
    const db = new Kysely<Database>({ dialect: new PGliteDialect(client) });
    return { db, kind: 'pglite', url: undefined, close: () => db.destroy() };
  }
  const serverUrl = process.env.TEST_DATABASE_URL;
  if (!serverUrl) throw new Error('RINGPOOL_TEST_DB=postgres needs TEST_DATABASE_URL');
  const name = `ringpool_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const opened = await openDatabase({ databaseUrl: url.toString(), poolSize: options.poolSize ?? 20 });
  await migrateToLatest(opened.db);
  return {
    ...opened,
    url: url.toString(),
    async close() {
      await opened.close();
      const dropper = new pg.Client({ connectionString: serverUrl });
      await dropper.connect();
      await dropper.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await dropper.end();
    },
  };
}

/**
 * Every row of every table of the service (found in the catalog, so new tables count too), as
 * sorted JSON text: two equal snapshots mean nothing changed.
 */
export async function snapshotRows(db: Kysely<Database>): Promise<string[]> {
  const tables = await sql<{ name: string }>`
    SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' AND tablename NOT LIKE 'kysely_%' ORDER BY 1`.execute(
    db,
  );
  const selects = tables.rows.map(
    ({ name }) => sql`SELECT ${name}::text AS t, to_jsonb(x)::text AS r FROM ${sql.table(name)} AS x`,
  );
  const result = await sql<{ t: string; r: string }>`${sql.join(selects, sql` UNION ALL `)} ORDER BY t, r`.execute(db);
  return result.rows.map((row) => `${row.t} ${row.r}`);
}
