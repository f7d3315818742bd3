// Ringpool's DNI snippet: leases a tracking number for this visit and shows it wherever the page
// prints the business number. It never breaks the page: any failure leaves the page's own numbers.

import { type Config, readConfig } from './config.ts';
import { createSwapper } from './dom.ts';
import { compile, type Swap } from './matcher.ts';
import { beacon, startVisit } from './network.ts';
import { safe } from './safe.ts';
import { type Cached, load, optedOut, save } from './storage.ts';

interface Api {
  (name: string, value?: unknown): void;
  q?: IArguments[];
  l?: 1;
}
const w = window as unknown as { ringpool?: Api; dataLayer?: unknown[] };
const d = document;
const now = Date.now;

const run = (c: Config) => {
  // Leave to store beyond the tab: no Global Privacy Control, and consent where the site asks for it.
  const gpc = (navigator as { globalPrivacyControl?: boolean }).globalPrivacyControl;
  let consent = !c.consentRequired;
  const persistent = () => consent && !gpc;
  let visit: Cached | undefined;
  let href = location.href;
  let lastPing = 0;
  let applied = 0;
  const tels = new WeakSet<Element>();

  const keep = (v: Cached) => {
    visit = v;
    save(persistent(), v);
  };

  const ping = (path = 'ping', body: object = { url: location.href }) => {
    if (!visit) return;
    lastPing = now();
    keep({ ...visit, e: lastPing + visit.d });
    beacon(c, visit.s, path, body);
  };

  const apply = (swaps: Swap[]) => {
    if (applied++ || !swaps.length) return;
    const swapper = createSwapper(compile(swaps), (a) => tels.add(a));
    swapper.observe(d.documentElement);
    swapper.scan(d.documentElement);
    const numbers = swaps.map((s) => s.number.e164);
    d.dispatchEvent(new CustomEvent('ringpool:swap', { detail: { session: visit?.s, numbers } }));
    w.dataLayer?.push?.({ event: 'ringpool_swap', ringpool_session: visit?.s, ringpool_number: numbers[0] });
  };

  // ringpool('consent', true|false), also when queued before this script loaded.
  const api: Api = safe((name: string, value?: unknown) => {
    if (name === 'consent') {
      consent = value === true || !c.consentRequired;
      if (visit) keep(visit);
    }
  });
  api.l = 1;
  for (const args of w.ringpool?.q ?? []) api(args[0], args[1]);
  w.ringpool = api;
  // Read after the queue: consent given before this script loaded finds the lease kept with it.
  visit = load(persistent());

  if (visit && visit.e > now()) {
    // A live visit: swap now from the cache, before the page paints; report the view on the side.
    apply(visit.w);
    ping();
  } else {
    startVisit(c, visit?.s, visit?.v).then(
      safe((started?: Awaited<ReturnType<typeof startVisit>>) => {
        if (!started) return;
        const [v, swaps] = started;
        const expires = Date.parse(v.expires_at ?? '') || 0;
        keep({ s: v.session, v: v.visitor, w: swaps, e: expires, d: Math.max(expires - now(), 0) });
        lastPing = now();
        apply(swaps);
      }),
    );
  }

  // Heartbeat at most once a minute while the page is visible; a new address is a page view.
  const beat = safe(() => {
    if (location.href !== href) {
      href = location.href;
      ping();
    } else if (d.visibilityState === 'visible' && now() - lastPing >= 6e4) ping();
  });
  setInterval(beat, 6e4);
  addEventListener('popstate', () => setTimeout(beat));
  d.addEventListener('visibilitychange', beat);
  // A tap on a swapped tel: link: the visitor is about to call.
  d.addEventListener(
    'click',
    safe((e: Event) => {
      const a = (e.target as Element).closest('a[href]');
      if (a && tels.has(a)) ping('intents', { number: a.getAttribute('href') });
    }),
    true,
  );
};

safe(() => {
  const c = readConfig(d.currentScript as HTMLScriptElement | null);
  if (c && !w.ringpool?.l && !optedOut()) run(c);
})();
