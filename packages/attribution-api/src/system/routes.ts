import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import { isReachable } from '../db/database.ts';

export const systemRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const tags = ['system'];
  const Status = Type.Object({ status: Type.String() });

  app.get('/healthz', { schema: { tags, summary: 'The process is up', response: { 200: Status } } }, async () => ({
    status: 'ok',
  }));

  app.get(
    '/readyz',
    { schema: { tags, summary: 'The database answers', response: { 200: Status, 503: Status } } },
    async (_request, reply) =>
      (await isReachable(app.db)) ? { status: 'ready' } : reply.code(503).send({ status: 'database unreachable' }),
  );

  // Browsers ask for it on every page; an empty answer keeps their consoles free of 404s.
  app.get('/favicon.ico', { schema: { hide: true } }, async (_request, reply) => reply.code(204).send());

  app.get('/', { schema: { hide: true } }, async (_request, reply) =>
    reply.type('text/html; charset=utf-8').send(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Ringpool</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}</style></head>
<body><h1>Ringpool</h1>
<p>Call tracking with dynamic number insertion. This service is running.</p>
<ul>
<li><a href="/demo">Demo page: watch the business number being swapped</a></li>
<li><a href="/docs">API reference (OpenAPI)</a></li>
<li><a href="/readyz">Readiness</a></li>
</ul>
<p>The demo site's key is <code>demo</code>. Admin routes need the API key printed when the service first started.</p>
</body></html>`),
  );
};
