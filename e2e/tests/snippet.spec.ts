import type { BrowserContext, Page, Request, Route } from '@playwright/test';
import { expect, FOREIGN_SNIPPET_PATH, type SessionAnswer, test } from '../support/fixtures.ts';
import { ADMIN_API_KEY, DEMO_POOL, DEMO_SITE_KEY, SERVICE_URL, SESSIONS_PATH } from '../support/service.ts';

// Small pages that carry the snippet, each a behaviour of PRODUCT.md's "The snippet". They are served from
// the service's own origin (which the demo site allows) by routing, and load the real /v1/snippet.js.

const BUSINESS = '(201) 555-0100';
/** The leased number, written like BUSINESS. */
const SWAPPED = /^\(201\) 555-01(0[1-9]|1\d|20)$/;
const SESSIONS = `**${SESSIONS_PATH}`;

interface PageOptions {
  /** Markup before the snippet's tag, in <head>. */
  head?: string;
  /** The page's own content. */
  body?: string;
  /** The snippet's script tag(s). */
  tags?: string;
}

const TAG = `<script src="/v1/snippet.js" data-site="${DEMO_SITE_KEY}"></script>`;

/** Serves a fixture page at SERVICE_URL/fixtures/<name> to every page of `target`; returns its URL. */
async function fixture(target: Page | BrowserContext, name: string, options: PageOptions = {}): Promise<string> {
  const url = `${SERVICE_URL}/fixtures/${name}`;
  const {
    head = '',
    body = `<p>Call us: <span id="n">${BUSINESS}</span></p><a id="call" href="tel:+12015550100">${BUSINESS}</a>`,
    tags = TAG,
  } = options;
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${name}</title>${head}</head><body>${body}${tags}</body></html>`;
  await target.route(url, (route) => route.fulfill({ contentType: 'text/html; charset=utf-8', body: html }));
  return url;
}

const isSessionStart = (r: Request) => r.method() === 'POST' && new URL(r.url()).pathname === SESSIONS_PATH;

/** Every session request the page makes, from now on. */
function sessionRequests(page: Page): Request[] {
  const seen: Request[] = [];
  page.on('request', (r) => isSessionStart(r) && seen.push(r));
  return seen;
}

/**
 * Console errors, but for Chromium's own network log lines: "Failed to load resource: the server responded with
 * a status of 500" / "…: net::ERR_FAILED" for any failed request, and "Access to fetch at … has been blocked by
 * CORS policy" for a refused cross-origin one. Chromium writes them whatever the script did with the failure:
 * they are not the snippet's.
 */
function consoleErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (m) => {
    const text = m.text();
    if (m.type() === 'error' && !/^Failed to load resource:|^Access to fetch at .* blocked by CORS policy/.test(text))
      errors.push(text);
  });
  return errors;
}

const stored = (page: Page) =>
  page.evaluate(() => ({ local: localStorage.getItem('ringpool'), tab: sessionStorage.getItem('ringpool') }));

/** Waits for "nothing else happens". */
const settle = (page: Page) => page.waitForTimeout(1000);

test.beforeAll(async ({ request }) => {
  // Every browser here comes from 127.0.0.1, and the demo site leases at most 10 numbers per address: lift
  // that limit (idempotently), or the later pages of a run would rightly be refused a number.
  const auth = { authorization: `Bearer ${ADMIN_API_KEY}` };
  const listed = await request.get(`${SERVICE_URL}/v1/sites`, { headers: auth });
  expect(listed.status()).toBe(200);
  const { sites } = (await listed.json()) as { sites: { id: string; public_key: string }[] };
  const demo = sites.find((s) => s.public_key === DEMO_SITE_KEY);
  if (!demo) throw new Error('no demo site');
  const patched = await request.patch(`${SERVICE_URL}/v1/sites/${demo.id}`, {
    headers: auth,
    data: { max_leases_per_ip: null },
  });
  expect(patched.status()).toBe(200);
});

test.describe('the snippet', () => {
  test('on a first view, asks for one session and shows the leased number in the page’s format', async ({ page }) => {
    const errors = consoleErrors(page);
    const requests = sessionRequests(page);
    const answered = page.waitForResponse(isSessionStartResponse);
    await page.goto(await fixture(page, 'first-view'));
    const answer = (await (await answered).json()) as SessionAnswer;
    const e164 = answer.swaps[0]?.number?.e164 ?? '';
    expect(DEMO_POOL).toContain(e164);

    await expect(page.locator('#n')).toHaveText(SWAPPED);
    const digits = e164.slice(2);
    await expect(page.locator('#n')).toHaveText(`(${digits.slice(0, 3)}) ${digits.slice(3, 6)}-${digits.slice(6)}`);
    await expect(page.locator('#call')).toHaveAttribute('href', `tel:${e164}`);
    await settle(page);
    expect(requests).toHaveLength(1);
    expect(errors).toEqual([]);
  });

  const failures: [string, (route: Route) => Promise<void>][] = [
    ['is unreachable', (route) => route.abort('failed')],
    ['answers 500', (route) => route.fulfill({ status: 500, contentType: 'application/json', body: '{"error":"x"}' })],
    [
      'answers after 4 s (the snippet waits 3 s)',
      async (route) => {
        // The real answer, with a real number in it, but too late.
        const response = await route.fetch();
        await new Promise((resolve) => setTimeout(resolve, 4000));
        // The page has given up on it by now: fulfilling an abandoned request may throw.
        await route.fulfill({ response }).catch(() => undefined);
      },
    ],
    [
      'answers JSON of the wrong shape',
      (route) => route.fulfill({ contentType: 'application/json', body: '{"session":1}' }),
    ],
    ['answers something that is not JSON', (route) => route.fulfill({ contentType: 'text/html', body: '<h1>Oops' })],
  ];
  for (const [name, handler] of failures) {
    test(`keeps the page’s own number, silently, when the service ${name}`, async ({ page }) => {
      const errors = consoleErrors(page);
      let handled: () => void = () => {};
      const done = new Promise<void>((resolve) => {
        handled = resolve;
      });
      await page.route(SESSIONS, async (route) => {
        await handler(route);
        handled();
      });
      await page.goto(await fixture(page, 'failure'));
      await done;
      await settle(page);
      // The snippet did run (it defines its API), and left the number as it was.
      expect(await page.evaluate(() => typeof (window as { ringpool?: unknown }).ringpool)).toBe('function');
      await expect(page.locator('#n')).toHaveText(BUSINESS);
      await expect(page.locator('#call')).toHaveAttribute('href', 'tel:+12015550100');
      expect(errors).toEqual([]);
    });
  }

  test('on an origin the site does not allow, keeps the page’s own number, silently', async ({
    page,
    foreignOrigin,
  }) => {
    const errors = consoleErrors(page);
    const refused = page.waitForEvent('requestfailed', isSessionStart);
    // The tag as a customer would paste it, on a page of another origin: the script comes from the service.
    await page.goto(`${foreignOrigin}${FOREIGN_SNIPPET_PATH}`);
    // The snippet did ask; the service refused this origin without CORS headers, so the browser failed the request
    // (session-cors.spec.ts shows the 403 itself).
    expect((await refused).failure()?.errorText).toBe('net::ERR_FAILED');
    await settle(page);
    expect(await page.evaluate(() => typeof (window as { ringpool?: unknown }).ringpool)).toBe('function');
    await expect(page.locator('#n')).toHaveText(BUSINESS);
    await expect(page.locator('#call')).toHaveAttribute('href', 'tel:+12015550100');
    expect(await stored(page)).toEqual({ local: null, tab: null });
    expect(errors).toEqual([]);
  });

  test('reports a single-page app’s route changes as page views, without patching history', async ({ page }) => {
    const errors = consoleErrors(page);
    const answered = page.waitForResponse(isSessionStartResponse);
    const url = await fixture(page, 'spa');
    await page.goto(url);
    const { session } = (await (await answered).json()) as SessionAnswer;
    await expect(page.locator('#n')).toHaveText(SWAPPED);
    const shown = await page.locator('#n').textContent();
    const views: string[] = [];
    page.on('request', (r) => {
      if (r.method() === 'POST' && new URL(r.url()).pathname === `${SESSIONS_PATH}/${session}/ping`) {
        views.push((r.postDataJSON() as { url: string }).url);
      }
    });

    // The app's router: a new address and new content, in one task.
    await page.evaluate((number) => {
      history.pushState({}, '', '/fixtures/spa/pricing');
      document.body.insertAdjacentHTML('beforeend', `<p id="route">Pricing: call <b>${number}</b></p>`);
    }, BUSINESS);
    await expect(page.locator('#route b')).toHaveText(shown ?? '');
    await expect.poll(() => views).toEqual([`${SERVICE_URL}/fixtures/spa/pricing`]);

    // Back: the browser's own navigation within the page (popstate).
    await page.goBack();
    await expect.poll(() => views).toEqual([`${SERVICE_URL}/fixtures/spa/pricing`, url]);

    // A route change without new content, from a click on the app's link: seen once the click is handled.
    await page.evaluate(() => {
      const a = document.createElement('a');
      a.id = 'nav';
      a.href = '/fixtures/spa/contact';
      a.textContent = 'Contact';
      a.addEventListener('click', (e) => {
        e.preventDefault();
        history.pushState({}, '', a.href);
      });
      document.body.append(a);
    });
    await page.locator('#nav').click();
    await expect
      .poll(() => views)
      .toEqual([`${SERVICE_URL}/fixtures/spa/pricing`, url, `${SERVICE_URL}/fixtures/spa/contact`]);

    expect(await page.evaluate(() => String(history.pushState))).toContain('[native code]');
    expect(errors).toEqual([]);
  });

  test('with consent required, keeps the lease in the tab until consent, then in localStorage', async ({ page }) => {
    const tags = `<script src="/v1/snippet.js" data-site="${DEMO_SITE_KEY}" data-consent="required"></script>`;
    await page.goto(await fixture(page, 'consent', { tags }));
    await expect(page.locator('#n')).toHaveText(SWAPPED);
    await settle(page);
    const before = await stored(page);
    expect(before.local).toBeNull();
    expect(before.tab).not.toBeNull();

    await page.evaluate(() =>
      (window as unknown as { ringpool: (n: string, v: boolean) => void }).ringpool('consent', true),
    );
    const after = await stored(page);
    expect(after.local).not.toBeNull();
    expect(JSON.parse(after.local ?? '{}').s).toBe(JSON.parse(before.tab ?? '{}').s);
  });

  test('honours consent queued before the script loads, on this view and the next', async ({ page }) => {
    const head =
      '<script>window.ringpool=window.ringpool||function(){(ringpool.q=ringpool.q||[]).push(arguments)};' +
      "ringpool('consent', true);</script>";
    const tags = `<script src="/v1/snippet.js" data-site="${DEMO_SITE_KEY}" data-consent="required"></script>`;
    const url = await fixture(page, 'consent-queued', { head, tags });
    await page.goto(url);
    await expect(page.locator('#n')).toHaveText(SWAPPED);
    const shown = await page.locator('#n').textContent();
    await expect.poll(async () => (await stored(page)).local).not.toBeNull();

    // A consented visitor's next view swaps from the kept lease: no new session, same number.
    const requests = sessionRequests(page);
    await page.goto(url);
    await expect(page.locator('#n')).toHaveText(shown ?? '');
    await settle(page);
    expect(requests).toHaveLength(0);
  });

  test('with Global Privacy Control, swaps the number and stores nothing in localStorage', async ({
    context,
    page,
  }) => {
    await context.addInitScript(() => Object.defineProperty(navigator, 'globalPrivacyControl', { value: true }));
    await page.goto(await fixture(page, 'gpc'));
    await expect(page.locator('#n')).toHaveText(SWAPPED);
    await settle(page);
    const kept = await stored(page);
    expect(kept.local).toBeNull();
    expect(kept.tab).not.toBeNull();
  });

  test('when opted out in localStorage, asks for nothing and changes nothing', async ({ context, page }) => {
    await context.addInitScript(() => {
      try {
        localStorage.setItem('ringpool_optout', '1');
      } catch {}
    });
    const requests: string[] = [];
    page.on('request', (r) => r.url().includes('/v1/public/') && requests.push(r.url()));
    await page.goto(await fixture(page, 'opt-out'));
    // The script itself was loaded; it just does nothing.
    await page.waitForLoadState('load');
    await settle(page);
    await expect(page.locator('#n')).toHaveText(BUSINESS);
    expect(requests).toEqual([]);
  });

  test('loaded twice, runs once', async ({ page }) => {
    const requests = sessionRequests(page);
    await page.goto(await fixture(page, 'twice', { tags: TAG + TAG }));
    await expect(page.locator('#n')).toHaveText(SWAPPED);
    await settle(page);
    expect(requests).toHaveLength(1);
  });

  test('in a second tab of the same visitor, shows the same number in the same session', async ({ context }) => {
    const url = await fixture(context, 'two-tabs');
    const first = await context.newPage();
    const answered = first.waitForResponse(isSessionStartResponse);
    await first.goto(url);
    const { session } = (await (await answered).json()) as SessionAnswer;
    await expect(first.locator('#n')).toHaveText(SWAPPED);
    const shown = await first.locator('#n').textContent();

    const second = await context.newPage();
    const requests = sessionRequests(second);
    await second.goto(url);
    await expect(second.locator('#n')).toHaveText(shown ?? '');
    await settle(second);
    // No new session: either none is asked for, or the first tab's is resumed.
    for (const r of requests) expect(r.postDataJSON()).toMatchObject({ session });
  });

  test('swaps the number inside an open shadow root, also one added later', async ({ page }) => {
    const head =
      '<script>customElements.define("call-box",class extends HTMLElement{constructor(){super();' +
      `this.attachShadow({mode:"open"}).innerHTML='<p class="inner">Call ${BUSINESS}</p>'}});</script>`;
    const body = '<call-box id="early"></call-box><p>Call us: <span id="n">(201) 555-0100</span></p>';
    await page.goto(await fixture(page, 'shadow', { head, body }));
    await expect(page.locator('#n')).toHaveText(SWAPPED);
    const shown = await page.locator('#n').textContent();
    await expect(page.locator('#early .inner')).toHaveText(`Call ${shown}`);

    await page.evaluate(() => {
      const late = document.createElement('call-box');
      late.id = 'late';
      document.body.append(late);
    });
    await expect(page.locator('#late .inner')).toHaveText(`Call ${shown}`);
  });

  test('reports a tap on a swapped tel: link as a call intent', async ({ page }) => {
    const answered = page.waitForResponse(isSessionStartResponse);
    await page.goto(await fixture(page, 'tel'));
    const { session } = (await (await answered).json()) as SessionAnswer;
    await expect(page.locator('#call')).not.toHaveAttribute('href', 'tel:+12015550100');
    const href = await page.locator('#call').getAttribute('href');
    expect(href).toMatch(/^tel:\+120155501\d\d$/);

    const intent = page.waitForResponse(
      (r) => r.request().method() === 'POST' && new URL(r.url()).pathname === `${SESSIONS_PATH}/${session}/intents`,
    );
    await page.locator('#call').click();
    const response = await intent;
    expect(response.status()).toBe(204);
    expect(response.request().postDataJSON()).toEqual({ number: href });
  });

  test('tells the page with a ringpool:swap event and a dataLayer event', async ({ page }) => {
    const head =
      '<script>window.dataLayer=[];window.swaps=[];' +
      'document.addEventListener("ringpool:swap",function(e){swaps.push(e.detail)});</script>';
    const answered = page.waitForResponse(isSessionStartResponse);
    await page.goto(await fixture(page, 'events', { head }));
    const answer = (await (await answered).json()) as SessionAnswer;
    const e164 = answer.swaps[0]?.number?.e164;
    await expect(page.locator('#n')).toHaveText(SWAPPED);
    await settle(page);
    const told = await page.evaluate(() => {
      const w = window as unknown as { swaps: unknown[]; dataLayer: unknown[] };
      return { swaps: w.swaps, dataLayer: w.dataLayer };
    });
    expect(told).toEqual({
      swaps: [{ session: answer.session, numbers: [e164] }],
      dataLayer: [{ event: 'ringpool_swap', ringpool_session: answer.session, ringpool_number: e164 }],
    });
  });
});

function isSessionStartResponse(r: { request(): Request }): boolean {
  return isSessionStart(r.request());
}
