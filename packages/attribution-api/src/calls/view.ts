import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../db/schema.ts';
import { callVisit, getCall } from './repository.ts';

type CallRow = NonNullable<Awaited<ReturnType<typeof getCall>>>;

/** A call as the API shows it: the recording as one object. */
export function toCall<T extends Omit<CallRow, 'candidates'>>(row: T) {
  const { recording_url, recording_duration_s, ...rest } = row;
  return { ...rest, recording: recording_url ? { url: recording_url, duration_s: recording_duration_s } : null };
}

/** A call with its candidates and its visit, as GET /v1/calls/:id and the webhooks show it. */
export async function callDetail(db: Kysely<Database> | Transaction<Database>, accountId: string, callId: string) {
  const row = await getCall(db, accountId, callId);
  if (!row) return undefined;
  const { candidates, ...call } = row;
  const visit = call.session_id ? ((await callVisit(db, call.session_id)) ?? null) : null;
  return { ...toCall(call), candidates, visit };
}
