import { displayOf, type PhoneDisplay } from '../sites/phone.ts';
import type { HoldResult } from './repository.ts';
import type { SiteConfig } from './site-cache.ts';
import { type SwapRule, swapRules } from './swap-rules.ts';

/** What the snippet shows in place of one business number. */
export interface Swap {
  target: PhoneDisplay;
  /** null: keep the page's own number. */
  number: PhoneDisplay | null;
  via: 'pool' | 'source' | 'none';
  /** How the snippet finds `target` on a page and writes `number` there (none without a number). */
  rules: SwapRule[];
}

const rulesCache = new Map<string, SwapRule[]>();

/** The rules for a business number and a tracking number (cached like display forms: a hot path). */
function rulesOf(target: PhoneDisplay, number: PhoneDisplay): SwapRule[] {
  const key = `${target.e164} ${number.e164}`;
  let rules = rulesCache.get(key);
  if (!rules) {
    rules = swapRules(target, number);
    if (rulesCache.size > 10_000) rulesCache.clear();
    rulesCache.set(key, rules);
  }
  return rules;
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
    let shown: string | undefined;
    let via: Swap['via'] = 'none';
    const pool = config.pools.find((p) => p.swap_target === target);
    const held = pool && holds.find((h) => h.pool_id === pool.id)?.tracking_number_id;
    if (held) {
      shown = config.poolNumbers.get(held);
      if (!shown) return undefined;
      via = 'pool';
    } else {
      const fixed = config.sourceNumbers.find((n) => n.swap_target === target && n.source?.toLowerCase() === wanted);
      if (fixed) [shown, via] = [fixed.e164, 'source'];
    }
    const printed = displayOf(target);
    const number = shown ? displayOf(shown) : null;
    swaps.push({ target: printed, number, via, rules: number ? rulesOf(printed, number) : [] });
  }
  return swaps;
}

/** The earliest moment one of the session's leases lapses without a sign of life. */
export function leaseExpiry(holds: HoldResult[]): Date | null {
  let first: Date | null = null;
  for (const h of holds) if (h.expires_at && (!first || h.expires_at < first)) first = h.expires_at;
  return first;
}
