import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.ts';
import { CallSpool } from './calls/spool.ts';
import { loadConfig } from './config.ts';
import { type OpenedDatabase, openDatabase } from './db/database.ts';
import { migrateToLatest } from './db/migrate.ts';
import {
  bootstrap,
  DEMO_POOL,
  DEMO_SITE_KEY,
  DEMO_TWILIO_ACCOUNT,
  ensureDemoTelephony,
  followServiceOrigin,
} from './demo/bootstrap.ts';
import { writeDemoTelephony } from './demo/telephony-file.ts';
import { readSnippet } from './snippet/routes.ts';

const started = performance.now();
const config = loadConfig(process.env);
let database: OpenedDatabase | undefined;
let app: FastifyInstance | undefined;
let spool: CallSpool | undefined;

// Installed first, so that a signal during start-up still closes the database cleanly.
let closing = false;
async function shutdown(signal: string) {
  if (closing) return;
  closing = true;
  app?.log.info({ signal }, 'shutting down');
  try {
    await app?.close();
    // Closed after the app: the last replay has finished, and another process may take what is left.
    spool?.close();
    await database?.close();
    process.exit(0);
  } catch (err) {
    console.error('shutdown failed', err);
    process.exit(1);
  }
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));

database = await openDatabase(config.database);
await migrateToLatest(database.db);
spool = new CallSpool({
  dir: path.join(config.stateDir, 'spool'),
  onWarning: (message) => app?.log.warn({ spool: true }, message),
});
app = await buildApp({
  db: database.db,
  callSpool: spool,
  publicBaseUrl: config.publicBaseUrl,
  adminApiKey: config.adminApiKey,
  logger: {
    level: config.logLevel,
    // Keys, cookies and visitors' addresses stay out of the logs (only a salted hash is stored).
    redact: ['req.headers.authorization', 'req.headers.cookie', 'req.remoteAddress', 'req.headers["x-forwarded-for"]'],
  },
  sessionRateLimit: config.sessionRateLimit,
  retentionIntervalMs: config.retentionIntervalMs,
  trustProxy: config.trustProxy,
});
const boot = await bootstrap(database.db, { adminKeyFromEnv: Boolean(config.adminApiKey) });
const demoToken = await ensureDemoTelephony(database.db);

const serviceOrigins = (port: number) => [
  `http://localhost:${port}`,
  `http://127.0.0.1:${port}`,
  ...(config.publicBaseUrl ? [new URL(config.publicBaseUrl).origin] : []),
];
// Before listening, so the demo site accepts its own origin from the first request on.
await followServiceOrigin(database.db, serviceOrigins(config.port));
await app.listen({ port: config.port, host: config.host });
const address = app.server.address();
const port = typeof address === 'object' && address ? address.port : config.port;
if (port !== config.port) {
  await followServiceOrigin(database.db, serviceOrigins(port));
  app.siteCache.clear();
}

const base = `http://localhost:${port}`;
if (demoToken) {
  // The address the service listens on, not the banner's "localhost", which may resolve to another one.
  const host = ['0.0.0.0', '::'].includes(config.host) ? '127.0.0.1' : config.host;
  writeDemoTelephony(config.stateDir, {
    baseUrl: config.publicBaseUrl ?? `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    accountSid: DEMO_TWILIO_ACCOUNT,
    authToken: demoToken,
  });
}
const where =
  database.kind === 'pglite' ? `embedded PGlite in ${config.database.dataDir}` : 'PostgreSQL (DATABASE_URL)';
const lines = [
  `Ringpool is ready on ${base} (${where}), in ${Math.round(performance.now() - started)} ms`,
  `  Demo page      ${base}/demo  (the business number swapped live for a leased tracking number)`,
  `  Dashboard      ${base}/app  (sign in with an API key)`,
  `  API reference  ${base}/docs`,
  `  Demo site      key "${DEMO_SITE_KEY}", business number +1 (201) 555-0100, pool ${DEMO_POOL[0]} … ${DEMO_POOL.at(-1)}`,
  '  Simulate a call to the number the demo page shows:  npm run call -- <number>',
];
const snippet = readSnippet();
lines.push(
  snippet
    ? `  Script tag     <script async src="${base}/v1/snippet.${snippet.version}.js" integrity="${snippet.integrity}" crossorigin="anonymous" data-site="${DEMO_SITE_KEY}"></script>`
    : '  Script tag     the snippet is not built: run `npm run build`',
);
if (boot.adminKey) {
  lines.push(
    '',
    '  Admin API key, shown this once (only its hash is stored):',
    `      ${boot.adminKey}`,
    `  Try: curl -H "Authorization: Bearer ${boot.adminKey}" ${base}/v1/sites`,
    '  Lost it? Restart with ADMIN_API_KEY=<a secret of your own>, which is accepted as an admin key.',
  );
} else if (config.adminApiKey) {
  lines.push('  Admin API key  the one in ADMIN_API_KEY');
} else {
  lines.push('  Admin API key  the one shown at the first start (lost it? set ADMIN_API_KEY)');
}
// The banner goes to the terminal, not to the logs: the one-time key must never reach a log store.
process.stdout.write(`\n${lines.join('\n')}\n\n`);
