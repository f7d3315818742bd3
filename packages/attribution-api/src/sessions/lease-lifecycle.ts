/** Where a lease stands at a moment. The database applies the same rules when it hands numbers out. */
export type LeaseState = 'active' | 'cooldown' | 'released';

export interface LeaseTimes {
  started_at: Date;
  expires_at: Date;
  cooldown_s: number;
  ended_at: Date | null;
  released_at: Date | null;
}

/** Signs of life closer together than this are not written again. */
export const TOUCH_INTERVAL_MS = 30_000;

/** When the session stopped holding the number actively (idle timeout, or cut short by a recycle). */
export function activeUntil(lease: LeaseTimes): Date {
  return lease.ended_at ?? lease.expires_at;
}

/** When the number stops being reserved for this session. */
export function heldUntil(lease: LeaseTimes): Date {
  if (lease.ended_at) return lease.ended_at;
  const coolEnd = new Date(lease.expires_at.getTime() + lease.cooldown_s * 1000);
  return lease.released_at && lease.released_at < coolEnd ? lease.released_at : coolEnd;
}

export function leaseState(lease: LeaseTimes, now: Date): LeaseState {
  if (now < activeUntil(lease)) return 'active';
  if (now < heldUntil(lease)) return 'cooldown';
  return 'released';
}
