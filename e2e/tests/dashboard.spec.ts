import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { APIRequestContext, Page, TestInfo } from '@playwright/test';
import { expect, type SessionAnswer, test } from '../support/fixtures.ts';
import { ADMIN_API_KEY, E2E_STATE_ROOT, SERVICE_URL } from '../support/service.ts';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
const auth = { authorization: `Bearer ${ADMIN_API_KEY}` };

// Other tests share the service: this run's visits carry their own names.
const TAG = `dash-${Date.now().toString(36)}`;
// Attacks a visitor can put in an ad link's UTM values; prefixed to stay this run's own.
const XSS_IMG = `${TAG}<img src=x onerror=window.__xss=1>`;
const XSS_SCRIPT = `${TAG}"><script>window.__xss=2</script>`;

/** The calls table's columns (1-based, for :nth-child). */
const COLUMN = {
  caller: 2,
  number: 3,
  source: 4,
  medium: 5,
  campaign: 6,
  keyword: 7,
  landing: 8,
  duration: 9,
  status: 10,
  qualified: 11,
  confidence: 12,
  reason: 13,
};

interface Visit {
  utm: Record<string, string>;
  caller: string;
  duration: number;
}

const VISITS: Visit[] = [
  {
    utm: { utm_source: `${TAG}-google`, utm_medium: 'cpc', utm_campaign: `${TAG}-spring`, utm_term: 'dental implants' },
    caller: '+12015550161',
    duration: 75,
  },
  {
    utm: { utm_source: `${TAG}-facebook`, utm_medium: 'paid_social', utm_campaign: XSS_IMG, utm_term: XSS_SCRIPT },
    caller: '+12015550162',
    duration: 20,
  },
  {
    utm: { utm_source: XSS_SCRIPT, utm_medium: 'email', utm_campaign: `${TAG}-newsletter` },
    caller: '+12015550163',
    duration: 90,
  },
];

interface TestSite {
  id: string;
  name: string;
  poolName: string;
  numbers: string[];
  /** Starts a visit as the snippet would, from a page of the site's origin; gives the answer. */
  visit: (page: Page, utm: Record<string, string>) => Promise<SessionAnswer>;
}

/**
 * A site of the demo account with a pool of its own. The demo pool (20 numbers, held 45 minutes
 * per visit) is shared by the whole suite; the dashboard's tests take none of it.
 */
async function makeSite(request: APIRequestContext, name: string, poolSize: number, timeZone: string) {
  const post = async (path: string, data: unknown, expected = 201) => {
    const response = await request.post(`${SERVICE_URL}${path}`, { headers: auth, data });
    expect(response.status(), `${path}: ${await response.text()}`).toBe(expected);
    return response.json();
  };
  const digits = () => String(Math.floor(Math.random() * 10_000)).padStart(4, '0');
  const site = await post('/v1/sites', {
    name,
    allowed_origins: [SERVICE_URL],
    swap_targets: [`+1201555${digits()}`],
    time_zone: timeZone,
  });
  const pool = await post(`/v1/sites/${site.id}/pools`, { name: `${name} pool` });
  let numbers: string[] = [];
  for (let attempt = 0; attempt < 5 && !numbers.length; attempt++) {
    // Random numbers: another test of this run may have taken one (409), then draw again.
    const response = await request.post(`${SERVICE_URL}/v1/pools/${pool.id}/numbers`, {
      headers: auth,
      data: { numbers: Array.from({ length: poolSize }, (_, i) => ({ number: `+120155${6 + i}${digits()}` })) },
    });
    if (response.status() === 201) numbers = (await response.json()).numbers.map((n: { e164: string }) => n.e164);
    else expect(response.status(), await response.text()).toBe(409);
  }
  expect(numbers).toHaveLength(poolSize);
  const path = `/v1/public/sites/${site.public_key}/sessions`;
  return {
    id: site.id,
    name,
    poolName: `${name} pool`,
    numbers,
    visit: async (page: Page, utm: Record<string, string>) => {
      if (!page.url().startsWith(SERVICE_URL)) await page.goto(`${SERVICE_URL}/readyz`);
      const url = `${SERVICE_URL}/landing?${new URLSearchParams(utm)}`;
      return page.evaluate(
        async ({ path, url }) => (await fetch(path, { method: 'POST', body: JSON.stringify({ url }) })).json(),
        { path, url },
      );
    },
  } satisfies TestSite;
}

/** `npm run call` to that number; gives the call's provider id. */
async function ring(number: string, visit: Visit): Promise<string> {
  const { stdout } = await run(
    process.execPath,
    [
      '--import',
      'tsx',
      'packages/attribution-api/src/calls/simulate-cli.ts',
      number,
      '--from',
      visit.caller,
      '--duration',
      String(visit.duration),
    ],
    { cwd: ROOT, env: { ...process.env, STATE_DIR: join(E2E_STATE_ROOT, 'state'), RINGPOOL_API_KEY: '' } },
  );
  const sid = /Call (CA[0-9a-f]+) from/.exec(stdout)?.[1];
  expect(sid, stdout).toBeTruthy();
  return sid ?? '';
}

