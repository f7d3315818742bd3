import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import { poolSweep, replaceSlots, rollupProgress, saveRollupState, tryRollupLock } from './repository.ts';

// Pool use is rolled up per 15-minute slot once a slot is past, so the pool report reads a few
// thousand slot rows instead of sweeping millions of leases. A past slot never changes: leases and
// exhaustions are written at the time they happen. Rows that arrive with older times anyway (an
// import, a process with its clock behind) are found by their ids and send the roll-up back.

export const SLOT_MS = 15 * 60_000;
/** A slot is rolled up this long after it ends: time for transactions that started in it to commit. */
const LAG_MS = 2 * 60_000;
/** At most this much time per transaction. */
const CHUNK_MS = 86_400_000;

export const floorSlot = (ms: number) => Math.floor(ms / SLOT_MS) * SLOT_MS;

export interface RollupRun {
  /** Chunks rolled up in this run. */
  chunks: number;
  /** How far the roll-up now is; null when another process holds the lock. */
  doneUntil: Date | null;
}

/**
 * Rolls pool use up to the last slot that ended at least two minutes before `now`, a day per
 * transaction. Safe to run from several processes at once: one holds an advisory lock, the others
 * return at once.
 */
export async function rollUpPoolUsage(
  db: Kysely<Database>,
  now: Date,
  options: { maxChunks?: number; shouldStop?: () => boolean } = {},
): Promise<RollupRun> {
  const target = floorSlot(now.getTime() - LAG_MS);
  const maxChunks = options.maxChunks ?? 1000;
  let chunks = 0;
  for (;;) {
    const step = await db.transaction().execute(async (trx) => {
      if (!(await tryRollupLock(trx))) return { busy: true as const };
      const progress = await rollupProgress(trx);
      const seen = { lastLeaseId: progress.maxLeaseId, lastExhaustionId: progress.maxExhaustionId };
      const oldest = progress.oldestUnseen ? floorSlot(progress.oldestUnseen.getTime()) : undefined;
      let from = progress.state.doneUntil?.getTime() ?? Math.min(oldest ?? target, target);
      if (oldest !== undefined && oldest < from) from = oldest;
      if (from >= target || chunks >= maxChunks || options.shouldStop?.()) {
        // Nothing to roll up now: still remember a step back and the rows seen, written only if changed.
        const { state } = progress;
        const changed =
          state.doneUntil?.getTime() !== from ||
          state.lastLeaseId !== seen.lastLeaseId ||
          state.lastExhaustionId !== seen.lastExhaustionId;
        if (changed && (state.doneUntil || progress.oldestUnseen)) {
          await saveRollupState(trx, { doneUntil: new Date(from), ...seen });
        }
        return { doneUntil: new Date(from), done: 0, more: false };
      }
      const to = Math.min(from + CHUNK_MS, target);
      const boundaries: Date[] = [];
      for (let t = from; t <= to; t += SLOT_MS) boundaries.push(new Date(t));
      const rows = await poolSweep(trx, { boundaries, now });
      await replaceSlots(trx, {
        from: new Date(from),
        to: new Date(to),
        rows: rows.map(({ bucket, ...use }) => ({ ...use, slot: boundaries[bucket - 1] as Date })),
      });
      await saveRollupState(trx, { doneUntil: new Date(to), ...seen });
      return { doneUntil: new Date(to), done: 1, more: to < target };
    });
    if ('busy' in step) return { chunks, doneUntil: null };
    chunks += step.done;
    if (!step.more) return { chunks, doneUntil: step.doneUntil };
  }
}

/** Runs the roll-up in the background every `everyMs`: started when the app is ready, awaited on close. */
export function scheduleRollup(app: FastifyInstance, everyMs: number): void {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  let closing = false;
  const run = () => {
    if (running || closing) return;
    running = rollUpPoolUsage(app.db, app.clock(), { shouldStop: () => closing })
      .catch((err) => app.log.warn({ err }, 'pool usage roll-up failed'))
      .finally(() => {
        running = undefined;
      });
  };
  app.addHook('onReady', async () => {
    timer = setInterval(run, everyMs);
    timer.unref();
  });
  app.addHook('onClose', async () => {
    closing = true;
    clearInterval(timer);
    await running;
  });
}
