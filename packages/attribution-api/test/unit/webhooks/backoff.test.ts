import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRY, nextAttemptAfterFailure, retryDelayMs } from '../../../src/webhooks/backoff.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;

/** Every attempt of a delivery whose endpoint never answers, from its first attempt at 0 until it is given up. */
function run(random: () => number): number[] {
  const start = new Date('2026-06-01T00:00:00Z');
  const attempts = [0];
  for (let failures = 1; ; failures++) {
    const failedAt = new Date(start.getTime() + (attempts.at(-1) ?? 0));
    const next = nextAttemptAfterFailure({ failures, runStartedAt: start, failedAt, random: random() });
    if (!next) return attempts;
    attempts.push(next.getTime() - start.getTime());
    if (failures > 1000) throw new Error('never gives up');
  }
}

describe('the retry schedule', () => {
  it('doubles from 30 s up to 2 h', () => {
    const nominal = Array.from({ length: 11 }, (_, i) => retryDelayMs(i + 1, 0.5));
    expect(nominal).toEqual([
      30_000,
      MIN,
      2 * MIN,
      4 * MIN,
      8 * MIN,
      16 * MIN,
      32 * MIN,
      64 * MIN,
      2 * HOUR,
      2 * HOUR,
      2 * HOUR,
    ]);
    expect(retryDelayMs(10_000, 0.5)).toBe(2 * HOUR);
  });

  it('spreads each wait by ±20 %', () => {
    expect(retryDelayMs(1, 0)).toBe(24_000);
    expect(retryDelayMs(1, 0.999_999)).toBe(36_000);
    expect(retryDelayMs(9, 0)).toBe(0.8 * 2 * HOUR);
    for (let i = 0; i < 200; i++) {
      const delay = retryDelayMs(3, Math.random());
      expect(delay).toBeGreaterThanOrEqual(0.8 * 2 * MIN);
      expect(delay).toBeLessThanOrEqual(1.2 * 2 * MIN);
    }
  });

  it('keeps retrying for at least 24 hours, then gives up, at any jitter', () => {
    for (const random of [() => 0, () => 0.5, () => 0.999_999, Math.random]) {
      const attempts = run(random);
      const last = attempts.at(-1) ?? 0;
      expect(last).toBeGreaterThanOrEqual(24 * HOUR);
      // The last attempt is the first one made after the 24 h mark.
      expect(attempts.at(-2) ?? 0).toBeLessThan(24 * HOUR);
      expect(last).toBeLessThan(24 * HOUR + 1.2 * 2 * HOUR);
      expect(attempts.length).toBeGreaterThanOrEqual(17);
      expect(attempts.length).toBeLessThanOrEqual(26);
      // Waits never shrink by more than the jitter allows, and never exceed 2 h + 20 %.
      const waits = attempts.slice(1).map((at, i) => at - (attempts[i] ?? 0));
      expect(Math.max(...waits)).toBeLessThanOrEqual(1.2 * 2 * HOUR);
    }
    expect(run(() => 0.5)).toHaveLength(20);
  });

  it('a replay starts a fresh 24 hours', () => {
    const runStartedAt = new Date('2026-06-02T00:00:00Z');
    const failedAt = new Date('2026-06-02T00:00:01Z');
    expect(nextAttemptAfterFailure({ failures: 1, runStartedAt, failedAt, random: 0.5 })).toEqual(
      new Date(failedAt.getTime() + 30_000),
    );
    expect(
      nextAttemptAfterFailure({ failures: 1, runStartedAt, failedAt: new Date('2026-06-03T00:00:00Z'), random: 0.5 }),
    ).toBeNull();
  });

  it('refuses a failure count below one', () => {
    expect(() => retryDelayMs(0, 0.5)).toThrow();
    expect(DEFAULT_RETRY.retryForMs).toBe(24 * HOUR);
  });
});
