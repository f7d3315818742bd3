import { defineConfig } from 'vitest/config';

const integration = 'packages/*/test/integration/**/*.test.ts';
const postgresUrl = process.env.TEST_DATABASE_URL;

if (!postgresUrl) {
  console.warn('\n  TEST_DATABASE_URL is not set: integration tests run on PGlite only, not on PostgreSQL.\n');
}

export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['packages/*/test/unit/**/*.test.ts'] } },
      { test: { name: 'snippet', include: ['packages/snippet/test/**/*.test.ts'] } },
      {
        test: {
          name: 'integration-pglite',
          include: [integration],
          env: { RINGPOOL_TEST_DB: 'pglite' },
          globalSetup: ['packages/attribution-api/test/support/pglite-template.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      ...(postgresUrl
        ? [
            {
              test: {
                name: 'integration-postgres',
                include: [integration],
                env: { RINGPOOL_TEST_DB: 'postgres' },
                testTimeout: 60_000,
                hookTimeout: 60_000,
              },
            },
          ]
        : []),
    ],
  },
});
