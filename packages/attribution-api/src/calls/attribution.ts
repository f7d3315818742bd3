import { activeUntil, heldUntil, type LeaseState, type LeaseTimes, leaseState } from '../sessions/lease-lifecycle.ts';

/** How sure the attribution is: the lease's phase at the call, raised one level by a tap on the number. */
export type Confidence = 'high' | 'medium' | 'low' | 'none';

// A tap on a tel: link is followed by the call within seconds; 10 min leaves room for a busy line and a retry.
export const INTENT_WINDOW_MS = 10 * 60_000;

// People who note a number down mostly call the same day; past a day one visit is too weak a link to report.
export const AFTER_RELEASE_WINDOW_MS = 24 * 60 * 60_000;

export type CalledNumber =
  | { kind: 'pool'; display: string }
  | { kind: 'source'; source: string; label: string | null; display: string };

export interface VisitSummary {
  source: string;
  medium: string;
  campaign: string | null;
}

/**
 * A lease of the called number. The caller passes the newest leases of the number that started at
 * or before the call (any it leaves out must be older than all it passes), each with its visit and
 * the latest call intent (tel: tap) of its session on this number at or before the call.
 */
export interface LeaseCandidate {
  leaseId: string;
  sessionId: string;
  startedAt: Date;
  lastSeenAt: Date;
  expiresAt: Date;
  cooldownS: number;
  endedAt: Date | null;
  releasedAt: Date | null;
  endReason: 'recycled' | null;
  visit: VisitSummary;
  intentAt: Date | null;
}

export interface AttributionInput {
  call: { at: Date };
  number: CalledNumber;
  /** Ignored for source-level numbers, which are never leased. */
  candidates: readonly LeaseCandidate[];
}

/** One lease weighed for the call: plain data, stored with the call as it is. */
export interface ScoredCandidate {
  sessionId: string;
  leaseId: string;
  /** The lease's phase at the moment of the call. */
  phase: LeaseState;
  confidence: Confidence;
  /** The visit tapped the number within INTENT_WINDOW_MS before the call. */
  tapped: boolean;
  reason: string;
}

export interface CallAttribution {
  sessionId: string | null;
  leaseId: string | null;
  confidence: Confidence;
  /** One line a marketer can read, in relative times only. */
  reason: string;
  /** Every lease weighed, best first: the winner, when there is one, is the first. */
  candidates: ScoredCandidate[];
  /** Set for source-level numbers only. */
  source?: { source: string; label: string | null };
}

const LEVELS: readonly Confidence[] = ['none', 'low', 'medium', 'high'];

/** Names the visit (or the fixed source) behind a call to a tracking number, how sure that is, and why. */
export function attributeCall(input: AttributionInput): CallAttribution {
  const { call, number } = input;
  if (number.kind === 'source') {
    const named = number.label ? `"${number.source}" (${number.label})` : `"${number.source}"`;
    return {
      sessionId: null,
      leaseId: null,
      confidence: 'high',
      reason: `Source-level number of ${named}: the number itself identifies the source, no visit involved`,
      candidates: [],
      source: { source: number.source, label: number.label },
    };
  }

  // A lease that started after the call cannot have been on the caller's screen.
  const leases = input.candidates.filter((lease) => lease.startedAt.getTime() <= call.at.getTime());
  const ranked = leases
    .map((lease) => ({ lease, ...weigh(lease, leases, call.at) }))
    .sort(
      (a, b) =>
        level(b.scored.confidence) - level(a.scored.confidence) ||
        b.lease.startedAt.getTime() - a.lease.startedAt.getTime(),
    );
  const candidates = ranked.map((r) => r.scored);
  const best = ranked[0];

  if (!best) {
    return unattributed(`Unattributed: no visit had held ${number.display} before the call`, candidates);
  }
  if (best.scored.confidence === 'none') {
    const holder = `${number.display} was last held by a visit from ${visitLabel(best.lease.visit)}`;
    return unattributed(`Unattributed: ${holder}; ${best.why}`, candidates);
  }
  const { sessionId, leaseId, confidence, reason } = best.scored;
  return { sessionId, leaseId, confidence, reason, candidates };
}

