import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import { DEFAULT_RETRY, nextAttemptAfterFailure, type RetryPolicy } from './backoff.ts';
import { type ClaimedDelivery, claimDeliveries, purgeEvents, recordAttempt, releaseClaim } from './repository.ts';
import { SendAborted, type SendRequest, type SendResult, sendWebhook } from './sender.ts';
import {
  DELIVERY_ID_HEADER,
  EVENT_ID_HEADER,
  EVENT_TYPE_HEADER,
  SIGNATURE_HEADER,
  signatureHeader,
} from './signature.ts';

export interface WorkerOptions {
  /** How often (real time) a worker looks for due deliveries when the last look found none. */
  pollMs: number;
  /** Deliveries claimed and sent at once by one worker. */
  batchSize: number;
  /** How long a claim holds; past it, another worker takes the delivery (its worker is presumed dead). */
  claimMs: number;
  /** An answer must come within this; it must stay well below claimMs. */
  timeoutMs: number;
  /** On stop, how long deliveries in flight may finish before they are cut and their claims released. */
  stopGraceMs: number;
  retry: RetryPolicy;
  /** Events whose deliveries are all finished are deleted this long after they were made. */
  keepEventsMs: number;
  /** How often (real time) the old events are purged. */
  purgeEveryMs: number;
  clock: () => Date;
  random: () => number;
  send: (request: SendRequest) => Promise<SendResult>;
  log?:
    | {
        warn(obj: object, msg: string): void;
        info(obj: object, msg: string): void;
      }
    | undefined;
}

export const DEFAULT_WORKER_OPTIONS: WorkerOptions = {
  pollMs: 500,
  batchSize: 10,
  claimMs: 30_000,
  timeoutMs: 10_000,
  stopGraceMs: 2_000,
  retry: DEFAULT_RETRY,
  keepEventsMs: 30 * 24 * 60 * 60_000,
  purgeEveryMs: 60 * 60_000,
  clock: () => new Date(),
  random: Math.random,
  send: sendWebhook,
};

/**
 * Sends due deliveries: claim (one statement, SKIP LOCKED), POST outside any transaction, record the
 * attempt. Safe with any number of workers in any number of processes on one PostgreSQL.
 */
export class WebhookWorker {
  private readonly options: WorkerOptions;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;
  private abort = new AbortController();
  private lastPurge = 0;

  constructor(
    private readonly db: Kysely<Database>,
    options: Partial<WorkerOptions> = {},
  ) {
    this.options = { ...DEFAULT_WORKER_OPTIONS, ...options };
    if (this.options.timeoutMs >= this.options.claimMs) throw new Error('timeoutMs must be below claimMs');
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.abort = new AbortController();
    this.schedule(0);
  }

  /** Stops polling; deliveries in flight get `stopGraceMs` to finish, then are cut and given back. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.running) return;
    const grace = setTimeout(() => this.abort.abort(), this.options.stopGraceMs);
    try {
      await this.running;
    } finally {
      clearTimeout(grace);
    }
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.drain()
        .catch((err) => this.options.log?.warn({ err }, 'webhook delivery round failed; retrying at the next poll'))
        .finally(() => {
          this.running = undefined;
          this.schedule(this.options.pollMs);
        });
    }, ms);
    this.timer.unref();
  }

  /** Sends batches until nothing is due (or the worker stops). */
  private async drain(): Promise<void> {
    await this.purge();
    while (!this.stopped && (await this.runOnce()) === this.options.batchSize) {
      // A full batch: more may be due right away.
    }
  }

  /** Claims one batch and sends it; returns how many deliveries it claimed. */
  async runOnce(): Promise<number> {
    const now = this.options.clock();
    const claimId = randomUUID();
    const claimed = await claimDeliveries(this.db, {
      claimId,
      now,
      lockedUntil: new Date(now.getTime() + this.options.claimMs),
      limit: this.options.batchSize,
    });
    // Settled, not raced: stop() must not return while a delivery is still in flight.
    const outcomes = await Promise.allSettled(claimed.map((delivery) => this.deliver(delivery, claimId)));
    const failed = outcomes.find((outcome) => outcome.status === 'rejected');
    if (failed) throw failed.reason;
    return claimed.length;
  }

  private async deliver(delivery: ClaimedDelivery, claimId: string): Promise<void> {
    const at = this.options.clock();
    const secrets = [delivery.secret];
    if (delivery.previous_secret && delivery.previous_secret_expires_at && delivery.previous_secret_expires_at > at) {
      secrets.push(delivery.previous_secret);
    }
    const timestamp = Math.floor(at.getTime() / 1000);
    let result: SendResult;
    try {
      result = await this.options.send({
        url: delivery.url,
        body: delivery.body,
        timeoutMs: this.options.timeoutMs,
        signal: this.abort.signal,
        headers: {
          [SIGNATURE_HEADER]: signatureHeader(secrets, timestamp, delivery.body),
          [EVENT_ID_HEADER]: delivery.event_id,
          [EVENT_TYPE_HEADER]: delivery.event_type,
          [DELIVERY_ID_HEADER]: delivery.id,
        },
      });
    } catch (err) {
      if (!(err instanceof SendAborted)) throw err;
      await releaseClaim(this.db, { id: delivery.id, claimId });
      return;
    }
    const failures = delivery.attempts + 1;
    const next = result.ok
      ? null
      : nextAttemptAfterFailure(
          { failures, runStartedAt: delivery.run_started_at, failedAt: at, random: this.options.random() },
          this.options.retry,
        );
    const recorded = await recordAttempt(
      this.db,
      { id: delivery.id, claimId },
      {
        at,
        succeeded: result.ok,
        statusCode: result.statusCode,
        durationMs: result.durationMs,
        error: result.error,
        state: result.ok ? 'delivered' : next ? 'pending' : 'failed',
        nextAttemptAt: next,
      },
    );
    if (!recorded) {
      this.options.log?.warn(
        { deliveryId: delivery.id, eventId: delivery.event_id },
        'webhook delivery: claim expired before the attempt was recorded; another worker owns it',
      );
    }
  }

  private async purge(): Promise<void> {
    const now = Date.now();
    if (now - this.lastPurge < this.options.purgeEveryMs) return;
    this.lastPurge = now;
    const before = new Date(this.options.clock().getTime() - this.options.keepEventsMs);
    const purged = await purgeEvents(this.db, before);
    if (purged > 0) this.options.log?.info({ purged }, 'webhook events past their keeping time deleted');
  }
}
