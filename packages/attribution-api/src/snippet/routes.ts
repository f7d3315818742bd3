import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import { ApiError } from '../errors.ts';

interface Built {
  code: string;
  version: string;
  integrity: string;
}

const DIST = fileURLToPath(new URL('../../../snippet/dist/', import.meta.url));

/** The built snippet (npm run build), or undefined when it has not been built. */
export function readSnippet(): Built | undefined {
  try {
    const meta = JSON.parse(readFileSync(`${DIST}meta.json`, 'utf8'));
    return { code: readFileSync(`${DIST}ringpool.js`, 'utf8'), version: meta.version, integrity: meta.integrity };
  } catch {
    return undefined;
  }
}

/**
 * /v1/snippet.js: the current snippet, revalidated by ETag after a few minutes.
 * /v1/snippet.<version>.js: the same bytes, cacheable forever, for a tag with an integrity hash.
 */
export const snippetRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const built = readSnippet();
  if (!built) app.log.warn('the snippet is not built: run `npm run build`; /v1/snippet.js answers 503');
  const schema = { tags: ['snippet'], response: { 200: Type.String(), 304: Type.Null(), 404: Type.Ref('Error') } };

  const send =
    (immutable: boolean) =>
    async (request: { headers: Record<string, unknown> }, reply: import('fastify').FastifyReply) => {
      if (!built) throw new ApiError(503, 'snippet_not_built', 'The snippet has not been built (npm run build)');
      const etag = `"${built.version}"`;
      reply
        .header('content-type', 'text/javascript; charset=utf-8')
        .header('etag', etag)
        .header('access-control-allow-origin', '*')
        .header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'public, max-age=300');
      if (request.headers['if-none-match'] === etag) return reply.code(304).send();
      return reply.send(built.code);
    };

  app.get('/v1/snippet.js', { schema: { ...schema, summary: 'The DNI snippet (latest)' } }, send(false));
  app.get(
    '/v1/snippet.:version.js',
    {
      schema: {
        ...schema,
        summary: 'The DNI snippet at one version, immutable (use with its integrity hash)',
        params: Type.Object({ version: Type.String({ pattern: '^[0-9a-f]{12}$' }) }),
      },
    },
    async (request, reply) => {
      if (!built || request.params.version !== built.version) {
        throw new ApiError(404, 'not_found', 'No snippet at that version; /v1/snippet.js is the current one');
      }
      return send(true)(request, reply);
    },
  );
};
