import type { Kysely, Transaction } from 'kysely';
import type { Call, CallStatus, Confidence, Database } from '../db/schema.ts';

type Db = Kysely<Database> | Transaction<Database>;

/** A tracking number as a call needs it: where it forwards and whose it is. */
export async function findNumberForCall(db: Db, e164: string) {
  return db
    .selectFrom('tracking_numbers')
    .innerJoin('sites', 'sites.id', 'tracking_numbers.site_id')
    .select([
      'tracking_numbers.id',
      'tracking_numbers.account_id',
      'tracking_numbers.site_id',
      'tracking_numbers.pool_id',
      'tracking_numbers.e164',
      'tracking_numbers.forward_to',
      'tracking_numbers.source',
      'tracking_numbers.source_label',
      'sites.default_country',
      'sites.qualified_call_s',
    ])
    .where('tracking_numbers.e164', '=', e164)
    .executeTakeFirst();
}

/**
 * The few leases of a number that started at or before the call, newest first, with their visit
 * and the visit's last tap on this number before the call. Index scans only (leases_number_time,
 * call_intents_session): the cost does not grow with history.
 */
export async function leaseCandidates(db: Db, trackingNumberId: string, e164: string, at: Date, limit = 3) {
  return db
    .selectFrom('leases')
    .innerJoin('sessions', 'sessions.id', 'leases.session_id')
    .select((eb) => [
      'leases.id as lease_id',
      'leases.session_id',
      'leases.started_at',
      'leases.last_seen_at',
      'leases.expires_at',
      'leases.cooldown_s',
      'leases.ended_at',
      'leases.released_at',
      'leases.end_reason',
      'sessions.source',
      'sessions.medium',
      'sessions.utm_campaign',
      'sessions.utm_term',
      'sessions.utm_content',
      'sessions.landing_url',
      'sessions.device_type',
      eb
        .selectFrom('call_intents')
        .select((ib) => ib.fn.max('call_intents.at').as('at'))
        .whereRef('call_intents.session_id', '=', 'leases.session_id')
        .where('call_intents.tracking_number', '=', e164)
        .where('call_intents.at', '<=', at)
        .as('intent_at'),
    ])
    .where('leases.tracking_number_id', '=', trackingNumberId)
    .where('leases.started_at', '<=', at)
    .orderBy('leases.started_at', 'desc')
    .limit(limit)
    .execute();
}

export type LeaseCandidateRow = Awaited<ReturnType<typeof leaseCandidates>>[number];

/** The caller's first call to this site before `at`, if any: a repeat call links to it. */
export async function firstCallOf(db: Db, siteId: string, caller: string, at: Date) {
  return db
    .selectFrom('calls')
    .select('id')
    .where('site_id', '=', siteId)
    .where('caller', '=', caller)
    .where('started_at', '<', at)
    .orderBy('started_at')
    .limit(1)
    .executeTakeFirst();
}

export interface NewCall {
  account_id: string;
  site_id: string;
  tracking_number_id: string;
  tracking_number: string;
  provider: string;
  provider_call_id: string;
  caller: string | null;
  forwarded_to: string | null;
  started_at: Date;
  status: CallStatus;
  session_id: string | null;
  confidence: Confidence;
  reason: string;
  candidates: unknown[];
  source: string | null;
  medium: string | null;
  campaign: string | null;
  term: string | null;
  content: string | null;
  source_label: string | null;
  landing_url: string | null;
  device_type: string | null;
  is_first_call: boolean;
  first_call_id: string | null;
}

/** Inserts the call unless the provider already told us of it; returns the id only when inserted. */
export async function insertCall(db: Db, call: NewCall): Promise<string | undefined> {
  const row = await db
    .insertInto('calls')
    .values({ ...call, candidates: JSON.stringify(call.candidates) })
    .onConflict((oc) => oc.columns(['account_id', 'provider', 'provider_call_id']).doNothing())
    .returning('id')
    .executeTakeFirst();
  return row?.id;
}

/** The call, locked for an update, with its site's qualified-call threshold. */
export async function lockCallByProviderId(
  db: Transaction<Database>,
  accountId: string,
  provider: string,
  callId: string,
) {
  return db
    .selectFrom('calls')
    .innerJoin('sites', 'sites.id', 'calls.site_id')
    .select([
      'calls.id',
      'calls.status',
      'calls.started_at',
      'calls.answered_at',
      'calls.ended_at',
      'calls.duration_s',
      'calls.recording_url',
      'sites.qualified_call_s',
    ])
    .where('calls.account_id', '=', accountId)
    .where('calls.provider', '=', provider)
    .where('calls.provider_call_id', '=', callId)
    .forUpdate('calls')
    .executeTakeFirst();
}

export async function updateCall(
  db: Db,
  id: string,
  patch: Partial<
    Pick<
      Call,
      'status' | 'answered_at' | 'ended_at' | 'duration_s' | 'qualified' | 'recording_url' | 'recording_duration_s'
    >
  >,
  now: Date,
) {
  await db
    .updateTable('calls')
    .set({ ...patch, updated_at: now })
    .where('id', '=', id)
    .execute();
}

export async function insertOrphanEvent(db: Db, accountId: string, provider: string, callId: string, event: unknown) {
  await db
    .insertInto('call_orphan_events')
    .values({ account_id: accountId, provider, provider_call_id: callId, event: JSON.stringify(event) })
    .execute();
}

