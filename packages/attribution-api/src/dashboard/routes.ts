import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { notFound } from '../errors.ts';
import { dashboardPage } from './page.ts';

// /app: the dashboard, a public static page; its data comes from the admin API with the user's key.
// Its assets are built by `npm run build` (build.ts) and served from memory, gzipped when accepted.

export const DASHBOARD_DIST = fileURLToPath(new URL('../../dist/dashboard/', import.meta.url));

/** No inline script or style, nothing from elsewhere, no framing, no form posting the key anywhere. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

interface Asset {
  type: string;
  body: Buffer;
  gzip: Buffer;
}

export interface DashboardOptions {
  /** Where build.ts wrote the assets (default: packages/attribution-api/dist/dashboard). */
  dir?: string;
}

/** The built assets by URL path, or undefined when the dashboard has not been built. */
export function readDashboard(dir: string): { version: string; assets: Map<string, Asset> } | undefined {
  try {
    const { version } = JSON.parse(readFileSync(`${dir}meta.json`, 'utf8')) as { version: string };
    const assets = new Map<string, Asset>();
    for (const [ext, type] of [
      ['js', 'text/javascript; charset=utf-8'],
      ['css', 'text/css; charset=utf-8'],
    ] as const) {
      const body = readFileSync(`${dir}dashboard.${ext}`);
      assets.set(`dashboard.${version}.${ext}`, { type, body, gzip: gzipSync(body, { level: 9 }) });
    }
    return { version, assets };
  } catch {
    return undefined;
  }
}

function secure(reply: FastifyReply): FastifyReply {
  return reply
    .header('content-security-policy', CONTENT_SECURITY_POLICY)
    .header('x-content-type-options', 'nosniff')
    .header('x-frame-options', 'DENY')
    .header('referrer-policy', 'no-referrer')
    .header('cross-origin-opener-policy', 'same-origin');
}

export const dashboardRoutes: FastifyPluginAsync<DashboardOptions> = async (app, options) => {
  const dir = options.dir ?? DASHBOARD_DIST;
  const built = readDashboard(dir.endsWith('/') ? dir : `${dir}/`);
  if (!built) app.log.warn('the dashboard is not built: run `npm run build`; /app answers 503');
  const page =
    built &&
    dashboardPage({
      js: `/app/assets/dashboard.${built.version}.js`,
      css: `/app/assets/dashboard.${built.version}.css`,
    });

  app.get('/app', { schema: { hide: true } }, async (_request, reply) => {
    secure(reply).header('cache-control', 'no-store');
    if (!page) {
      return reply.code(503).type('text/plain; charset=utf-8').send('The dashboard is not built: run `npm run build`.');
    }
    return reply.type('text/html; charset=utf-8').send(page);
  });
  app.get('/app/', { schema: { hide: true } }, async (_request, reply) => reply.redirect('/app', 301));

  app.get<{ Params: { file: string } }>('/app/assets/:file', { schema: { hide: true } }, async (request, reply) => {
    const asset = built?.assets.get(request.params.file);
    if (!asset) throw notFound('Asset');
    // The version is in the name: a new build is a new URL, so this one never changes.
    secure(reply)
      .type(asset.type)
      .header('cache-control', 'public, max-age=31536000, immutable')
      .header('vary', 'accept-encoding');
    if (/\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''))) {
      return reply.header('content-encoding', 'gzip').send(asset.gzip);
    }
    return reply.send(asset.body);
  });
};
