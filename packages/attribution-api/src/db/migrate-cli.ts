import { loadConfig } from '../config.ts';
import { openDatabase } from './database.ts';
import { migrateToLatest } from './migrate.ts';

const config = loadConfig(process.env);
const database = await openDatabase(config.database);
try {
  const { results = [] } = await migrateToLatest(database.db);
  for (const r of results) console.log(`${r.status === 'Success' ? 'applied' : r.status}: ${r.migrationName}`);
  console.log(results.length ? 'migrations done' : `already up to date (${database.kind})`);
} finally {
  await database.close();
}
