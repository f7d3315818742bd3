import type { CallStatus } from '../db/schema.ts';

/**
 * What a provider tells us about a call, as plain JSON: the same shape goes to the database or,
 * while the database is away, to the spool. Applying one twice changes nothing the second time.
 */
export type CallEvent =
  | {
      type: 'call.started';
      /** The Ringpool account the provider account belongs to: its calls can only be on its numbers. */
      accountId: string;
      provider: string;
      callId: string;
      /** The tracking number dialled, E.164. */
      to: string;
      from: string | null;
      forwardedTo: string | null;
      at: string;
    }
  | {
      type: 'call.status';
      accountId: string;
      provider: string;
      callId: string;
      status: CallStatus;
      durationS: number | null;
      at: string;
    }
  | {
      type: 'call.recording';
      accountId: string;
      provider: string;
      callId: string;
      url: string;
      durationS: number | null;
      at: string;
    };

export const CALL_STATUSES: readonly CallStatus[] = [
  'ringing',
  'in-progress',
  'completed',
  'busy',
  'no-answer',
  'failed',
  'canceled',
];

// A call only moves forward: ringing → in progress → one of the endings.
const RANK: Record<CallStatus, number> = {
  ringing: 0,
  'in-progress': 1,
  completed: 2,
  busy: 2,
  'no-answer': 2,
  failed: 2,
  canceled: 2,
};

/** Provider statuses (Twilio's and TeXML's names) in ours; undefined for one we do not know. */
export function callStatusOf(providerStatus: string): CallStatus | undefined {
  const status = providerStatus.trim().toLowerCase();
  if (status === 'queued' || status === 'initiated') return 'ringing';
  if (status === 'answered') return 'in-progress';
  return CALL_STATUSES.includes(status as CallStatus) ? (status as CallStatus) : undefined;
}

export interface CallProgress {
  status: CallStatus;
  answered_at: Date | null;
  ended_at: Date | null;
  duration_s: number | null;
}

/**
 * The call after a status report: a repeated or late report never moves it backwards, and a
 * duration, once known, is kept.
 */
export function advanceCall(
  current: CallProgress,
  report: { status: CallStatus; durationS: number | null; at: Date },
): CallProgress | undefined {
  if (RANK[report.status] <= RANK[current.status]) {
    // Same or earlier stage: only a duration the call lacked is worth taking.
    if (report.durationS !== null && current.duration_s === null && RANK[current.status] === 2) {
      return {
        status: current.status,
        answered_at: current.answered_at,
        ended_at: current.ended_at,
        duration_s: report.durationS,
      };
    }
    return undefined;
  }
  const ended = RANK[report.status] === 2;
  return {
    status: report.status,
    answered_at:
      current.answered_at ??
      (report.status === 'in-progress' ? report.at : null) ??
      (report.status === 'completed' && report.durationS !== null
        ? new Date(report.at.getTime() - report.durationS * 1000)
        : null),
    ended_at: ended ? report.at : null,
    duration_s: report.durationS ?? current.duration_s,
  };
}

/** Qualified: a completed call that lasted at least the site's threshold. */
export function isQualified(status: CallStatus, durationS: number | null, thresholdS: number): boolean {
  return status === 'completed' && durationS !== null && durationS >= thresholdS;
}
