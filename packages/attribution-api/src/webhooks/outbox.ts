import { randomUUID } from 'node:crypto';
import type { Transaction } from 'kysely';
import { callDetail } from '../calls/view.ts';
import type { CallStatus, Database } from '../db/schema.ts';
import { enabledEndpoints, insertDeliveries, insertEvents } from './repository.ts';
import type { WebhookEventType } from './tables.ts';

const ENDINGS: ReadonlySet<CallStatus> = new Set(['completed', 'busy', 'no-answer', 'failed', 'canceled']);

/** The status change that sends `call.completed`: into any ending, once. */
export function endsCall(before: CallStatus, after: CallStatus): boolean {
  return !ENDINGS.has(before) && ENDINGS.has(after);
}

/**
 * The transactional outbox: in the transaction that writes the call, one event per type some enabled
 * endpoint of the account subscribes to, and one delivery per such endpoint. Rolled back with the
 * call, committed with it: no event without its call, no call change without its events.
 */
export async function enqueueCallEvents(
  trx: Transaction<Database>,
  accountId: string,
  callId: string,
  types: readonly WebhookEventType[],
  now: Date,
): Promise<void> {
  const endpoints = await enabledEndpoints(trx, accountId);
  const wanted = types.filter((type) => endpoints.some((endpoint) => endpoint.events.includes(type)));
  if (wanted.length === 0) return;
  const call = await callDetail(trx, accountId, callId);
  if (!call) return;
  const events = wanted.map((type) => {
    const id = randomUUID();
    const body = JSON.stringify({ id, type, created_at: now.toISOString(), data: { call } });
    return { id, account_id: accountId, type, call_id: callId, body, created_at: now };
  });
  await insertEvents(trx, events);
  await insertDeliveries(
    trx,
    events.flatMap((event) =>
      endpoints
        .filter((endpoint) => endpoint.events.includes(event.type))
        .map((endpoint) => ({
          account_id: accountId,
          endpoint_id: endpoint.id,
          event_id: event.id,
          event_type: event.type,
          run_started_at: now,
          next_attempt_at: now,
          created_at: now,
          updated_at: now,
        })),
    ),
  );
}
