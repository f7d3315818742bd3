import type { FastifyPluginAsync } from 'fastify';
import { DEFAULT_RETENTION_INTERVAL_MS, RetentionJob } from './job.ts';
import { retentionRoutes } from './routes.ts';

export interface RetentionOptions {
  /** How often each site's retention pass runs (default hourly); 0: no schedule in this process. */
  intervalMs?: number | undefined;
  /** Delay before the first look for due sites (default: the interval, at most 5 min). */
  firstRunDelayMs?: number | undefined;
}

/** Retention: the scheduled pass (started when the app is ready, stopped when it closes) and its routes. */
export const retention: FastifyPluginAsync<RetentionOptions> = async (app, options) => {
  const job = new RetentionJob({
    db: app.db,
    clock: () => app.clock(),
    intervalMs: options.intervalMs ?? DEFAULT_RETENTION_INTERVAL_MS,
    firstRunDelayMs: options.firstRunDelayMs,
    log: app.log,
  });
  app.addHook('onReady', async () => job.start());
  app.addHook('onClose', async () => job.stop());
  await app.register(retentionRoutes, { job });
};
