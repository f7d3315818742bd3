import type { Insertable, Kysely, Transaction, Updateable } from 'kysely';
import type { Database } from '../db/schema.ts';
import type {
  DeliveryState,
  WebhookDeliveryTable,
  WebhookEndpointTable,
  WebhookEventTable,
  WebhookEventType,
} from './tables.ts';

type Db = Kysely<Database> | Transaction<Database>;

// ---- Endpoints ----

const ENDPOINT_COLUMNS = [
  'id',
  'url',
  'description',
  'events',
  'enabled',
  'previous_secret_expires_at',
  'created_at',
  'updated_at',
] as const;

export async function countEndpoints(db: Db, accountId: string): Promise<number> {
  const row = await db
    .selectFrom('webhook_endpoints')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('account_id', '=', accountId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function insertEndpoint(db: Db, endpoint: Insertable<WebhookEndpointTable>) {
  return db.insertInto('webhook_endpoints').values(endpoint).returning(ENDPOINT_COLUMNS).executeTakeFirstOrThrow();
}

export async function listEndpoints(db: Db, accountId: string) {
  return db
    .selectFrom('webhook_endpoints')
    .select(ENDPOINT_COLUMNS)
    .where('account_id', '=', accountId)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
}

export async function getEndpoint(db: Db, accountId: string, id: string) {
  return db
    .selectFrom('webhook_endpoints')
    .select(ENDPOINT_COLUMNS)
    .where('account_id', '=', accountId)
    .where('id', '=', id)
    .executeTakeFirst();
}

export async function updateEndpoint(
  db: Db,
  accountId: string,
  id: string,
  patch: Pick<Updateable<WebhookEndpointTable>, 'url' | 'description' | 'events' | 'enabled'>,
  now: Date,
) {
  return db
    .updateTable('webhook_endpoints')
    .set({ ...patch, updated_at: now })
    .where('account_id', '=', accountId)
    .where('id', '=', id)
    .returning(ENDPOINT_COLUMNS)
    .executeTakeFirst();
}

/** A new secret; the current one keeps signing beside it until `previousExpiresAt` (null: dropped now). */
export async function rotateSecret(
  db: Db,
  accountId: string,
  id: string,
  secret: string,
  previousExpiresAt: Date | null,
  now: Date,
) {
  return db
    .updateTable('webhook_endpoints')
    .set((eb) => ({
      previous_secret: previousExpiresAt ? eb.ref('secret') : null,
      previous_secret_expires_at: previousExpiresAt,
      secret,
      updated_at: now,
    }))
    .where('account_id', '=', accountId)
    .where('id', '=', id)
    .returning(ENDPOINT_COLUMNS)
    .executeTakeFirst();
}

export async function deleteEndpoint(db: Db, accountId: string, id: string): Promise<boolean> {
  const result = await db
    .deleteFrom('webhook_endpoints')
    .where('account_id', '=', accountId)
    .where('id', '=', id)
    .executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

/** The account's enabled endpoints and what each subscribes to: a call's transaction asks this. */
export async function enabledEndpoints(db: Db, accountId: string) {
  return db
    .selectFrom('webhook_endpoints')
    .select(['id', 'events'])
    .where('account_id', '=', accountId)
    .where('enabled', '=', true)
    .execute();
}

// ---- The outbox ----

export async function insertEvents(db: Db, events: Insertable<WebhookEventTable>[]) {
  if (events.length > 0) await db.insertInto('webhook_events').values(events).execute();
}

export async function insertDeliveries(db: Db, deliveries: Insertable<WebhookDeliveryTable>[]) {
  if (deliveries.length > 0) {
    await db
      .insertInto('webhook_deliveries')
      .values(deliveries)
      .onConflict((oc) => oc.columns(['endpoint_id', 'event_id']).doNothing())
      .execute();
  }
}

// ---- The queue ----

/**
 * Takes up to `limit` due deliveries of enabled endpoints for this worker until `lockedUntil`: rows
 * another worker is taking are skipped, not waited for, and a claim whose worker died expires.
 * One statement, no transaction left open: the HTTP requests happen after it.
 */
export async function claimDeliveries(db: Db, claim: { claimId: string; now: Date; lockedUntil: Date; limit: number }) {
  return db
    .with('claimed', (qb) =>
      qb
        .updateTable('webhook_deliveries')
        .set({ locked_until: claim.lockedUntil, claim_id: claim.claimId })
        .where('id', 'in', (sub) =>
          sub
            .selectFrom('webhook_deliveries as d')
            .innerJoin('webhook_endpoints as e', 'e.id', 'd.endpoint_id')
            .select('d.id')
            .where('d.state', '=', 'pending')
            .where('d.next_attempt_at', '<=', claim.now)
            .where((eb) => eb.or([eb('d.locked_until', 'is', null), eb('d.locked_until', '<=', claim.now)]))
            .where('e.enabled', '=', true)
            .orderBy('d.next_attempt_at')
            .orderBy('d.id')
            .limit(claim.limit)
            .forUpdate('d')
            .skipLocked(),
        )
        .returning(['id', 'endpoint_id', 'event_id', 'event_type', 'attempts', 'run_started_at']),
    )
    .selectFrom('claimed')
    .innerJoin('webhook_endpoints as e', 'e.id', 'claimed.endpoint_id')
    .innerJoin('webhook_events as ev', 'ev.id', 'claimed.event_id')
    .select([
      'claimed.id',
      'claimed.endpoint_id',
      'claimed.event_id',
      'claimed.event_type',
      'claimed.attempts',
      'claimed.run_started_at',
      'e.url',
      'e.secret',
      'e.previous_secret',
      'e.previous_secret_expires_at',
      'ev.body',
    ])
    .execute();
}

export type ClaimedDelivery = Awaited<ReturnType<typeof claimDeliveries>>[number];

export interface AttemptRecord {
  at: Date;
  succeeded: boolean;
  statusCode: number | null;
  durationMs: number;
  error: string | null;
  /** What the delivery becomes: delivered, failed, or pending again at `nextAttemptAt`. */
  state: DeliveryState;
  nextAttemptAt: Date | null;
}

/**
 * Logs an attempt and moves the delivery on, only if this worker's claim still holds: a worker that
 * lost its claim (it stalled past locked_until and another took the row) records nothing.
 */
export async function recordAttempt(
  db: Kysely<Database>,
  delivery: { id: string; claimId: string },
  attempt: AttemptRecord,
): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const updated = await trx
      .updateTable('webhook_deliveries')
      .set((eb) => ({
        state: attempt.state,
        attempts: eb('attempts', '+', 1),
        ...(attempt.nextAttemptAt ? { next_attempt_at: attempt.nextAttemptAt } : {}),
        locked_until: null,
        claim_id: null,
        last_status_code: attempt.statusCode,
        last_error: attempt.error,
        delivered_at: attempt.succeeded ? attempt.at : null,
        updated_at: attempt.at,
      }))
      .where('id', '=', delivery.id)
      .where('claim_id', '=', delivery.claimId)
      .where('state', '=', 'pending')
      .returning('id')
      .executeTakeFirst();
    if (!updated) return false;
    await trx
      .insertInto('webhook_attempts')
      .values({
        delivery_id: delivery.id,
        at: attempt.at,
        succeeded: attempt.succeeded,
        status_code: attempt.statusCode,
        duration_ms: attempt.durationMs,
        error: attempt.error,
      })
      .execute();
    return true;
  });
}

