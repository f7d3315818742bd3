/**
 * The real service for an e2e run, on an empty embedded database in a fresh temporary folder
 * that is removed when the service exits.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dataDir = mkdtempSync(join(tmpdir(), 'ringpool-e2e-'));
process.env.DATA_DIR = dataDir;
process.on('exit', () => rmSync(dataDir, { recursive: true, force: true }));

await import('../packages/attribution-api/src/server.ts');
