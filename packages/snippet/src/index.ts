// Ringpool's DNI snippet: leases a tracking number for this visit and shows it wherever the page
// prints the business number. It never breaks the page: any failure leaves the page's own numbers.

import { type Config, readConfig } from './config.ts';
import { createSwapper } from './dom.ts';
import { compile } from './matcher.ts';
import { beacon, startVisit, type Visit } from './network.ts';
import { attempt, now, safe } from './safe.ts';
import { type Cached, load, optedOut, save } from './storage.ts';

interface Api {
  (name: string, value?: unknown): void;
  q?: IArguments[];
  l?: 1;
}
const w = window as unknown as { ringpool?: Api; dataLayer?: unknown[] };
const d = document;

const run = (c: Config) => {
  // Leave to store beyond the tab: no Global Privacy Control, and consent where the site asks for it.
  const gpc = (navigator as { globalPrivacyControl?: boolean }).globalPrivacyControl;
  let consent = !c.consentRequired;
  const persistent = () => consent && !gpc;
  let visit: Cached | undefined;
  let href = location.href;
  let lastPing = 0;
  const tels = new WeakSet<Element>();

  const keep = (v: Cached) => {
    visit = v;
    save(persistent(), v);
  };

  const ping = (path = 'ping', body: object = { url: href }) => {
    if (visit) {
      lastPing = now();
      keep({ ...visit, e: lastPing + visit.d });
      beacon(c, visit.s, path, body);
    }
  };

  // Heartbeat at most once a minute while the page is visible; a new address is a page view.
  const beat = safe(() => {
    if (location.href !== href || (!d.hidden && now() - lastPing >= 6e4)) {
      href = location.href;
      ping();
    }
  });

  /** Shows the visit's numbers: 1, or nothing (and no change) if its swaps are unusable. */
  const show = (v: Cached) => {
    if (v.w.length) {
      const find = compile(v.w);
      if (!find) return;
      // A single-page app's route change is seen (without patching `history`) as the page changes.
      createSwapper(find, tels, beat);
      const numbers = v.w.map((s) => s.number.e164);
      d.dispatchEvent(new CustomEvent('ringpool:swap', { detail: { session: v.s, numbers } }));
      w.dataLayer?.push?.({ event: 'ringpool_swap', ringpool_session: v.s, ringpool_number: numbers[0] });
    }
    visit = v;
    return 1;
  };

  // ringpool('consent', true|false), also when queued before this script loaded.
  const api: Api = safe((name: string, value?: unknown) => {
    if (name === 'consent') {
      consent = value === true || !c.consentRequired;
      if (visit) keep(visit);
    }
  });
  api.l = 1;
  for (const args of w.ringpool?.q ?? []) api(...(args as unknown as [string, unknown]));
  w.ringpool = api;

  // Read after the queue: consent given before this script loaded finds the lease kept with it.
  const cached = load(persistent());
  // A live visit: swap now from the cache, before the page paints; report the view on the side.
  if ((cached?.e as number) > now() && attempt(() => show(cached as Cached))) ping();
  else
    startVisit(c, cached).then(
      // Anything but a visit (undefined on failure) throws here, before any change.
      safe((v: Visit) => {
        // No expiry (or a bad one): NaN, a lease never taken as live from the cache.
        const expires = Date.parse(v.expires_at as string);
        // A swap without a number leaves the page's own.
        const swaps = v.swaps.filter((s) => s.number) as Cached['w'];
        if (show({ s: v.session, v: v.visitor, w: swaps, e: expires, d: expires - now() })) {
          keep(visit as Cached);
          lastPing = now();
        }
      }),
    );

  setInterval(beat, 6e4);
  addEventListener('popstate', beat);
  // visibilitychange bubbles from the document; a click is seen on its way down (capture), before the page's.
  addEventListener('visibilitychange', beat);
  addEventListener(
    'click',
    safe((e: Event) => {
      // A click on a client-side route's link changes the address after this listener: look once it has.
      setTimeout(beat);
      // A tap on a swapped tel: link: the visitor is about to call. (composedPath: also inside a shadow root.)
      const a = (e.composedPath()[0] as Element).closest('a[href]');
      if (tels.has(a as Element)) ping('intents', { number: a?.getAttribute('href') });
    }),
    true,
  );
};

safe(() => {
  const c = readConfig(d.currentScript as HTMLScriptElement);
  if (c && !w.ringpool?.l && !optedOut()) run(c);
})();
