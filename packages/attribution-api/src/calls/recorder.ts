import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import type { CallEvent } from './events.ts';
import { type ApplyOutcome, applyCallEvent } from './service.ts';

/** The durable side of the recorder: events kept on local disk until the database takes them. */
export interface EventSpool {
  readonly dir: string;
  append(event: Record<string, unknown>): void;
  replay(
    apply: (event: Record<string, unknown>) => Promise<void>,
  ): Promise<{ applied: number; pending: number; error?: unknown }>;
  pendingCount(): number;
}

export type RecordOutcome = ApplyOutcome | 'spooled' | 'lost';

export interface RecorderOptions {
  /** How long a webhook waits for the database before the event goes to the spool. */
  timeoutMs?: number;
  replayEveryMs?: number;
  clock?: () => Date;
  log?: {
    warn(obj: object, msg: string): void;
    error(obj: object, msg: string): void;
    info(obj: object, msg: string): void;
  };
}

const SLOW = Symbol('slow');

/**
 * Whether the database refused the event itself (SQLSTATE class 22, data exception, or 23, integrity
 * constraint violation), or the event broke our code: retrying it would fail the same way for ever.
 */
export function isRefusal(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code.startsWith('22') || code.startsWith('23');
  return err instanceof TypeError || err instanceof RangeError;
}

/**
 * Writes call events to the database, or — when it is down or slower than the webhook can wait —
 * to the spool, which is replayed into the database when it returns. Applying is idempotent, so an
 * event that reached both (a slow write that finished late) is recorded once.
 */
export class CallRecorder {
  private timer: NodeJS.Timeout | undefined;
  private replaying: Promise<void> | undefined;
  private readonly timeoutMs: number;
  private readonly clock: () => Date;
  private lastSpoolWarning = 0;
  private spooledSinceWarning = 0;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly spool: EventSpool,
    private readonly options: RecorderOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 1_000;
    this.clock = options.clock ?? (() => new Date());
  }

  async record(event: CallEvent): Promise<RecordOutcome> {
    let timer: NodeJS.Timeout | undefined;
    const write = applyCallEvent(this.db, event, this.clock());
    const slow = new Promise<typeof SLOW>((resolve) => {
      timer = setTimeout(() => resolve(SLOW), this.timeoutMs);
    });
    try {
      const outcome = await Promise.race([write, slow]);
      if (outcome !== SLOW) return outcome;
      write.catch(() => {});
      this.noteSpooled('database slow', undefined);
    } catch (err) {
      this.noteSpooled('database unavailable', err);
    } finally {
      clearTimeout(timer);
    }
    try {
      this.spool.append(event);
      return 'spooled';
    } catch (err) {
      this.options.log?.error(
        { err, callId: event.callId, type: event.type },
        'call event lost: neither the database nor the spool took it',
      );
      return 'lost';
    }
  }

  /** Moves spooled events into the database; stops at the first failure and tries again later. */
  replay(): Promise<void> {
    this.replaying ??= this.spool
      .replay(async (event) => {
        try {
          await applyCallEvent(this.db, event as CallEvent, this.clock());
        } catch (err) {
          // An event the database refuses as data would block every call behind it: set it aside.
          // Anything else (connection lost, timeout, deadlock, cancelled) is retried on the next pass.
          if (!isRefusal(err)) throw err;
          this.quarantine(event, err);
        }
      })
      .then(({ applied, pending, error }) => {
        if (applied > 0) this.options.log?.info({ applied, pending }, 'spooled call events written to the database');
        if (error) this.options.log?.warn({ err: error, pending }, 'spool replay stopped; retrying later');
      })
      .catch((err) => {
        this.options.log?.warn({ err }, 'spool replay failed; retrying later');
      })
      .finally(() => {
        this.replaying = undefined;
      });
    return this.replaying;
  }

  /** One warning when events start going to the spool, then a count every 10 s: no log line per call. */
  private noteSpooled(why: string, err: unknown): void {
    this.spooledSinceWarning += 1;
    const now = Date.now();
    if (now - this.lastSpoolWarning < 10_000) return;
    this.options.log?.warn(
      { err, spooled: this.spooledSinceWarning },
      `${why}: call events go to the local spool until it is back`,
    );
    this.lastSpoolWarning = now;
    this.spooledSinceWarning = 0;
  }

  /** Keeps an event the database refuses in `poison.ndjson` beside the spool, for a person to look at. */
  private quarantine(event: Record<string, unknown>, err: unknown): void {
    const fd = openSync(path.join(this.spool.dir, 'poison.ndjson'), 'a');
    try {
      writeSync(fd, `${JSON.stringify({ event, error: String(err), at: this.clock().toISOString() })}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    this.options.log?.error({ err, callId: event.callId }, 'call event refused by the database: kept in poison.ndjson');
  }

  start(): void {
    if (this.timer) return;
    void this.replay();
    this.timer = setInterval(() => void this.replay(), this.options.replayEveryMs ?? 5_000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.replaying;
  }
}
