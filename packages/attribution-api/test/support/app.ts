import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance, InjectOptions } from 'fastify';
import type { Kysely } from 'kysely';
import { createAccount, createApiKey } from '../../src/accounts/repository.ts';
import { type AppOptions, buildApp } from '../../src/app.ts';
import { CallSpool } from '../../src/calls/spool.ts';
import type { Database } from '../../src/db/schema.ts';

/** A clock the test moves by hand. */
export class TestClock {
  constructor(public current = new Date('2026-06-01T12:00:00Z')) {}
  now = (): Date => new Date(this.current);
  advance(seconds: number): void {
    this.current = new Date(this.current.getTime() + seconds * 1000);
  }
}

export async function buildTestApp(db: Kysely<Database>, options: Partial<AppOptions> = {}): Promise<FastifyInstance> {
  const callSpool = options.callSpool ?? new CallSpool({ dir: mkdtempSync(path.join(tmpdir(), 'ringpool-spool-')) });
  const app = await buildApp({ db, sessionRateLimit: 100_000, ...options, callSpool });
  await app.ready();
  return app;
}

/** An account with one API key, made directly in the database. */
export async function makeAccount(
  db: Kysely<Database>,
  name: string,
  options: { operator?: boolean; admin?: boolean } = {},
) {
  const account = await createAccount(db, name, options.operator ?? false);
  const key = await createApiKey(db, account.id, `${name} key`, options.admin ?? false);
  return { account, key: key.key, auth: { authorization: `Bearer ${key.key}` } };
}

/** Calls an admin route as `auth` and returns status and parsed JSON body. */
export async function call(app: FastifyInstance, auth: Record<string, string>, options: InjectOptions) {
  const response = await app.inject({ ...options, headers: { ...auth, ...(options.headers ?? {}) } });
  const body = response.body ? JSON.parse(response.body) : undefined;
  return { status: response.statusCode, body, headers: response.headers };
}

export const BROWSER_UA =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36';
export const SITE_ORIGIN = 'https://www.example-dental.com';

/** Creates a site and a pool of `size` numbers (+1 201 555 01xx, then 02xx...) through the API. */
export async function makeSiteWithPool(
  app: FastifyInstance,
  auth: Record<string, string>,
  options: { size: number; settings?: Record<string, unknown>; firstNumber?: number },
) {
  const site = await call(app, auth, {
    method: 'POST',
    url: '/v1/sites',
    payload: {
      name: 'Example Dental',
      allowed_origins: [SITE_ORIGIN],
      swap_targets: ['(201) 555-0100'],
      default_country: 'US',
      time_zone: 'America/New_York',
      ...options.settings,
    },
  });
  if (site.status !== 201) throw new Error(`site: ${JSON.stringify(site.body)}`);
  const pool = await call(app, auth, {
    method: 'POST',
    url: `/v1/sites/${site.body.id}/pools`,
    payload: { name: 'Main pool' },
  });
  if (pool.status !== 201) throw new Error(`pool: ${JSON.stringify(pool.body)}`);
  const first = options.firstNumber ?? 2015550101;
  const numbers = Array.from({ length: options.size }, (_, i) => ({ number: `+1${first + i}` }));
  const added = await call(app, auth, {
    method: 'POST',
    url: `/v1/pools/${pool.body.id}/numbers`,
    payload: { numbers },
  });
  if (added.status !== 201) throw new Error(`numbers: ${JSON.stringify(added.body)}`);
  return { site: site.body, pool: pool.body, numbers: added.body.numbers as { id: string; e164: string }[] };
}

/** A visitor's browser asking for a session. */
export async function startSession(
  app: FastifyInstance,
  siteKey: string,
  payload: Record<string, unknown> = {},
  headers: Record<string, string> = {},
) {
  const response = await app.inject({
    method: 'POST',
    url: `/v1/public/sites/${siteKey}/sessions`,
    headers: { origin: SITE_ORIGIN, 'content-type': 'text/plain', 'user-agent': BROWSER_UA, ...headers },
    payload: JSON.stringify({ url: `${SITE_ORIGIN}/`, ...payload }),
  });
  return { status: response.statusCode, body: JSON.parse(response.body), headers: response.headers };
}
