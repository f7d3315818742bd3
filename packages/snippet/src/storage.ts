// Where the snippet keeps its visitor id and cached lease. localStorage only with leave to store
// (no Global Privacy Control, consent given where required); otherwise sessionStorage only, which ends
// with the tab. Any storage may be blocked: every access is guarded.

import type { Swap } from './matcher.ts';
import { attempt } from './safe.ts';

/** The lease cached between page views: session, visitor, swaps, expiry and idle time (ms). */
export interface Cached {
  s: string;
  v: string;
  w: Swap[];
  e: number;
  d: number;
}

const KEY = 'ringpool';

/** Set to "1" in localStorage to turn Ringpool off in this browser. */
export const optedOut = (): boolean => attempt(() => localStorage.getItem('ringpool_optout')) === '1';

// A tab that started without leave to store keeps its visit when leave is given later.
export const load = (persistent: boolean): Cached | undefined =>
  attempt(() => JSON.parse((persistent && localStorage.getItem(KEY)) || (sessionStorage.getItem(KEY) as string)));

export const save = (persistent: boolean, value: Cached): void =>
  attempt(() => {
    // One area written: a first touch of the other costs the page a round trip to the browser process.
    (persistent ? localStorage : sessionStorage).setItem(KEY, JSON.stringify(value));
    // Without leave to store, nothing may outlive the tab.
    if (!persistent) localStorage.removeItem(KEY);
  });
