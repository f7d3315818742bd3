/**
 * The real service for an e2e run, on an empty embedded database in a fresh temporary folder
 * that is removed when the service exits.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { E2E_STATE_ROOT } from './support/service.ts';

// A fixed place (per port), so that tests can run `npm run call` against this service's demo account.
rmSync(E2E_STATE_ROOT, { recursive: true, force: true });
mkdirSync(E2E_STATE_ROOT, { recursive: true });
process.env.DATA_DIR = join(E2E_STATE_ROOT, 'db');
process.env.STATE_DIR = join(E2E_STATE_ROOT, 'state');
process.on('exit', () => rmSync(E2E_STATE_ROOT, { recursive: true, force: true }));

await import('../packages/attribution-api/src/server.ts');