async function screenshot(page: Page, testInfo: TestInfo, name: string): Promise<void> {
  const path = testInfo.outputPath(`${name}.png`);
  await page.screenshot({ path, fullPage: true });
  await testInfo.attach(name, { path, contentType: 'image/png' });
}

/** Content-Security-Policy reports in the console: the page must need no exception to it. */
function watchPolicy(page: Page): string[] {
  const violations: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) violations.push(m.text());
  });
  return violations;
}

/** The ids of the elements Tab visits, from the top of the page, until `last` or `max` presses. */
async function tabOrder(page: Page, last: string, max = 60): Promise<string[]> {
  // Sequential navigation starts where the user last clicked: at the top of the page.
  await page.evaluate(() => {
    (document.activeElement as HTMLElement | null)?.blur();
    window.scrollTo(0, 0);
  });
  await page.mouse.click(1, 1);
  const seen: string[] = [];
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    const id = await page.evaluate(() => {
      const el = document.activeElement;
      return el?.id || el?.tagName.toLowerCase() || '';
    });
    seen.push(id);
    if (id === last) break;
  }
  return seen;
}

test('the dashboard shows attributed calls and charts, with a visitor’s UTM values as plain text', async ({
  page,
  request,
}, testInfo) => {
  test.setTimeout(90_000);
  const site = await makeSite(request, `Dental ${TAG}`, VISITS.length, 'America/New_York');
  const numbers: string[] = [];
  for (const visit of VISITS) {
    const answer = await site.visit(page, visit.utm);
    expect(answer.swaps[0]?.via, 'a pool number leased to the visit').toBe('pool');
    numbers.push(answer.swaps[0]?.number?.e164 ?? '');
  }
  const sids = await Promise.all(VISITS.map((visit, i) => ring(numbers[i] as string, visit)));

  const listed = await request.get(`${SERVICE_URL}/v1/calls?limit=500`, { headers: auth });
  const all = (await listed.json()).calls as Array<Record<string, unknown>>;
  const calls = sids.map((sid) => all.find((c) => c.provider_call_id === sid));
  for (const [i, call] of calls.entries()) {
    expect(call, `call ${sids[i]} is recorded`).toBeDefined();
    expect(call?.campaign, 'the call is attributed to its visit').toBe(VISITS[i]?.utm.utm_campaign);
  }

  const violations = watchPolicy(page);
  await page.goto(`${SERVICE_URL}/app`);
  await page.getByLabel('API key').fill(ADMIN_API_KEY);
  await page.getByRole('button', { name: 'Sign in' }).click();

  // The account's first site is shown first; this test's is picked from the list.
  await expect(page.locator('#site')).toBeFocused();
  await expect(page.locator('#site option:checked')).toHaveText('Demo site');
  await expect(page.locator('#chart-pool-0-summary')).toContainText('Demo pool, 20 numbers');
  await page.locator('#site').selectOption({ label: site.name });
  // The last 30 days on the site's clock.
  const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'America/New_York' }).format(new Date());
  await expect(page.locator('#to')).toHaveValue(today);
  const from = new Date(`${today}T00:00:00Z`);
  from.setUTCDate(from.getUTCDate() - 29);
  await expect(page.locator('#from')).toHaveValue(from.toISOString().slice(0, 10));
  await expect(page.locator('#zone-note')).toContainText('America/New_York');

  // The calls, each with its visit's attribution and the reason.
  for (const [i, call] of calls.entries()) {
    const visit = VISITS[i] as Visit;
    const row = page.locator(`#calls-body tr[data-call-id="${call?.id}"]`);
    const cell = (column: number) => row.locator(`td:nth-child(${column})`);
    await expect(row).toBeVisible();
    await expect(cell(COLUMN.source)).toHaveText(visit.utm.utm_source as string);
    await expect(cell(COLUMN.medium)).toHaveText(visit.utm.utm_medium as string);
    await expect(cell(COLUMN.campaign)).toHaveText(visit.utm.utm_campaign as string);
    await expect(cell(COLUMN.keyword)).toHaveText(visit.utm.utm_term ?? '—');
    await expect(cell(COLUMN.caller)).toHaveText(visit.caller);
    await expect(cell(COLUMN.number)).toHaveText(numbers[i] as string);
    await expect(cell(COLUMN.duration)).toHaveText(
      `${Math.floor(visit.duration / 60)}:${String(visit.duration % 60).padStart(2, '0')}`,
    );
    await expect(cell(COLUMN.status)).toHaveText('completed');
    await expect(cell(COLUMN.qualified)).toHaveText(visit.duration >= 60 ? 'yes' : 'no');
    await expect(cell(COLUMN.confidence)).toHaveText(call?.confidence as string);
    await expect(cell(COLUMN.reason)).toHaveText(call?.reason as string);
    expect(call?.reason).toBeTruthy();
    const landing = cell(COLUMN.landing).locator('a');
    expect(call?.landing_url).toBe(`${SERVICE_URL}/landing`);
    await expect(landing).toHaveAttribute('href', `${SERVICE_URL}/landing`);
    await expect(landing).toHaveAttribute('rel', 'noopener noreferrer');
  }

  // The charts: drawn, and told in words.
  for (const id of ['chart-sources', 'chart-qualified', 'chart-pool-0']) {
    const canvas = page.locator(`#${id} canvas`);
    await expect(canvas).toBeVisible();
    const painted = await canvas.evaluate((el: HTMLCanvasElement) => {
      const { data } = (el.getContext('2d') as CanvasRenderingContext2D).getImageData(0, 0, el.width, el.height);
      let n = 0;
      for (let i = 3; i < data.length; i += 4) if ((data[i] as number) > 0) n++;
      return n;
    });
    expect(painted, `${id} has something drawn`).toBeGreaterThan(500);
    await expect(page.locator(`#${id}-summary`)).not.toBeEmpty();
  }
  const sources = page.locator('#chart-sources-summary');
  await expect(sources).toContainText(`${TAG}-google 1`);
  await expect(sources).toContainText(`${XSS_SCRIPT} 1`);
  await expect(page.locator('#chart-sources .u-legend')).toContainText(XSS_SCRIPT);
  await expect(page.locator('#chart-qualified-summary')).toContainText('qualified');
  await expect(page.locator('#chart-pool-0-summary')).toContainText(`${site.poolName}, 3 numbers`);

  // The attack strings stayed text: nothing ran, no element came of them.
  expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
  await expect(page.locator('img')).toHaveCount(0);
  await expect(page.locator('script')).toHaveCount(1);
  await expect(page.locator('[onerror]')).toHaveCount(0);
  await expect(page.getByText(XSS_IMG, { exact: true })).toHaveCount(1);

  await screenshot(page, testInfo, 'dashboard');
  await page.locator('#chart-pool-0 summary').click();
  await screenshot(page, testInfo, 'dashboard-pool-data');

  // The keyboard reaches every control and the table, and shows where it is.
  const order = await tabOrder(page, 'calls-region');
  const at = (id: string) => order.indexOf(id);
  for (const id of ['sign-out', 'site', 'from', 'to', 'calls-region'])
    expect(order, `Tab reaches #${id}`).toContain(id);
  expect(at('site')).toBeLessThan(at('from'));
  expect(at('from')).toBeLessThan(at('to'));
  expect(at('to')).toBeLessThan(at('calls-region'));
  const outline = await page.locator('#calls-region').evaluate((el) => getComputedStyle(el).outlineStyle);
  expect(outline).not.toBe('none');

  expect(violations).toEqual([]);
});

