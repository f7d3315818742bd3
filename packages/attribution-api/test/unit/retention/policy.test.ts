import { describe, expect, it } from 'vitest';
import {
  DAY_MS,
  maskCaller,
  minSessionDays,
  RETENTION_DEFAULTS,
  retentionCutoffs,
  sessionWindowProblem,
} from '../../../src/retention/policy.ts';

const NOW = new Date('2026-06-01T12:00:00Z');
const daysBefore = (days: number) => new Date(NOW.getTime() - days * DAY_MS);

describe('retention cut-offs', () => {
  it('lies each window before now, to the millisecond, whatever the time zone or daylight saving', () => {
    expect(retentionCutoffs(RETENTION_DEFAULTS, NOW)).toEqual({
      callers: new Date('2026-03-03T12:00:00Z'),
      recordings: new Date('2026-05-02T12:00:00Z'),
      sessions: new Date('2025-12-03T12:00:00Z'),
    });
    // 90 days across the March daylight-saving change is still 90 × 24 h.
    expect(retentionCutoffs(RETENTION_DEFAULTS, NOW).callers).toEqual(daysBefore(90));
  });

  it('cuts nothing off for a window that is null (kept until deleted by hand)', () => {
    const windows = { retention_caller_days: null, retention_recording_days: 7, retention_session_days: null };
    expect(retentionCutoffs(windows, NOW)).toEqual({ callers: null, recordings: daysBefore(7), sessions: null });
  });

  it('moves with now', () => {
    const later = new Date(NOW.getTime() + 1);
    expect(retentionCutoffs(RETENTION_DEFAULTS, later).callers?.getTime()).toBe(daysBefore(90).getTime() + 1);
  });
});

describe('the shortest visit window', () => {
  it('covers the idle timeout, the cooldown and the day after release in which a call is still attributed', () => {
    // 30 min + 15 min + 24 h: just over a day, so two.
    expect(minSessionDays(1800, 900)).toBe(2);
    expect(minSessionDays(0, 0)).toBe(1);
    // 1 day + 1 day + 1 day exactly.
    expect(minSessionDays(86_400, 86_400)).toBe(3);
    expect(minSessionDays(86_400, 86_401)).toBe(4);
  });

  it('explains a window that is too short, and accepts one long enough or none', () => {
    expect(sessionWindowProblem(1, 1800, 900)).toMatch(/retention_session_days must be at least 2/);
    expect(sessionWindowProblem(2, 1800, 900)).toBeNull();
    expect(sessionWindowProblem(null, 86_400, 86_400)).toBeNull();
    expect(sessionWindowProblem(180, 86_400, 86_400)).toBeNull();
  });
});

describe('masking a caller', () => {
  it.each([
    ['+12125550123', '+1********23'],
    ['+442079460958', '+44********58'],
    ['+33612345678', '+33*******78'],
    // Three-digit country code.
    ['+353861234567', '+353*******67'],
  ])('keeps only the country code and the last two digits of %s', (caller, masked) => {
    expect(maskCaller(caller)).toBe(masked);
    expect(masked).not.toMatch(/^\+\d+$/);
  });

  it('keeps no country code it cannot be sure of, and no digits of a very short number', () => {
    expect(maskCaller('+999123456')).toBe('+*******56');
    expect(maskCaller('+1234')).toBe('+1***');
  });

  it('leaves no run of the original digits beyond the kept ones', () => {
    const caller = '+12125550123';
    const masked = maskCaller(caller);
    expect(masked.replace(/\D/g, '')).toBe('123');
    expect(masked).toHaveLength(caller.length);
  });
});
