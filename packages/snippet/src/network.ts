// Talking to the service. Bodies are JSON sent as text/plain, so browsers need no CORS preflight.
// Nothing here throws: a failure resolves to undefined and the page keeps its own numbers.

import type { Config } from './config.ts';
import type { Swap } from './matcher.ts';
import type { Cached } from './storage.ts';

/** What POST …/sessions answers (the fields the snippet reads). */
export interface Visit {
  session: string;
  visitor: string;
  expires_at: string | null;
  /** number null: the page keeps its own. */
  swaps: (Omit<Swap, 'number'> & { number: Swap['number'] | null })[];
}

/** Starts or resumes the visit: the service's answer, or undefined (typed away) on any failure or after 3 s. */
export const startVisit = (c: Config, cached?: Cached): Promise<Visit> =>
  fetch(c.sessions, {
    method: 'POST',
    // The cached visit, even expired: the service resumes its session while it is alive, with the same number.
    body: JSON.stringify({ session: cached?.s, visitor: cached?.v, url: location.href, referrer: document.referrer }),
    signal: AbortSignal.timeout(3000),
  })
    // An error status, or anything else that is not a visit, fails the checks of the caller.
    .then((r) => r.json())
    .catch(() => undefined);

/** A fire-and-forget report (page view, heartbeat, call intent) that survives the page unloading. */
export const beacon = (c: Config, session: string, path: string, body: object): void => {
  navigator.sendBeacon(`${c.sessions}/${session}/${path}`, JSON.stringify(body));
};
