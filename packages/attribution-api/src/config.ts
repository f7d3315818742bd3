import type { DatabaseOptions } from './db/database.ts';

export interface Config {
  port: number;
  host: string;
  database: DatabaseOptions;
  /** An operator admin key given by the environment; never stored, never logged. */
  adminApiKey: string | undefined;
  /** The service's public URL, when it sits behind a proxy (telephony signatures need it). */
  publicBaseUrl: string | undefined;
  logLevel: string;
  /** Session creations per minute per client address, per process. */
  sessionRateLimit: number;
  trustProxy: boolean;
  /** This machine's own files: the call spool, and the demo's telephony credentials. */
  stateDir: string;
  /** How often each site's retention pass runs; 0: not in this process. */
  retentionIntervalMs: number;
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

export function loadConfig(env: NodeJS.ProcessEnv): Config {
  return {
    port: integer(env, 'PORT', 3000, 0, 65535),
    host: env.HOST || 'localhost',
    database: {
      databaseUrl: env.DATABASE_URL || undefined,
      dataDir: env.DATA_DIR || './.data',
      poolSize: integer(env, 'DATABASE_POOL_SIZE', 10, 1, 200),
    },
    adminApiKey: env.ADMIN_API_KEY || undefined,
    publicBaseUrl: env.PUBLIC_BASE_URL || undefined,
    logLevel: env.LOG_LEVEL || 'info',
    sessionRateLimit: integer(env, 'SESSION_RATE_LIMIT', 60, 1, 1_000_000),
    trustProxy: env.TRUST_PROXY === 'true',
    stateDir: env.STATE_DIR || './.ringpool',
    retentionIntervalMs: integer(env, 'RETENTION_INTERVAL_MINUTES', 60, 0, 1440) * 60_000,
  };
}
