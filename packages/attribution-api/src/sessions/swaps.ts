import { displayOf, type PhoneDisplay } from '../sites/phone.ts';
import type { HoldResult } from './repository.ts';
import type { SiteConfig } from './site-cache.ts';

/** What the snippet shows in place of one business number. */
export interface Swap {
  target: PhoneDisplay;
  /** null: keep the page's own number. */
  number: PhoneDisplay | null;
  via: 'pool' | 'source' | 'none';
}

/**
 * For each of the site's business numbers, the number this session is shown: its leased pool
 * number, else the source-level number for its source, else none (the page keeps its number).
 * Returns undefined if a held number is unknown to `config` (a stale cache).
 */
export function swapsFor(config: SiteConfig, source: string, holds: HoldResult[]): Swap[] | undefined {
  const swaps: Swap[] = [];
  const wanted = source.toLowerCase();
  for (const target of config.site.swap_targets) {
    const pool = config.pools.find((p) => p.swap_target === target);
    const held = pool && holds.find((h) => h.pool_id === pool.id)?.tracking_number_id;
    if (held) {
      const e164 = config.poolNumbers.get(held);
      if (!e164) return undefined;
      swaps.push({ target: displayOf(target), number: displayOf(e164), via: 'pool' });
      continue;
    }
    const fixed = config.sourceNumbers.find((n) => n.swap_target === target && n.source?.toLowerCase() === wanted);
    swaps.push({
      target: displayOf(target),
      number: fixed ? displayOf(fixed.e164) : null,
      via: fixed ? 'source' : 'none',
    });
  }
  return swaps;
}

/** The earliest moment one of the session's leases lapses without a sign of life. */
export function leaseExpiry(holds: HoldResult[]): Date | null {
  let first: Date | null = null;
  for (const h of holds) if (h.expires_at && (!first || h.expires_at < first)) first = h.expires_at;
  return first;
}