function unattributed(reason: string, candidates: ScoredCandidate[]): CallAttribution {
  return { sessionId: null, leaseId: null, confidence: 'none', reason, candidates };
}

/** The candidate's confidence and reason; `why` is the reason without the visit's name. */
function weigh(lease: LeaseCandidate, leases: readonly LeaseCandidate[], at: Date) {
  const times = leaseTimes(lease);
  const lastSeen = `last seen ${relative(lease.lastSeenAt, at)}`;
  // The next lease of the number (all started by the call): from its start, this one no longer held it.
  const next = leases
    .filter((other) => other.startedAt.getTime() > lease.startedAt.getTime())
    .sort((a, b) => a.startedAt.getTime() - b.startedAt.getTime())[0];
  const recycledAt =
    lease.endReason === 'recycled' && heldUntil(times).getTime() <= at.getTime() ? heldUntil(times) : null;
  const handedOverAt = next?.startedAt ?? recycledAt;

  let phase: LeaseState;
  let base: Confidence;
  let why: string;
  if (handedOverAt) {
    phase = 'released';
    base = 'none';
    const how = lease.endReason === 'recycled' ? 'recycled' : 'leased';
    const to = next?.sessionId === lease.sessionId ? 'this visit again' : 'another visit';
    why = `number ${how} to ${to} ${relative(handedOverAt, at)}`;
  } else {
    phase = leaseState(times, at);
    if (phase === 'active') {
      base = 'high';
      why = `lease active, ${lastSeen}`;
    } else if (phase === 'cooldown') {
      base = 'medium';
      why = `lease ended ${relative(activeUntil(times), at)}, number still reserved for this visit (cooldown), ${lastSeen}`;
    } else {
      const released = `lease released ${relative(heldUntil(times), at)}`;
      const within = at.getTime() - heldUntil(times).getTime() < AFTER_RELEASE_WINDOW_MS;
      base = within ? 'low' : 'none';
      why = within
        ? `${released}, no other visit has held the number since, ${lastSeen}`
        : `${released}, beyond the ${span(AFTER_RELEASE_WINDOW_MS)} window`;
    }
  }

  const { intentAt } = lease;
  const tapped =
    intentAt !== null && intentAt.getTime() <= at.getTime() && at.getTime() - intentAt.getTime() <= INTENT_WINDOW_MS;
  const confidence = tapped ? (LEVELS[Math.min(level(base) + 1, LEVELS.length - 1)] ?? base) : base;
  if (tapped) {
    why += `; tapped the number ${relative(intentAt, at)}`;
    if (confidence !== base) why += `, raising confidence from ${base} to ${confidence}`;
  }
  const reason = `Visit from ${visitLabel(lease.visit)}: ${why}`;
  const scored: ScoredCandidate = {
    sessionId: lease.sessionId,
    leaseId: lease.leaseId,
    phase,
    confidence,
    tapped,
    reason,
  };
  return { scored, why };
}

function level(confidence: Confidence): number {
  return LEVELS.indexOf(confidence);
}

function leaseTimes(lease: LeaseCandidate): LeaseTimes {
  return {
    started_at: lease.startedAt,
    expires_at: lease.expiresAt,
    cooldown_s: lease.cooldownS,
    ended_at: lease.endedAt,
    released_at: lease.releasedAt,
  };
}

function visitLabel(visit: VisitSummary): string {
  const channel = `${visit.source} / ${visit.medium}`;
  return visit.campaign ? `${channel}, campaign "${visit.campaign}"` : channel;
}

/** When something happened, relative to the call: no clock times, so no time zones. */
function relative(moment: Date, call: Date): string {
  const ms = call.getTime() - moment.getTime();
  if (Math.abs(ms) < 1000) return 'as the call came in';
  return ms > 0 ? `${span(ms)} before the call` : `${span(-ms)} after the call`;
}

function span(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours >= 48) return `${Math.floor(hours / 24)} days`;
  return minutes % 60 ? `${hours} h ${minutes % 60} min` : `${hours} h`;
}
