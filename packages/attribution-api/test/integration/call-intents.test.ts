import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, makeAccount, makeSiteWithPool, SITE_ORIGIN, startSession, TestClock } from '../support/app.ts';
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

const intent = (siteKey: string, session: string, payload: string) =>
  app.inject({
    method: 'POST',
    url: `/v1/public/sites/${siteKey}/sessions/${session}/intents`,
    headers: { origin: SITE_ORIGIN, 'content-type': 'text/plain' },
    payload,
  });

describe('call intents', () => {
  it('records a tap on a swapped tel: link against the session, as E.164', async () => {
    const { auth } = await makeAccount(database.db, 'Intents');
    const { site } = await makeSiteWithPool(app, auth, { size: 2 });
    const visit = (await startSession(app, site.public_key)).body;
    const shown = visit.swaps[0].number.e164;

    const tapped = await intent(site.public_key, visit.session, JSON.stringify({ number: `tel:${shown}` }));
    expect(tapped.statusCode).toBe(204);
    const rows = await database.db.selectFrom('call_intents').selectAll().execute();
    expect(rows).toMatchObject([{ session_id: visit.session, site_id: site.id, tracking_number: shown }]);
    expect(rows[0]?.at.getTime()).toBe(clock.current.getTime());

    // Unknown session, a number that is not one, another site's session: refused, nothing stored.
    const other = await makeSiteWithPool(app, auth, { size: 1, firstNumber: 2015550301 });
    const refused = [
      await intent(site.public_key, '00000000-0000-4000-8000-000000000000', JSON.stringify({ number: `tel:${shown}` })),
      await intent(site.public_key, visit.session, JSON.stringify({ number: 'tel:555' })),
      await intent(other.site.public_key, visit.session, JSON.stringify({ number: `tel:${shown}` })),
    ].map((r) => r.statusCode);
    expect(refused).toEqual([404, 400, 404]);
    expect(await database.db.selectFrom('call_intents').selectAll().execute()).toHaveLength(1);
  });
});
