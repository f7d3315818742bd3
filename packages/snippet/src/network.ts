// Talking to the service. Bodies are JSON sent as text/plain, so browsers need no CORS preflight.
// Nothing here throws: a failure resolves to undefined and the page keeps its own numbers.

import type { Config } from './config.ts';
import type { PhoneForms, Swap } from './matcher.ts';

export interface Visit {
  session: string;
  visitor: string;
  expires_at: string | null;
  swaps: { target: PhoneForms; number: PhoneForms | null }[];
}

const base = (c: Config) => `${c.api}/v1/public/sites/${encodeURIComponent(c.site)}/sessions`;

// Every form of both numbers must be text with digits, or nothing is swapped.
const wellFormed = ({ target: t, number: n }: Visit['swaps'][number]) =>
  n && [t.cc, t.nsn, t.national, n.e164, n.cc, n.nsn, n.national, n.international].every((v) => /^[^<>]*\d/.test(v));

/** Starts or resumes the visit: its swaps, or undefined on any failure or after 3 s. */
export const startVisit = (c: Config, session?: string, visitor?: string): Promise<[Visit, Swap[]] | undefined> =>
  fetch(base(c), {
    method: 'POST',
    body: JSON.stringify({ session, visitor, url: location.href, referrer: document.referrer || null }),
    signal: AbortSignal.timeout(3000),
  })
    .then((r) => r.ok && r.json())
    .then((v: Visit) => {
      // A swap without a number leaves the page's own; a malformed one leaves them all.
      const swaps = v.swaps.filter((s) => s.number);
      if (typeof v.session === 'string' && swaps.every(wellFormed)) return [v, swaps as Swap[]] as [Visit, Swap[]];
    })
    .catch(() => undefined);

/** A fire-and-forget report (page view, heartbeat, call intent) that survives the page unloading. */
export const beacon = (c: Config, session: string, path: string, body: object): void => {
  navigator.sendBeacon(`${base(c)}/${session}/${path}`, JSON.stringify(body));
};
