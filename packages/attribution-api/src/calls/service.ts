import { type Kysely, sql, type Transaction } from 'kysely';
import type { Database } from '../db/schema.ts';
import { toE164 } from '../sites/phone.ts';
import { endsCall, enqueueCallEvents } from '../webhooks/outbox.ts';
import { attributeCall, type LeaseCandidate } from './attribution.ts';
import { advanceCall, type CallEvent, isQualified } from './events.ts';
import {
  findNumberForCall,
  firstCallOf,
  getCallByProviderId,
  insertCall,
  insertOrphanEvent,
  type LeaseCandidateRow,
  leaseCandidates,
  lockCallByProviderId,
  takeOrphanEvents,
  updateCall,
} from './repository.ts';

export type ApplyOutcome = 'recorded' | 'duplicate' | 'updated' | 'unchanged' | 'waiting_for_call' | 'unknown_number';

/** The caller in E.164 when it is a real number; withheld or malformed callers are kept as unknown. */
export function normalizeCaller(from: string | null, country: string): string | null {
  if (!from) return null;
  try {
    return toE164(from, country);
  } catch {
    return null;
  }
}

function toCandidate(row: LeaseCandidateRow): LeaseCandidate {
  return {
    leaseId: String(row.lease_id),
    sessionId: row.session_id,
    startedAt: row.started_at,
    lastSeenAt: row.last_seen_at,
    expiresAt: row.expires_at,
    cooldownS: row.cooldown_s,
    endedAt: row.ended_at,
    releasedAt: row.released_at,
    endReason: row.end_reason,
    visit: { source: row.source, medium: row.medium, campaign: row.utm_campaign },
    intentAt: row.intent_at ? new Date(row.intent_at) : null,
  };
}

/**
 * Writes one provider event. Idempotent: a repeated event changes nothing, a late one never moves
 * a call backwards, and an update that arrives before its call waits in the database for it.
 */
export async function applyCallEvent(db: Kysely<Database>, event: CallEvent, now: Date): Promise<ApplyOutcome> {
  if (event.type === 'call.started') return recordCall(db, event, now);
  return db.transaction().execute(async (trx) => {
    await lockProviderCall(trx, event);
    return applyUpdate(trx, event, now);
  });
}

/**
 * One writer at a time per provider call: an update that finds no call parks itself for the call,
 * and the call's insert collects what is parked. Without the lock, an update could park itself
 * just after a concurrent insert had looked, and wait forever.
 */
async function lockProviderCall(trx: Transaction<Database>, event: CallEvent): Promise<void> {
  const key = `${event.accountId}|${event.provider}|${event.callId}`;
  await sql`SELECT pg_advisory_xact_lock(hashtextextended(${key}, 0))`.execute(trx);
}

async function recordCall(
  db: Kysely<Database>,
  event: Extract<CallEvent, { type: 'call.started' }>,
  now: Date,
): Promise<ApplyOutcome> {
  // A repeat (a provider retry, or a spooled copy of a write that landed late) costs one index lookup.
  if (await getCallByProviderId(db, event.accountId, event.provider, event.callId)) return 'duplicate';
  const number = await findNumberForCall(db, event.to);
  if (!number || number.account_id !== event.accountId) return 'unknown_number';
  const at = new Date(event.at);
  const caller = normalizeCaller(event.from, number.default_country);
  const rows = number.pool_id ? await leaseCandidates(db, number.id, number.e164, at) : [];
  const attribution = attributeCall({
    call: { at },
    number: number.source
      ? { kind: 'source', source: number.source, label: number.source_label, display: number.e164 }
      : { kind: 'pool', display: number.e164 },
    candidates: rows.map(toCandidate),
  });
  const visit = rows.find((row) => row.session_id === attribution.sessionId);
  const firstCall = caller ? await firstCallOf(db, number.site_id, caller, at) : undefined;

  return db.transaction().execute(async (trx) => {
    await lockProviderCall(trx, event);
    const id = await insertCall(trx, {
      account_id: number.account_id,
      site_id: number.site_id,
      tracking_number_id: number.id,
      tracking_number: number.e164,
      provider: event.provider,
      provider_call_id: event.callId,
      caller,
      forwarded_to: event.forwardedTo,
      started_at: at,
      status: 'ringing',
      session_id: attribution.sessionId,
      confidence: attribution.confidence,
      reason: attribution.reason,
      candidates: attribution.candidates.map((c) => ({
        session_id: c.sessionId,
        lease_id: c.leaseId,
        phase: c.phase,
        confidence: c.confidence,
        tapped: c.tapped,
        reason: c.reason,
      })),
      source: visit?.source ?? number.source,
      medium: visit?.medium ?? null,
      campaign: visit?.utm_campaign ?? null,
      term: visit?.utm_term ?? null,
      content: visit?.utm_content ?? null,
      source_label: number.source ? number.source_label : null,
      // Bounded for the reports' covering index; the visit keeps the whole address.
      landing_url: visit?.landing_url.slice(0, 500) ?? null,
      device_type: visit?.device_type ?? null,
      is_first_call: !firstCall,
      first_call_id: firstCall?.id ?? null,
    });
    if (!id) return 'duplicate';
    await enqueueCallEvents(trx, number.account_id, id, ['call.started', 'call.attributed'], now);
    for (const waiting of await takeOrphanEvents(trx, event.accountId, event.provider, event.callId)) {
      await applyUpdate(trx, waiting as CallEvent, now);
    }
    return 'recorded';
  });
}

async function applyUpdate(trx: Transaction<Database>, event: CallEvent, now: Date): Promise<ApplyOutcome> {
  if (event.type === 'call.started') throw new Error('a call start is not an update');
  const call = await lockCallByProviderId(trx, event.accountId, event.provider, event.callId);
  if (!call) {
    await insertOrphanEvent(trx, event.accountId, event.provider, event.callId, event);
    return 'waiting_for_call';
  }
  if (event.type === 'call.recording') {
    if (call.recording_url === event.url) return 'unchanged';
    await updateCall(trx, call.id, { recording_url: event.url, recording_duration_s: event.durationS }, now);
    return 'updated';
  }
  const next = advanceCall(call, { status: event.status, durationS: event.durationS, at: new Date(event.at) });
  if (!next) return 'unchanged';
  // A duration reported by the carrier can reach back past the moment we saw the call start.
  if (next.answered_at && next.answered_at < call.started_at) next.answered_at = call.started_at;
  if (next.ended_at && next.ended_at < call.started_at) next.ended_at = call.started_at;
  await updateCall(
    trx,
    call.id,
    { ...next, qualified: isQualified(next.status, next.duration_s, call.qualified_call_s) },
    now,
  );
  if (endsCall(call.status, next.status)) {
    await enqueueCallEvents(trx, event.accountId, call.id, ['call.completed'], now);
  }
  return 'updated';
}
