import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildTestApp, makeAccount, makeSiteWithPool, startSession, TestClock } from '../support/app.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

let database: TestDatabase;
let app: FastifyInstance;
const clock = new TestClock();
let auth: Record<string, string>;

beforeAll(async () => {
  database = await createTestDatabase();
  app = await buildTestApp(database.db, { clock: clock.now });
  ({ auth } = await makeAccount(database.db, 'Leasing'));
});

afterAll(async () => {
  await app.close();
  await database.close();
});

beforeEach(() => {
  clock.current = new Date('2026-06-01T12:00:00Z');
});

describe('leasing', () => {
  it('leases a pool number and resumes the same one', async () => {
    const { site } = await makeSiteWithPool(app, auth, { size: 3, firstNumber: 2015550101 });
    const first = await startSession(app, site.public_key, {
      url: 'https://www.example-dental.com/?utm_source=google',
    });
    expect(first.status).toBe(200);
    expect(first.body.swaps[0].via).toBe('pool');
    expect(first.body.swaps[0].number.e164).toBe('+12015550101');
    clock.advance(60);
    const again = await startSession(app, site.public_key, {
      session: first.body.session,
      visitor: first.body.visitor,
    });
    expect(again.body.resumed).toBe(true);
    expect(again.body.swaps[0].number.e164).toBe('+12015550101');
    const open = await sql<{ n: string }>`SELECT count(*) AS n FROM leases WHERE released_at IS NULL`.execute(
      database.db,
    );
    expect(Number(open.rows[0]?.n)).toBe(1);
  });
});
