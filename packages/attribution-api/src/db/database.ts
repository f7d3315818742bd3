import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { type CompiledQuery, Kysely, PostgresDialect } from 'kysely';
import { PGliteDialect } from 'kysely-pglite-dialect';
import pg from 'pg';
import type { Database } from './schema.ts';

export type DatabaseKind = 'postgres' | 'pglite';

export interface OpenedDatabase {
  db: Kysely<Database>;
  kind: DatabaseKind;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** PostgreSQL connection string; without it, an embedded PGlite database is used. */
  databaseUrl?: string | undefined;
  /** Folder for the embedded database; `memory://` keeps it in memory. */
  dataDir?: string;
  poolSize?: number;
}

// int8 (counts, identity ids) as string keeps precision; callers convert where they need numbers.
// Both drivers are set the same way, so code sees one type whichever database runs.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => v);
export const PGLITE_PARSERS = { [pg.types.builtins.INT8]: (v: string) => v };

const PREPARED = /^\/\* prepare:(\w+) \*\//;

/** Marks a hot-path statement to be prepared once per connection, as pgbench -M prepared does. */
export function prepared<R>(name: string, query: CompiledQuery<R>): CompiledQuery<R> {
  return { ...query, sql: `/* prepare:${name} */ ${query.sql}` };
}

type Query = (this: pg.Client, ...args: unknown[]) => unknown;
const plainQuery = pg.Client.prototype.query as unknown as Query;

/**
 * A pg client that sends marked statements as named prepared statements: parsed and planned once
 * per connection. Only marked ones: a prepared `SELECT *` could break when a migration changes a table.
 * The name carries a hash of the text, since pg refuses one name for two texts.
 */
class PreparingClient extends pg.Client {
  constructor(config?: string | pg.ClientConfig) {
    super(config);
    // A connection lost while checked out must not crash the process: its query fails, and the
    // pool drops the client when it comes back (pg only listens for errors on idle clients).
    this.on('error', () => {});
  }
}
(PreparingClient.prototype as unknown as { query: Query }).query = function (text, values, ...rest) {
  const marker = typeof text === 'string' && Array.isArray(values) ? PREPARED.exec(text)?.[1] : undefined;
  if (!marker) return plainQuery.call(this, text, values, ...rest);
  const name = `${marker}_${createHash('sha1')
    .update(text as string)
    .digest('hex')
    .slice(0, 10)}`;
  return plainQuery.call(this, { name, text, values }, ...rest);
};

export async function openDatabase(options: DatabaseOptions): Promise<OpenedDatabase> {
  if (options.databaseUrl) {
    const pool = new pg.Pool({
      connectionString: options.databaseUrl,
      max: options.poolSize ?? 10,
      Client: PreparingClient,
      // Short statements and reports alike lose more to JIT compilation than they gain (tens of ms).
      options: '-c jit=off',
    });
    // An idle client that loses its server must not crash the process.
    pool.on('error', () => {});
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    return { db, kind: 'postgres', close: () => db.destroy() };
  }
  const dataDir = options.dataDir ?? './.data';
  if (!dataDir.startsWith('memory://')) mkdirSync(dataDir, { recursive: true });
  const client = await PGlite.create(dataDir, { parsers: PGLITE_PARSERS });
  const db = new Kysely<Database>({ dialect: new PGliteDialect(client) });
  return { db, kind: 'pglite', close: () => db.destroy() };
}

export async function isReachable(db: Kysely<Database>): Promise<boolean> {
  try {
    await db.selectNoFrom((eb) => eb.val(1).as('one')).execute();
    return true;
  } catch {
    return false;
  }
}
