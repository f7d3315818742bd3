import { parsePhoneNumberWithError } from 'libphonenumber-js';
import { AFTER_RELEASE_WINDOW_MS } from '../calls/attribution.ts';

// The retention rules as plain functions: which instants separate data kept from data masked,
// dropped or purged, and what a masked caller keeps. No I/O: the repository applies them.

export const DAY_MS = 86_400_000;
export const MAX_RETENTION_DAYS = 3650;

/** The defaults a new site gets (the migration's column defaults; docs/PRIVACY.md says why). */
export const RETENTION_DEFAULTS = {
  retention_caller_days: 90,
  retention_recording_days: 30,
  retention_session_days: 180,
} as const;

/** A site's windows in days; null keeps that data until it is deleted by hand. */
export interface RetentionWindows {
  retention_caller_days: number | null;
  retention_recording_days: number | null;
  retention_session_days: number | null;
}

/**
 * Data from strictly before each instant is masked, dropped or purged: a call exactly 90 days old is
 * kept, one a millisecond older is masked. null: nothing is.
 */
export interface RetentionCutoffs {
  /** Calls started before it have their caller masked. */
  callers: Date | null;
  /** Calls started before it lose their recording link. */
  recordings: Date | null;
  /** Visits last seen before it are purged; calls started before it lose their visit-level detail. */
  sessions: Date | null;
}

export interface RetentionCounts {
  callers_masked: number;
  recordings_dropped: number;
  sessions_purged: number;
  visitors_purged: number;
  calls_visit_cleared: number;
}

export const NO_COUNTS: RetentionCounts = {
  callers_masked: 0,
  recordings_dropped: 0,
  sessions_purged: 0,
  visitors_purged: 0,
  calls_visit_cleared: 0,
};

const before = (now: Date, days: number | null): Date | null =>
  days === null ? null : new Date(now.getTime() - days * DAY_MS);

export function retentionCutoffs(windows: RetentionWindows, now: Date): RetentionCutoffs {
  return {
    callers: before(now, windows.retention_caller_days),
    recordings: before(now, windows.retention_recording_days),
    sessions: before(now, windows.retention_session_days),
  };
}

/**
 * The shortest visit window that still lets a call be attributed: a lease's idle timeout, its
 * cooldown, then the day after release during which a call can still be matched to the visit.
 */
export function minSessionDays(idleTimeoutS: number, cooldownS: number): number {
  return Math.max(1, Math.ceil(((idleTimeoutS + cooldownS) * 1000 + AFTER_RELEASE_WINDOW_MS) / DAY_MS));
}

/** Why this visit window is too short for these lease timings, or null when it is long enough. */
export function sessionWindowProblem(sessionDays: number | null, idleTimeoutS: number, cooldownS: number) {
  if (sessionDays === null) return null;
  const min = minSessionDays(idleTimeoutS, cooldownS);
  if (sessionDays >= min) return null;
  return (
    `retention_session_days must be at least ${min}: a call can still be attributed to a visit for the ` +
    `idle timeout (${idleTimeoutS} s) and cooldown (${cooldownS} s) of its lease, and a day after that`
  );
}

/**
 * A caller's number as kept after masking: country calling code and last two digits, the rest as
 * asterisks ("+12125550123" → "+1********23"). Not a phone number any more, so it never matches a
 * new call's caller.
 */
export function maskCaller(e164: string): string {
  const digits = e164.replace(/\D/g, '');
  let cc = '';
  try {
    cc = parsePhoneNumberWithError(`+${digits}`).countryCallingCode;
  } catch {
    // Not a number libphonenumber knows: keep no country code rather than a wrong one.
  }
  const rest = digits.slice(cc.length);
  const kept = rest.length > 4 ? rest.slice(-2) : '';
  return `+${cc}${'*'.repeat(rest.length - kept.length)}${kept}`;
}

/** When a site whose pass starts now is due again. */
export function nextRunAt(now: Date, intervalMs: number): Date {
  return new Date(now.getTime() + intervalMs);
}
