import type { Page } from '@playwright/test';
import { expect, test } from '../support/fixtures.ts';
import { DEMO_POOL, SERVICE_URL } from '../support/service.ts';

/** The text of each element of the demo page the snippet must change, or must leave alone. */
const read = (page: Page) =>
  page.evaluate(() => {
    const text = (id: string) => document.getElementById(id)?.textContent ?? null;
    const phone = document.getElementById('header-phone');
    return {
      header: text('header-phone'),
      formats: ['f-paren', 'f-dash', 'f-dot', 'f-plain', 'f-intl', 'f-trunk', 'f-split'].map(text),
      href: phone?.getAttribute('href'),
      ariaLabel: phone?.getAttribute('aria-label'),
      title: phone?.getAttribute('title'),
      sms: document.querySelector('#f-sms a')?.getAttribute('href'),
      longer: text('f-longer'),
      ignored: text('ignored'),
      textarea: (document.getElementById('textarea') as HTMLTextAreaElement).value,
    };
  });

/** The leased number's ten digits, written the way the page wrote the business number. */
type Seven = [string, string, string, string, string, string, string];
const formats = (d: string): Seven => [
  `(${d.slice(0, 3)}) ${d.slice(3, 6)}-${d.slice(6)}`,
  `${d.slice(0, 3)}-${d.slice(3, 6)}-${d.slice(6)}`,
  `${d.slice(0, 3)}.${d.slice(3, 6)}.${d.slice(6)}`,
  d,
  `+1 ${d.slice(0, 3)} ${d.slice(3, 6)} ${d.slice(6)}`,
  `1-${d.slice(0, 3)}-${d.slice(3, 6)}-${d.slice(6)}`,
  `(${d.slice(0, 3)}) ${d.slice(3, 6)}-${d.slice(6)}`,
];

test.describe('the demo page', () => {
  test('shows the leased number in every format the page uses, and leaves the rest alone', async ({ page }) => {
    const consoleErrors: string[] = [];
    page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
    await page.goto(`${SERVICE_URL}/demo`);
    await expect(page.locator('#status')).toContainText('Swapped');
    const seen = await read(page);
    const e164 = seen.href?.replace('tel:', '') ?? '';
    expect(DEMO_POOL).toContain(e164);
    const digits = e164.slice(2);
    expect(seen).toEqual({
      header: formats(digits)[0],
      formats: formats(digits),
      href: `tel:${e164}`,
      ariaLabel: `Call ${formats(digits)[0]}`,
      title: `Call ${formats(digits)[0]}`,
      sms: `sms:${e164}`,
      longer: '1-201-555-01009',
      ignored: 'Marked data-ringpool-ignore: (201) 555-0100',
      textarea: '(201) 555-0100',
    });

    // Content added after 2 s, and a client-side route change, are swapped as they appear.
    await expect(page.locator('#late')).toHaveText(
      `Added after 2 s: call ${formats(digits)[1]} for same-day appointments.`,
    );
    await page.click('a[data-route="/demo/implants"]');
    await expect(page.locator('#route-phone a')).toHaveText(formats(digits)[2]);
    await expect(page.locator('#route-phone a')).toHaveAttribute('href', `tel:${digits}`);
    expect(consoleErrors).toEqual([]);
  });

  test('on a second view, swaps from the cached lease with no request before the swap', async ({ page }, testInfo) => {
    await page.goto(`${SERVICE_URL}/demo`);
    await expect(page.locator('#status')).toContainText('Swapped');
    const held = await page.locator('#f-paren').textContent();

    const requests: string[] = [];
    page.on('request', (r) => {
      if (r.url().includes('/v1/public/')) requests.push(new URL(r.url()).pathname);
    });
    await page.goto(`${SERVICE_URL}/demo`, { waitUntil: 'domcontentloaded' });
    // Already swapped when the document is parsed, before any answer from the service.
    expect(await page.locator('#f-paren').textContent()).toBe(held);
    await testInfo.attach('second view', { body: await page.screenshot(), contentType: 'image/png' });
    await page.waitForTimeout(500);
    // The view is reported in the background; no new session is asked for.
    expect(requests.length).toBeGreaterThan(0);
    expect(requests.every((path) => path.endsWith('/ping'))).toBe(true);
  });
});
