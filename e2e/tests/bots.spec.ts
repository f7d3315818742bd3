import { expect, sessionRecord, startSessionFromPage, test } from '../support/fixtures.ts';
import { DEMO_BUSINESS_NUMBER, SERVICE_URL, SERVICE_URL_LOCALHOST } from '../support/service.ts';

const GOOGLEBOT =
  'Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Googlebot/2.1; +http://www.google.com/bot.html) ' +
  'Chrome/126.0.6478.126 Safari/537.36';

test.describe('a search engine crawler', () => {
  test.use({ userAgent: GOOGLEBOT });

  test("keeps the page's own number and holds no lease", async ({ page, request }) => {
    await page.goto('/');
    const outcome = await startSessionFromPage(page, SERVICE_URL_LOCALHOST, { url: `${SERVICE_URL}/` });
    if (!outcome.ok) throw new Error(`the session request failed: ${JSON.stringify(outcome)}`);

    expect(outcome.body.expires_at).toBeNull();
    expect(outcome.body.swaps).toEqual([
      { target: expect.objectContaining({ e164: DEMO_BUSINESS_NUMBER }), number: null, via: 'none', rules: [] },
    ]);
    const record = await sessionRecord(request, outcome.body.session);
    expect(record).toMatchObject({ is_bot: true, device_type: 'bot', leases: [] });
  });
});
