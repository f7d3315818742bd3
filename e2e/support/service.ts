import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The service under test: the real one, started by the Playwright config on an empty database. */
export const SERVICE_PORT = 3217;
/** Its database and its own files (spool, demo telephony credentials), removed when it exits. */
export const E2E_STATE_ROOT = join(tmpdir(), `ringpool-e2e-${SERVICE_PORT}`);
export const SERVICE_URL = `http://127.0.0.1:${SERVICE_PORT}`;
/** The same service under its other allowed origin: a page on one calling the other is a real cross-origin request. */
export const SERVICE_URL_LOCALHOST = `http://localhost:${SERVICE_PORT}`;
/** Accepted as an admin key by the service started for the tests; not a secret. */
export const ADMIN_API_KEY = 'e2e-admin-key-not-a-secret';
/** The demo site, created on an empty database, with its business number and its pool of 20. */
export const DEMO_SITE_KEY = 'demo';
export const DEMO_BUSINESS_NUMBER = '+12015550100';
export const DEMO_POOL = Array.from({ length: 20 }, (_, i) => `+1201555${String(101 + i).padStart(4, '0')}`);
export const SESSIONS_PATH = `/v1/public/sites/${DEMO_SITE_KEY}/sessions`;
