import { defineConfig, devices } from '@playwright/test';
import { CHROMIUM_ARGS, findChromium, missingChromium } from './support/chromium.ts';
import { ADMIN_API_KEY, SERVICE_PORT, SERVICE_URL } from './support/service.ts';

const chromium = findChromium();
const ci = Boolean(process.env.CI);
if (!chromium) {
  // CI must run them: a green build without its browser tests would hide a missing install step.
  if (ci) throw new Error(missingChromium('CI is set and there is no Chromium for the end-to-end tests.'));
  // Workers load this file too: warn once, from the runner (and again at the end, from globalTeardown).
  if (process.env.TEST_WORKER_INDEX === undefined) {
    console.warn(missingChromium('END-TO-END TESTS SKIPPED: no Chromium to run them in (CI would fail here).'));
  }
}

export default defineConfig({
  testDir: './tests',
  globalTeardown: './support/global-teardown.ts',
  fullyParallel: true,
  forbidOnly: ci,
  retries: 0,
  workers: 2,
  timeout: 30_000,
  expect: { timeout: 10_000 },
  reporter: [['list'], ['html', { open: 'never' }]],
  use: {
    // Desktop Chrome's user agent, not HeadlessChrome's: the service rightly treats headless browsers as bots.
    ...devices['Desktop Chrome'],
    baseURL: SERVICE_URL,
    headless: true,
    launchOptions: {
      ...(chromium ? { executablePath: chromium } : {}),
      args: CHROMIUM_ARGS,
    },
    // A trace costs seconds per test; keep one for a developer to open, not in CI's log-only runs.
    trace: ci ? 'off' : 'retain-on-failure',
  },
  // The tests skip themselves without a Chromium (see support/fixtures.ts), so no service is needed then.
  webServer: chromium
    ? {
        // One process, no tsx CLI in front: under load its signal relay SIGKILLs a service that is slow to
        // acknowledge SIGTERM, which skips the graceful shutdown and leaves the temporary database behind.
        command: 'node --import tsx e2e/serve.ts',
        cwd: '..',
        url: `${SERVICE_URL}/readyz`,
        reuseExistingServer: false,
        timeout: 60_000,
        gracefulShutdown: { signal: 'SIGTERM', timeout: 10_000 },
        stdout: 'ignore',
        stderr: 'pipe',
        env: {
          PORT: String(SERVICE_PORT),
          HOST: '127.0.0.1',
          ADMIN_API_KEY,
          LOG_LEVEL: 'warn',
          // Whatever the shell has: the tests need the embedded database that serve.ts makes empty.
          DATABASE_URL: '',
          PUBLIC_BASE_URL: '',
          TRUST_PROXY: '',
          SESSION_RATE_LIMIT: '',
        },
      }
    : undefined,
});
