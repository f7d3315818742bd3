// Where the snippet keeps its visitor id and cached lease. localStorage only with leave to store
// (no Global Privacy Control, consent given where required); otherwise sessionStorage, which ends
// with the tab. Any storage may be blocked: every access is guarded.

import type { Swap } from './matcher.ts';

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
export const OPT_OUT = 'ringpool_optout';

const area = (persistent: boolean): Storage | undefined => {
  try {
    return persistent ? localStorage : sessionStorage;
  } catch {}
};

export const optedOut = (): boolean => {
  try {
    return localStorage.getItem(OPT_OUT) === '1';
  } catch {
    return false;
  }
};

export const load = (persistent: boolean): Cached | undefined => {
  try {
    // A tab that started without leave to store keeps its visit when leave is given later.
    const raw = area(persistent)?.getItem(KEY) || (persistent ? area(false)?.getItem(KEY) : null);
    return raw ? JSON.parse(raw) : undefined;
  } catch {}
};

export const save = (persistent: boolean, value: Cached): void => {
  try {
    area(persistent)?.setItem(KEY, JSON.stringify(value));
    // Without leave to store, nothing may outlive the tab.
    if (!persistent) area(true)?.removeItem(KEY);
  } catch {}
};
