// Pure: when a failed delivery is tried again, and when it is given up.

export interface RetryPolicy {
  /** The wait after the first failure; each further failure doubles it. */
  firstDelayMs: number;
  /** No wait grows beyond this. */
  maxDelayMs: number;
  /** Each wait is spread by ± this share, so that deliveries failed together do not retry together. */
  jitter: number;
  /** A delivery is retried until at least this long after its run began, then marked failed. */
  retryForMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  firstDelayMs: 30_000,
  maxDelayMs: 2 * 60 * 60_000,
  jitter: 0.2,
  retryForMs: 24 * 60 * 60_000,
};

/** The wait after `failures` failed attempts (1 or more), `random` in [0, 1) choosing where in the jitter band. */
export function retryDelayMs(failures: number, random: number, policy: RetryPolicy = DEFAULT_RETRY): number {
  if (!Number.isInteger(failures) || failures < 1) throw new Error('failures counts from 1');
  // Capped before it is computed: 2 ** 1000 is still a number, 2 ** 1100 is Infinity.
  const exponent = Math.min(failures - 1, 60);
  const nominal = Math.min(policy.firstDelayMs * 2 ** exponent, policy.maxDelayMs);
  const spread = 1 - policy.jitter + 2 * policy.jitter * Math.min(Math.max(random, 0), 1);
  return Math.round(nominal * spread);
}

/**
 * After a failed attempt: the time of the next one, or null when the run has lasted `retryForMs`
 * (so the last attempt is made at least that long after the first).
 */
export function nextAttemptAfterFailure(
  failure: { failures: number; runStartedAt: Date; failedAt: Date; random: number },
  policy: RetryPolicy = DEFAULT_RETRY,
): Date | null {
  if (failure.failedAt.getTime() - failure.runStartedAt.getTime() >= policy.retryForMs) return null;
  return new Date(failure.failedAt.getTime() + retryDelayMs(failure.failures, failure.random, policy));
}
