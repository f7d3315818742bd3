import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTENT_SECURITY_POLICY, dashboardRoutes } from '../../../src/dashboard/routes.ts';
import { installErrorHandling } from '../../../src/errors.ts';

const JS = 'console.log("dashboard");'.repeat(40);
const CSS = 'body{margin:0}';

async function appWith(dir: string): Promise<FastifyInstance> {
  const app = Fastify();
  installErrorHandling(app);
  await app.register(dashboardRoutes, { dir });
  return app;
}

describe('/app, the dashboard page', () => {
  let dir: string;
  let app: FastifyInstance;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ringpool-dashboard-'));
    writeFileSync(join(dir, 'dashboard.js'), JS);
    writeFileSync(join(dir, 'dashboard.css'), CSS);
    writeFileSync(join(dir, 'meta.json'), JSON.stringify({ version: 'abc123def456' }));
    app = await appWith(dir);
  });
  afterAll(async () => {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is served with a strict Content-Security-Policy and no inline script or style', async () => {
    const response = await app.inject({ url: '/app' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(response.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    expect(CONTENT_SECURITY_POLICY).toContain("script-src 'self'");
    expect(CONTENT_SECURITY_POLICY).toContain("style-src 'self'");
    expect(CONTENT_SECURITY_POLICY).toContain("frame-ancestors 'none'");
    expect(CONTENT_SECURITY_POLICY).not.toContain('unsafe');
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['x-frame-options']).toBe('DENY');
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.body).toContain('<script defer src="/app/assets/dashboard.abc123def456.js"></script>');
    expect(response.body).toContain('<link rel="stylesheet" href="/app/assets/dashboard.abc123def456.css">');
    // Every <script> has a src, and there is no <style> nor style attribute.
    expect(response.body.match(/<script(?![^>]*\ssrc=)/g)).toBeNull();
    expect(response.body).not.toMatch(/<style|\sstyle=/);
  });

  it('sends its assets by versioned name, cacheable for good, gzipped when the browser takes it', async () => {
    const plain = await app.inject({ url: '/app/assets/dashboard.abc123def456.js' });
    expect(plain.statusCode).toBe(200);
    expect(plain.body).toBe(JS);
    expect(plain.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(plain.headers['x-content-type-options']).toBe('nosniff');
    expect(plain.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(plain.headers['content-encoding']).toBeUndefined();

    const zipped = await app.inject({
      url: '/app/assets/dashboard.abc123def456.js',
      headers: { 'accept-encoding': 'gzip, br' },
    });
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(zipped.headers.vary).toBe('accept-encoding');
    expect(gunzipSync(zipped.rawPayload).toString()).toBe(JS);

    const css = await app.inject({ url: '/app/assets/dashboard.abc123def456.css' });
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
    expect(css.body).toBe(CSS);
  });

  it('answers 404 for any other asset name, including another version', async () => {
    for (const name of ['dashboard.000000000000.js', 'meta.json', '..%2Fmeta.json', 'dashboard.js']) {
      const response = await app.inject({ url: `/app/assets/${name}` });
      expect(response.statusCode, name).toBe(404);
      expect(response.json()).toMatchObject({ error: 'not_found' });
    }
  });

  it('sends /app/ to /app', async () => {
    const response = await app.inject({ url: '/app/' });
    expect(response.statusCode).toBe(301);
    expect(response.headers.location).toBe('/app');
  });

  it('says how to build it when it is not built', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'ringpool-dashboard-empty-'));
    const bare = await appWith(empty);
    try {
      const response = await bare.inject({ url: '/app' });
      expect(response.statusCode).toBe(503);
      expect(response.body).toContain('npm run build');
      expect(response.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
      expect((await bare.inject({ url: '/app/assets/dashboard.abc123def456.js' })).statusCode).toBe(404);
    } finally {
      await bare.close();
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