test('the dashboard is a strict page: a wrong key is refused, a refused key signs out, sign-out forgets it', async ({
  page,
}, testInfo) => {
  const violations = watchPolicy(page);
  const response = await page.goto(`${SERVICE_URL}/app`);
  const headers = response?.headers() ?? {};
  expect(headers['content-security-policy']).toContain("script-src 'self'");
  expect(headers['content-security-policy']).toContain("style-src 'self'");
  expect(headers['content-security-policy']).toContain("frame-ancestors 'none'");
  expect(headers['content-security-policy']).not.toContain('unsafe');
  expect(headers['x-content-type-options']).toBe('nosniff');

  // Tab from the top: the key field first.
  expect(await tabOrder(page, 'api-key', 1)).toEqual(['api-key']);
  await page.keyboard.type('not-a-key');
  await page.keyboard.press('Enter');
  await expect(page.locator('#sign-in-error')).toHaveText('That API key was not accepted. Check it and try again.');
  await expect(page.locator('#dashboard')).toBeHidden();
  expect(await page.evaluate(() => sessionStorage.getItem('ringpool.apiKey'))).toBeNull();
  await screenshot(page, testInfo, 'sign-in-refused');

  await page.locator('#api-key').fill(ADMIN_API_KEY);
  await page.keyboard.press('Enter');
  await expect(page.locator('#dashboard')).toBeVisible();
  expect(await page.evaluate(() => sessionStorage.getItem('ringpool.apiKey'))).toBe(ADMIN_API_KEY);
  // A reload keeps the tab signed in.
  await page.reload();
  await expect(page.locator('#dashboard')).toBeVisible();

  // A key the API stops accepting (revoked, say) sends the user back to sign-in.
  await page.evaluate(() => sessionStorage.setItem('ringpool.apiKey', 'revoked-key'));
  await page.reload();
  await expect(page.locator('#sign-in-error')).toContainText('(401)');
  await expect(page.locator('#dashboard')).toBeHidden();
  expect(await page.evaluate(() => sessionStorage.getItem('ringpool.apiKey'))).toBeNull();

  await page.locator('#api-key').fill(ADMIN_API_KEY);
  await page.keyboard.press('Enter');
  await expect(page.locator('#sign-out')).toBeVisible();
  await page.locator('#sign-out').click();
  await expect(page.locator('#sign-in')).toBeVisible();
  await expect(page.locator('#api-key')).toBeFocused();
  expect(await page.evaluate(() => sessionStorage.getItem('ringpool.apiKey'))).toBeNull();

  // A range the reports refuse is said, not sent.
  await page.locator('#api-key').fill(ADMIN_API_KEY);
  await page.keyboard.press('Enter');
  await expect(page.locator('#dashboard')).toBeVisible();
  await page.locator('#from').fill('2026-03-10');
  await page.locator('#to').fill('2026-03-01');
  await page.getByRole('button', { name: 'Show' }).click();
  await expect(page.locator('#error')).toHaveText('The end date must be on or after the start date.');

  expect(violations).toEqual([]);
});

