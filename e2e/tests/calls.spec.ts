import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, type SessionAnswer, test } from '../support/fixtures.ts';
import { ADMIN_API_KEY, DEMO_POOL, E2E_STATE_ROOT, SERVICE_URL, SESSIONS_PATH } from '../support/service.ts';

const run = promisify(execFile);

test('a simulated call to the number the demo page shows is attributed to that browser’s visit', async ({
  page,
  request,
}) => {
  const sessionAnswer = page.waitForResponse((r) => r.url().endsWith(SESSIONS_PATH) && r.status() === 200);
  await page.goto(`${SERVICE_URL}/demo?utm_source=google&utm_medium=cpc&utm_campaign=e2e-spring&gclid=E2E-GCLID-1`);
  const session = (await (await sessionAnswer).json()) as SessionAnswer;
  await expect(page.locator('#status')).toContainText('Swapped');

  // What a visitor would dial: the number the page now shows.
  const shown = (await page.locator('#header-phone').getAttribute('href'))?.replace('tel:', '') ?? '';
  expect(DEMO_POOL).toContain(shown);
  const printed = (await page.locator('#header-phone').textContent()) ?? '';

  const { stdout } = await run(
    process.execPath,
    ['--import', 'tsx', 'packages/attribution-api/src/calls/simulate-cli.ts', printed, '--duration', '75'],
    { cwd: join(import.meta.dirname, '..', '..'), env: { ...process.env, STATE_DIR: join(E2E_STATE_ROOT, 'state') } },
  );
  expect(stdout).toContain(`to ${shown}: forwarded to +12015550100`);

  const listed = await request.get(`${SERVICE_URL}/v1/calls?limit=100`, {
    headers: { authorization: `Bearer ${ADMIN_API_KEY}` },
  });
  expect(listed.status()).toBe(200);
  const calls = (await listed.json()).calls as Array<Record<string, unknown>>;
  const call = calls.find((c) => c.tracking_number === shown && c.session_id === session.session);
  expect(call, `a call to ${shown} attributed to session ${session.session}`).toBeDefined();
  expect(call).toMatchObject({
    confidence: 'high',
    source: 'google',
    medium: 'cpc',
    campaign: 'e2e-spring',
    status: 'completed',
    duration_s: 75,
    qualified: true,
  });

  const detail = await request.get(`${SERVICE_URL}/v1/calls/${call?.id}`, {
    headers: { authorization: `Bearer ${ADMIN_API_KEY}` },
  });
  const body = await detail.json();
  expect(body.visit).toMatchObject({ id: session.session, gclid: 'E2E-GCLID-1', landing_url: `${SERVICE_URL}/demo` });
});