/** Gives a claimed delivery back untried (the service is stopping): the next worker takes it at once. */
export async function releaseClaim(db: Db, delivery: { id: string; claimId: string }) {
  await db
    .updateTable('webhook_deliveries')
    .set({ locked_until: null, claim_id: null })
    .where('id', '=', delivery.id)
    .where('claim_id', '=', delivery.claimId)
    .execute();
}

/** Deletes events older than `before` that nothing waits to send; their deliveries and attempts go with them. */
export async function purgeEvents(db: Db, before: Date, limit = 1000): Promise<number> {
  const result = await db
    .deleteFrom('webhook_events')
    .where('id', 'in', (sub) =>
      sub
        .selectFrom('webhook_events as ev')
        .select('ev.id')
        .where('ev.created_at', '<', before)
        .where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom('webhook_deliveries as d')
                .select('d.id')
                .whereRef('d.event_id', '=', 'ev.id')
                .where('d.state', '=', 'pending'),
            ),
          ),
        )
        .limit(limit),
    )
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

// ---- The delivery log, as the API shows it ----

const DELIVERY_COLUMNS = [
  'id',
  'endpoint_id',
  'event_id',
  'event_type',
  'state',
  'attempts',
  'next_attempt_at',
  'last_status_code',
  'last_error',
  'delivered_at',
  'created_at',
  'updated_at',
] as const;