test('a one-number pool: its exhaustions are marked on the utilization chart, its calls listed a page at a time', async ({
  page,
  request,
}, testInfo) => {
  // A pool of one number: the second visit finds none free.
  const site = await makeSite(request, `Small ${TAG}`, 1, 'Europe/London');
  expect((await site.visit(page, { utm_source: TAG })).swaps[0]?.via).toBe('pool');
  expect((await site.visit(page, { utm_source: TAG })).swaps[0]?.via, 'the pool is exhausted').not.toBe('pool');

  // More calls than a page of the table (50), reported the generic way a PBX would.
  const called = await Promise.all(
    Array.from({ length: 51 }, (_, i) =>
      request.post(`${SERVICE_URL}/v1/calls`, {
        headers: auth,
        data: { tracking_number: site.numbers[0], provider: 'pbx-e2e', provider_call_id: `${TAG}-${i}` },
      }),
    ),
  );
  expect(called.map((r) => r.status())).toEqual(Array(51).fill(201));

  await page.goto(`${SERVICE_URL}/app`);
  await page.getByLabel('API key').fill(ADMIN_API_KEY);
  await page.keyboard.press('Enter');
  await expect(page.locator('#chart-pool-0')).toBeVisible();
  await page.locator('#site').selectOption({ label: site.name });
  await expect(page.locator('#zone-note')).toContainText('Europe/London');
  const summary = page.locator('#chart-pool-0-summary');
  await expect(summary).toContainText(`${site.poolName}, 1 number,`);
  await expect(summary).toContainText('per day');
  await expect(summary).toContainText(/[1-9]\d* exhaustions? \(visits that found no free number\)/);

  // The calls come a page at a time; the last page takes the button away and leaves focus in the table.
  await expect(page.locator('#status')).toHaveText('Showing 50 calls (more to load).');
  await expect(page.locator('#calls-body tr')).toHaveCount(50);
  await page.locator('#more').focus();
  await page.keyboard.press('Enter');
  await expect(page.locator('#status')).toHaveText('Showing 51 calls.');
  await expect(page.locator('#calls-body tr')).toHaveCount(51);
  await expect(page.locator('#more')).toBeHidden();
  await expect(page.locator('#calls-region')).toBeFocused();

  // One day: per hour, the exhaustion marked in red on the pool-size line.
  const today = await page.locator('#to').inputValue();
  await page.locator('#from').fill(today);
  await page.getByRole('button', { name: 'Show' }).click();
  await expect(summary).toContainText('per hour');
  await expect(summary).toContainText(`${today}T`);
  const red = await page.locator('#chart-pool-0 canvas').evaluate((el: HTMLCanvasElement) => {
    const { data } = (el.getContext('2d') as CanvasRenderingContext2D).getImageData(0, 0, el.width, el.height);
    let n = 0;
    for (let i = 0; i < data.length; i += 4) {
      if ((data[i] as number) > 200 && (data[i + 1] as number) < 80 && (data[i + 2] as number) < 80) n++;
    }
    return n;
  });
  expect(red, 'red exhaustion markers drawn').toBeGreaterThan(20);
  await page.locator('#chart-pool-0 summary').click();
  await expect(page.locator('#chart-pool-0 table.data')).toContainText(`${today}T`);
  await screenshot(page, testInfo, 'dashboard-exhaustion');
});
