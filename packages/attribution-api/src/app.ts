import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Kysely } from 'kysely';
import { accountRoutes } from './accounts/routes.ts';
import { TelephonyDirectory } from './calls/directory.ts';
import { CallRecorder, type EventSpool } from './calls/recorder.ts';
import { callRoutes } from './calls/routes.ts';
import { telephonyAccountRoutes } from './calls/telephony-account-routes.ts';
import { telephonyRoutes } from './calls/telephony-routes.ts';
import { dashboardRoutes } from './dashboard/routes.ts';
import type { Database } from './db/schema.ts';
import { demoRoutes } from './demo/page.ts';
import { installErrorHandling } from './errors.ts';
import { exportRoutes } from './exports/routes.ts';
import { requireApiKey } from './plugins/auth.ts';
import { publicRoutes } from './public/routes.ts';
import { reportRoutes } from './reports/routes.ts';
import { retention } from './retention/plugin.ts';
import { ErrorResponse } from './schemas.ts';
import { randomToken } from './secrets.ts';
import { sessionAdminRoutes } from './sessions/admin-routes.ts';
import { getSetting } from './sessions/repository.ts';
import { SiteCache } from './sessions/site-cache.ts';
import { numberRoutes } from './sites/number-routes.ts';
import { siteRoutes } from './sites/routes.ts';
import { snippetRoutes } from './snippet/routes.ts';
import { systemRoutes } from './system/routes.ts';
import { webhookRoutes } from './webhooks/routes.ts';

export interface AppOptions {
  db: Kysely<Database>;
  /** The service's notion of now; tests drive it. */
  clock?: () => Date;
  adminApiKey?: string | undefined;
  logger?: FastifyServerOptions['logger'];
  sessionRateLimit?: number;
  trustProxy?: boolean;
  /** Where call events wait while the database is away (a CallSpool on local disk). */
  callSpool: EventSpool;
  /** The URL providers call the service at; telephony signatures cover it. */
  publicBaseUrl?: string | undefined;
  /** How long a webhook waits for the database before spooling (default 1 s). */
  callWriteTimeoutMs?: number;
  /** How often the number → forward-to cache is reloaded (default 15 s). */
  directoryRefreshMs?: number;
  /** How often each site's retention pass runs (default hourly); 0: no schedule in this process. */
  retentionIntervalMs?: number | undefined;
}

declare module 'fastify' {
  interface FastifyInstance {
    db: Kysely<Database>;
    clock: () => Date;
    siteCache: SiteCache;
    telephonyDirectory: TelephonyDirectory;
    callRecorder: CallRecorder;
  }
}

function validator(coerceTypes: false | 'array'): Ajv {
  // Unknown properties are refused, never silently stripped.
  const ajv = new Ajv({ removeAdditional: false, useDefaults: true, coerceTypes, allErrors: false });
  addFormats.default(ajv);
  return ajv;
}
// JSON bodies carry their own types, so 123 is not taken for "123"; paths and query strings are text.
const bodyAjv = validator(false);
const urlAjv = validator('array');

/** The whole service as a Fastify instance, ready to listen or to be injected into by tests. */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? false,
    trustProxy: options.trustProxy ?? false,
    bodyLimit: 1024 * 1024,
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? bodyAjv : urlAjv).compile(schema));

  app.decorate('db', options.db);
  app.decorate('clock', options.clock ?? (() => new Date()));
  app.decorate('siteCache', new SiteCache(options.db));
  const directory = new TelephonyDirectory(options.db, {
    refreshMs: options.directoryRefreshMs,
    onError: (err) => app.log.warn({ err }, 'telephony directory refresh failed'),
  });
  const recorder = new CallRecorder(options.db, options.callSpool, {
    timeoutMs: options.callWriteTimeoutMs,
    clock: () => app.clock(),
    log: app.log,
  });
  app.decorate('telephonyDirectory', directory);
  app.decorate('callRecorder', recorder);
  app.addHook('onReady', async () => {
    // Warm before the first call arrives; from then on the cache answers even without the database.
    await directory.refresh();
    directory.start();
    recorder.start();
  });
  app.addHook('onClose', async () => {
    directory.stop();
    await recorder.stop();
  });
  installErrorHandling(app);
  app.addSchema(ErrorResponse);

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Ringpool API',
        version: '0.1.0',
        description:
          'Call tracking with dynamic number insertion. Admin routes take an API key as `Authorization: Bearer <key>`; ' +
          'public routes are the snippet’s and answer only the site’s allowed origins.',
      },
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer' } } },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  const ipSalt = await getSetting(options.db, 'ip_salt', () => randomToken(32));

  await app.register(systemRoutes);
  await app.register(snippetRoutes);
  await app.register(demoRoutes);
  await app.register(dashboardRoutes);
  await app.register(publicRoutes, {
    prefix: '/v1/public',
    sessionRateLimit: options.sessionRateLimit ?? 60,
    ipSalt,
  });
  await app.register(telephonyRoutes, {
    prefix: '/v1/telephony',
    directory,
    recorder,
    publicBaseUrl: options.publicBaseUrl,
  });
  await app.register(
    async (admin) => {
      requireApiKey(admin, options.adminApiKey);
      admin.addHook('onRoute', (route) => {
        route.schema = { ...route.schema, security: [{ apiKey: [] }] };
      });
      await admin.register(accountRoutes);
      await admin.register(siteRoutes);
      await admin.register(numberRoutes);
      await admin.register(sessionAdminRoutes);
      await admin.register(callRoutes, { directory, recorder });
      await admin.register(telephonyAccountRoutes, { directory });
      await admin.register(exportRoutes);
      await admin.register(reportRoutes);
      await admin.register(webhookRoutes);
      await admin.register(retention, { intervalMs: options.retentionIntervalMs });
    },
    { prefix: '/v1' },
  );
  return app;
}
