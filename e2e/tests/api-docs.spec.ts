import { expect, test } from '../support/fixtures.ts';

const SESSIONS_ROUTE = '/v1/public/sites/{siteKey}/sessions';

test('the API reference renders in the browser', async ({ page }) => {
  await page.goto('/docs');
  await expect(page.getByRole('heading', { name: /Ringpool API/ })).toBeVisible();
  // Swagger UI puts zero-width spaces after the slashes of a path so that it can wrap.
  const shown = new RegExp(`^${SESSIONS_ROUTE.replace(/[{}]/g, '\\$&').replaceAll('/', '\\u200b?/')}$`);
  await expect(page.getByText(shown)).toBeVisible();
});

test('the API reference is an OpenAPI 3 document', async ({ request }) => {
  const response = await request.get('/docs/json');
  expect(response.status()).toBe(200);
  const document = await response.json();
  expect(document.openapi).toMatch(/^3\./);
  expect(document.info.title).toBe('Ringpool API');
  expect(document.paths[SESSIONS_ROUTE]).toHaveProperty('post');
});
