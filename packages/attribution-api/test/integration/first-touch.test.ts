import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildTestApp,
  call,
  makeAccount,
  makeSiteWithPool,
  SITE_ORIGIN,
  startSession,
  TestClock,
} from '../support/app.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

let database: TestDatabase;
let app: FastifyInstance;
const clock = new TestClock();

beforeAll(async () => {
  database = await createTestDatabase();
  app = await buildTestApp(database.db, { clock: clock.now });
});

afterAll(async () => {
  await app.close();
  await database.close();
});

describe("a visitor's first touch", () => {
  it('stands for 30 days; a visitor back after that starts over with that visit', async () => {
    const { auth } = await makeAccount(database.db, 'First touch');
    const { site } = await makeSiteWithPool(app, auth, { size: 3 });
    const visit = (campaign: string) =>
      startSession(app, site.public_key, {
        visitor: 'visitor-first-touch',
        url: `${SITE_ORIGIN}/?utm_source=google&utm_medium=cpc&utm_campaign=${campaign}`,
      });
    const firstTouch = async (sessionId: string) =>
      (await call(app, auth, { method: 'GET', url: `/v1/sessions/${sessionId}` })).body.first_touch;

    const first = await visit('autumn');
    expect(first.status).toBe(200);
    clock.advance(29 * 86_400);
    const within = await visit('winter');
    expect(await firstTouch(within.body.session)).toMatchObject({ utm_campaign: 'autumn' });

    clock.advance(2 * 86_400);
    const after = await visit('spring');
    expect(after.body.visitor).toBe('visitor-first-touch');
    expect(await firstTouch(after.body.session)).toMatchObject({
      utm_campaign: 'spring',
      first_seen_at: clock.now().toISOString(),
    });
  });
});
