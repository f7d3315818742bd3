import { describe, expect, it } from 'vitest';
import { activeUntil, heldUntil, leaseState } from '../../src/sessions/lease-lifecycle.ts';

const at = (minutes: number) => new Date(Date.UTC(2026, 5, 1, 12, minutes));

describe('lease lifecycle', () => {
  const lease = { started_at: at(0), expires_at: at(30), cooldown_s: 15 * 60, ended_at: null, released_at: null };

  it('is active until the idle timeout, cooling down for the cooldown, then released', () => {
    expect(leaseState(lease, at(0))).toBe('active');
    expect(leaseState(lease, new Date(at(30).getTime() - 1))).toBe('active');
    expect(leaseState(lease, at(30))).toBe('cooldown');
    expect(leaseState(lease, new Date(at(45).getTime() - 1))).toBe('cooldown');
    expect(leaseState(lease, at(45))).toBe('released');
    expect(heldUntil(lease)).toEqual(at(45));
  });

  it('ends at once when recycled, with no cooldown', () => {
    const recycled = { ...lease, ended_at: at(10), released_at: at(10) };
    expect(activeUntil(recycled)).toEqual(at(10));
    expect(heldUntil(recycled)).toEqual(at(10));
    expect(leaseState(recycled, at(9))).toBe('active');
    expect(leaseState(recycled, at(10))).toBe('released');
  });

  it('with no cooldown, frees the number the moment the lease lapses', () => {
    const noCooldown = { ...lease, cooldown_s: 0 };
    expect(leaseState(noCooldown, at(30))).toBe('released');
  });
});
