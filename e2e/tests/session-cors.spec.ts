import {
  expect,
  type FetchOutcome,
  type SessionAnswer,
  sessionRecord,
  startSessionFromPage,
  test,
} from '../support/fixtures.ts';
import {
  DEMO_BUSINESS_NUMBER,
  DEMO_POOL,
  SERVICE_URL,
  SERVICE_URL_LOCALHOST,
  SESSIONS_PATH,
} from '../support/service.ts';

function answered(outcome: FetchOutcome): SessionAnswer {
  if (!outcome.ok) throw new Error(`the session request failed in the browser: ${JSON.stringify(outcome)}`);
  return outcome.body;
}

test.describe('a page on an origin the demo site allows', () => {
  // The page is on 127.0.0.1 and calls the API on localhost: a cross-origin request, as on a customer's site.
  test('gets a number from the pool, and the same number when it resumes its session', async ({ page, request }) => {
    await page.goto('/');
    await expect(page.getByRole('heading', { name: 'Ringpool' })).toBeVisible();
    const landing = `${SERVICE_URL}/?utm_source=google&utm_medium=cpc&gclid=e2e-click`;

    const first = answered(
      await startSessionFromPage(page, SERVICE_URL_LOCALHOST, { url: landing, referrer: 'https://www.google.com/' }),
    );
    expect(first.resumed).toBe(false);
    expect(first.swaps).toHaveLength(1);
    const [swap] = first.swaps;
    expect(swap?.target.e164).toBe(DEMO_BUSINESS_NUMBER);
    expect(swap?.via).toBe('pool');
    expect(DEMO_POOL).toContain(swap?.number?.e164);
    expect(swap?.number?.national).toMatch(/^\(201\) 555-01\d\d$/);
    expect(Date.parse(first.expires_at ?? '')).toBeGreaterThan(Date.now());

    const again = answered(
      await startSessionFromPage(page, SERVICE_URL_LOCALHOST, {
        session: first.session,
        visitor: first.visitor,
        url: `${SERVICE_URL}/pricing`,
      }),
    );
    expect(again).toMatchObject({ session: first.session, visitor: first.visitor, resumed: true });
    expect(again.swaps).toEqual(first.swaps);

    // The service recorded a real visitor with the ad click, holding the number it showed.
    const record = await sessionRecord(request, first.session);
    expect(record).toMatchObject({ is_bot: false, device_type: 'desktop', utm_source: 'google', gclid: 'e2e-click' });
    expect(record.leases).toEqual([expect.objectContaining({ e164: swap?.number?.e164, state: 'active' })]);
  });

  test('may send a JSON body, which the browser preflights', async ({ page, request }) => {
    await page.goto('/');
    const preflight = await request.fetch(`${SERVICE_URL_LOCALHOST}${SESSIONS_PATH}`, {
      method: 'OPTIONS',
      headers: {
        origin: SERVICE_URL,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    expect(preflight.status()).toBe(204);
    expect(preflight.headers()['access-control-allow-origin']).toBe(SERVICE_URL);

    const outcome = await startSessionFromPage(page, SERVICE_URL_LOCALHOST, { url: page.url() }, 'application/json');
    expect(answered(outcome).swaps).toEqual([expect.objectContaining({ via: 'pool' })]);
  });
});

test.describe('a page on an origin the demo site does not allow', () => {
  test('is blocked by the browser, because the service refuses it without CORS headers', async ({
    page,
    request,
    foreignOrigin,
  }) => {
    await page.goto(`${foreignOrigin}/`);
    await expect(page.getByRole('heading', { name: 'Elsewhere' })).toBeVisible();
    const body = { url: `${foreignOrigin}/`, referrer: '' };

    const outcome = await startSessionFromPage(page, SERVICE_URL, body);
    expect(outcome).toEqual({ ok: false, error: { name: 'TypeError', message: expect.any(String) } });

    // The same request outside a browser shows why: a 403 that gives the browser no permission to read it.
    const direct = await request.post(`${SERVICE_URL}${SESSIONS_PATH}`, {
      headers: { origin: foreignOrigin, 'content-type': 'text/plain' },
      data: JSON.stringify(body),
    });
    expect(direct.status()).toBe(403);
    expect(direct.headers()['access-control-allow-origin']).toBeUndefined();
    expect(await direct.json()).toMatchObject({ error: 'origin_not_allowed' });
  });

  test('is refused at the preflight when it sends JSON', async ({ page, request, foreignOrigin }) => {
    await page.goto(`${foreignOrigin}/`);
    const outcome = await startSessionFromPage(page, SERVICE_URL, { url: `${foreignOrigin}/` }, 'application/json');
    expect(outcome).toEqual({ ok: false, error: { name: 'TypeError', message: expect.any(String) } });

    const preflight = await request.fetch(`${SERVICE_URL}${SESSIONS_PATH}`, {
      method: 'OPTIONS',
      headers: {
        origin: foreignOrigin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    expect(preflight.status()).toBe(403);
    expect(preflight.headers()['access-control-allow-origin']).toBeUndefined();
  });
});