/** Takes the events that arrived before their call, in arrival order. */
export async function takeOrphanEvents(db: Transaction<Database>, accountId: string, provider: string, callId: string) {
  const rows = await db
    .deleteFrom('call_orphan_events')
    .where('account_id', '=', accountId)
    .where('provider', '=', provider)
    .where('provider_call_id', '=', callId)
    .returning(['id', 'event'])
    .execute();
  return rows.sort((a, b) => Number(a.id) - Number(b.id)).map((row) => row.event);
}

export interface CallFilter {
  siteId?: string | undefined;
  from?: Date | undefined;
  to?: Date | undefined;
  source?: string | undefined;
  medium?: string | undefined;
  campaign?: string | undefined;
  firstTime?: boolean | undefined;
  qualified?: boolean | undefined;
  status?: CallStatus | undefined;
  confidence?: Confidence | undefined;
  limit: number;
  after?: { started_at: Date; id: string } | undefined;
}

const CALL_COLUMNS = [
  'id',
  'site_id',
  'tracking_number',
  'provider',
  'provider_call_id',
  'caller',
  'forwarded_to',
  'started_at',
  'answered_at',
  'ended_at',
  'status',
  'duration_s',
  'qualified',
  'recording_url',
  'recording_duration_s',
  'session_id',
  'confidence',
  'reason',
  'source',
  'medium',
  'campaign',
  'term',
  'content',
  'source_label',
  'landing_url',
  'device_type',
  'is_first_call',
  'first_call_id',
] as const;

/** Newest first, keyset-paginated on (started_at, id): the account's or site's index serves it. */
export async function listCalls(db: Db, accountId: string, filter: CallFilter) {
  let query = db.selectFrom('calls').select(CALL_COLUMNS).where('account_id', '=', accountId);
  if (filter.siteId) query = query.where('site_id', '=', filter.siteId);
  if (filter.from) query = query.where('started_at', '>=', filter.from);
  if (filter.to) query = query.where('started_at', '<', filter.to);
  if (filter.source) query = query.where('source', '=', filter.source);
  if (filter.medium) query = query.where('medium', '=', filter.medium);
  if (filter.campaign) query = query.where('campaign', '=', filter.campaign);
  if (filter.firstTime !== undefined) query = query.where('is_first_call', '=', filter.firstTime);
  if (filter.qualified !== undefined) query = query.where('qualified', '=', filter.qualified);
  if (filter.status) query = query.where('status', '=', filter.status);
  if (filter.confidence) query = query.where('confidence', '=', filter.confidence);
  if (filter.after) {
    const { started_at, id } = filter.after;
    query = query.where((eb) =>
      eb.or([eb('started_at', '<', started_at), eb.and([eb('started_at', '=', started_at), eb('id', '<', id)])]),
    );
  }
  return query.orderBy('started_at', 'desc').orderBy('id', 'desc').limit(filter.limit).execute();
}

export async function getCall(db: Db, accountId: string, id: string) {
  return db
    .selectFrom('calls')
    .select([...CALL_COLUMNS, 'candidates'])
    .where('account_id', '=', accountId)
    .where('id', '=', id)
    .executeTakeFirst();
}

export async function getCallByProviderId(db: Db, accountId: string, provider: string, callId: string) {
  return db
    .selectFrom('calls')
    .select('id')
    .where('account_id', '=', accountId)
    .where('provider', '=', provider)
    .where('provider_call_id', '=', callId)
    .executeTakeFirst();
}

/** The visit behind a call, as the calls API shows it. */
export async function callVisit(db: Db, sessionId: string) {
  return db
    .selectFrom('sessions')
    .select([
      'id',
      'visitor_id',
      'created_at',
      'last_seen_at',
      'landing_url',
      'referrer',
      'source',
      'medium',
      'utm_source',
      'utm_medium',
      'utm_campaign',
      'utm_term',
      'utm_content',
      'gclid',
      'gbraid',
      'wbraid',
      'fbclid',
      'msclkid',
      'ttclid',
      'pages',
      'page_views',
      'device_type',
      'browser',
      'os',
    ])
    .where('id', '=', sessionId)
    .executeTakeFirst();
}

export async function listTelephonyAccounts(db: Db, accountId: string) {
  return db
    .selectFrom('telephony_accounts')
    .select(['id', 'provider', 'provider_account', 'unknown_forward_to', 'created_at'])
    .where('account_id', '=', accountId)
    .orderBy('created_at')
    .execute();
}

export async function insertTelephonyAccount(
  db: Db,
  account: {
    account_id: string;
    provider: 'twilio' | 'telnyx';
    provider_account: string;
    secret: string;
    unknown_forward_to: string | null;
  },
) {
  return db
    .insertInto('telephony_accounts')
    .values(account)
    .onConflict((oc) => oc.columns(['provider', 'provider_account']).doNothing())
    .returning(['id', 'provider', 'provider_account', 'unknown_forward_to', 'created_at'])
    .executeTakeFirst();
}

export async function deleteTelephonyAccount(db: Db, accountId: string, id: string) {
  const result = await db
    .deleteFrom('telephony_accounts')
    .where('account_id', '=', accountId)
    .where('id', '=', id)
    .executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}