export interface DeliveryFilter {
  endpointId?: string | undefined;
  state?: DeliveryState | undefined;
  eventType?: WebhookEventType | undefined;
  eventId?: string | undefined;
  limit: number;
  after?: { created_at: Date; id: string } | undefined;
}

/** Newest first, keyset-paginated on (created_at, id). */
export async function listDeliveries(db: Db, accountId: string, filter: DeliveryFilter) {
  let query = db.selectFrom('webhook_deliveries').select(DELIVERY_COLUMNS).where('account_id', '=', accountId);
  if (filter.endpointId) query = query.where('endpoint_id', '=', filter.endpointId);
  if (filter.state) query = query.where('state', '=', filter.state);
  if (filter.eventType) query = query.where('event_type', '=', filter.eventType);
  if (filter.eventId) query = query.where('event_id', '=', filter.eventId);
  if (filter.after) {
    const { created_at, id } = filter.after;
    query = query.where((eb) =>
      eb.or([eb('created_at', '<', created_at), eb.and([eb('created_at', '=', created_at), eb('id', '<', id)])]),
    );
  }
  return query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(filter.limit).execute();
}

export async function getDelivery(db: Db, accountId: string, id: string) {
  return db
    .selectFrom('webhook_deliveries as d')
    .innerJoin('webhook_events as ev', 'ev.id', 'd.event_id')
    .select([...DELIVERY_COLUMNS.map((c) => `d.${c}` as const), 'd.locked_until', 'ev.body'])
    .where('d.account_id', '=', accountId)
    .where('d.id', '=', id)
    .executeTakeFirst();
}

export async function listAttempts(db: Db, deliveryId: string) {
  return db
    .selectFrom('webhook_attempts')
    .select(['at', 'succeeded', 'status_code', 'duration_ms', 'error'])
    .where('delivery_id', '=', deliveryId)
    .orderBy('id')
    .execute();
}

/**
 * Sends a delivery again from the start of its schedule, whatever its state, unless a worker holds it
 * right now. Returns the delivery, 'busy' while it is being attempted, or undefined when it is not the account's.
 */
export async function replayDelivery(db: Db, accountId: string, id: string, now: Date) {
  const row = await db
    .updateTable('webhook_deliveries')
    .set({
      state: 'pending',
      attempts: 0,
      run_started_at: now,
      next_attempt_at: now,
      delivered_at: null,
      locked_until: null,
      claim_id: null,
      updated_at: now,
    })
    .where('account_id', '=', accountId)
    .where('id', '=', id)
    .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<=', now)]))
    .returning(DELIVERY_COLUMNS)
    .executeTakeFirst();
  if (row) return row;
  const exists = await db
    .selectFrom('webhook_deliveries')
    .select('id')
    .where('account_id', '=', accountId)
    .where('id', '=', id)
    .executeTakeFirst();
  return exists ? ('busy' as const) : undefined;
}
