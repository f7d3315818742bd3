import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type APIRequestContext, test as base, expect, type Page } from '@playwright/test';
import { findChromium } from './chromium.ts';
import { ADMIN_API_KEY, DEMO_SITE_KEY, SERVICE_URL, SESSIONS_PATH } from './service.ts';

/** The page of `foreignOrigin` that carries the snippet's tag for the demo site, with its business number. */
export const FOREIGN_SNIPPET_PATH = '/with-snippet';

/** What POST /v1/public/sites/:siteKey/sessions answers. */
export interface Phone {
  e164: string;
  national: string;
  international: string;
}
export interface SessionAnswer {
  session: string;
  visitor: string;
  resumed: boolean;
  expires_at: string | null;
  swaps: {
    target: Phone;
    number: Phone | null;
    via: 'pool' | 'source' | 'none';
    rules: { pattern: string; replacement: string }[];
  }[];
}
export type FetchOutcome =
  | { ok: true; status: number; body: SessionAnswer }
  | { ok: false; status: number; body: unknown }
  | { ok: false; error: { name: string; message: string } };

interface Fixtures {
  skipWithoutChromium: undefined;
  /** The origin of pages served by a second local server, which no site allows (see FOREIGN_SNIPPET_PATH). */
  foreignOrigin: string;
}

export const test = base.extend<Fixtures>({
  skipWithoutChromium: [
    // biome-ignore lint/correctness/noEmptyPattern: Playwright reads the fixture's dependencies from this pattern.
    async ({}, use, testInfo) => {
      testInfo.skip(!findChromium(), 'no Chromium: see the warning printed at the start of the run');
      await use(undefined);
    },
    { auto: true },
  ],

  // Every page a test opens must run without an uncaught error.
  context: async ({ context }, use) => {
    const errors: string[] = [];
    context.on('page', (page) => page.on('pageerror', (error) => errors.push(`${page.url()}: ${error.stack}`)));
    await use(context);
    expect(errors, 'uncaught errors in the pages').toEqual([]);
  },

  // biome-ignore lint/correctness/noEmptyPattern: Playwright reads the fixture's dependencies from this pattern.
  foreignOrigin: async ({}, use) => {
    // Served for real, not routed: Chromium lets a page reach the loopback service only from a loopback address.
    const server = createServer((request, response) => {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      response.end(
        request.url === FOREIGN_SNIPPET_PATH
          ? '<!doctype html><html lang="en"><head><title>Elsewhere, with the tag</title></head><body>' +
              '<p>Call us: <span id="n">(201) 555-0100</span></p><a id="call" href="tel:+12015550100">(201) 555-0100</a>' +
              `<script src="${SERVICE_URL}/v1/snippet.js" data-site="${DEMO_SITE_KEY}"></script></body></html>`
          : '<!doctype html><html lang="en"><head><title>Elsewhere</title></head><body><h1>Elsewhere</h1></body></html>',
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      await use(`http://127.0.0.1:${port}`);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  },
});

export { expect };

/**
 * Starts (or resumes) a session the way the snippet does: `fetch` from the page itself, so the
 * browser applies its own CORS rules. A fetch the browser blocks comes back as its error.
 */
export async function startSessionFromPage(
  page: Page,
  apiOrigin: string,
  body: Record<string, unknown>,
  contentType = 'text/plain',
): Promise<FetchOutcome> {
  return page.evaluate(
    async ({ url, body, contentType }) => {
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': contentType },
          body: JSON.stringify(body),
        });
        return { ok: response.ok, status: response.status, body: await response.json() };
      } catch (error) {
        const { name, message } = error as Error;
        return { ok: false, error: { name, message } };
      }
    },
    { url: `${apiOrigin}${SESSIONS_PATH}`, body, contentType },
  ) as Promise<FetchOutcome>;
}

/** The service's own record of a session, read through the admin API. */
export async function sessionRecord(
  request: APIRequestContext,
  sessionId: string,
): Promise<{
  is_bot: boolean;
  device_type: string;
  browser: string | null;
  utm_source: string | null;
  gclid: string | null;
  landing_url: string;
  leases: { e164: string; state: string }[];
}> {
  const response = await request.get(`${SERVICE_URL}/v1/sessions/${sessionId}`, {
    headers: { authorization: `Bearer ${ADMIN_API_KEY}` },
  });
  expect(response.status()).toBe(200);
  return response.json();
}
