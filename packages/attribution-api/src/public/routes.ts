import cors from '@fastify/cors';
import rateLimit from '@fastify/rate-limit';
import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { ApiError, notFound } from '../errors.ts';
import { errors, Timestamp, Uuid } from '../schemas.ts';
import { findSiteSession, insertCallIntent } from '../sessions/repository.ts';
import { pingSession, startOrResumeSession } from '../sessions/service.ts';
import type { SiteConfig } from '../sessions/site-cache.ts';
import { InvalidPhoneNumber, toE164 } from '../sites/phone.ts';

export interface PublicOptions {
  sessionRateLimit: number;
  ipSalt: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    siteConfig: SiteConfig;
  }
}

const Phone = Type.Object({
  e164: Type.String(),
  cc: Type.String({ description: 'Country calling code' }),
  nsn: Type.String({ description: 'National significant number (digits)' }),
  national: Type.String(),
  international: Type.String(),
});
const Swap = Type.Object({
  target: Phone,
  number: Type.Union([Phone, Type.Null()], { description: 'null: keep the page’s own number' }),
  via: Type.Union([Type.Literal('pool'), Type.Literal('source'), Type.Literal('none')]),
  rules: Type.Array(
    Type.Object({
      pattern: Type.String({ description: 'RegExp source (flags "g") that finds the target in one or more formats' }),
      replacement: Type.String({ description: 'What the snippet writes for a match: a String#replace replacement' }),
    }),
    {
      description:
        'How the snippet finds the target on a page and writes the number there, in the page’s format where it ' +
        'can (tried in order at each place of a text); empty without a number',
    },
  ),
});
const Url = Type.String({ minLength: 1, maxLength: 2048 });
const PUBLIC_BODY_LIMIT = 8 * 1024;

/**
 * The snippet's endpoints. Only the site's allowed origins get an answer (with CORS headers);
 * bodies may come as text/plain JSON so that browsers send them without a preflight.
 */
export const publicRoutes: FastifyPluginAsyncTypebox<PublicOptions> = async (app, options) => {
  const tags = ['public (snippet)'];
  app.decorateRequest('siteConfig', null as unknown as SiteConfig);

  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('text/plain', { parseAs: 'string', bodyLimit: PUBLIC_BODY_LIMIT }, (_req, body, done) => {
    try {
      done(null, JSON.parse(body as string));
    } catch {
      done(new ApiError(400, 'bad_json', 'The body must be JSON'), undefined);
    }
  });

  // Before @fastify/cors: an unknown site is 404, a foreign origin 403, both without CORS headers.
  app.addHook('onRequest', async (request: FastifyRequest<{ Params: { siteKey?: string; '*'?: string } }>) => {
    // Preflights arrive on @fastify/cors's wildcard route, which has no :siteKey parameter.
    const key = request.params.siteKey ?? /^\/?sites\/([^/]+)/.exec(request.params['*'] ?? '')?.[1] ?? '';
    const config = key.length <= 64 ? await app.siteCache.get(key) : undefined;
    if (!config) throw notFound('Site');
    const origin = request.headers.origin;
    if (!origin || !config.site.allowed_origins.includes(origin)) {
      throw new ApiError(403, 'origin_not_allowed', `Origin ${origin ?? '(none)'} is not allowed for this site`);
    }
    request.siteConfig = config;
  });
  await app.register(cors, {
    delegator: (request, callback) =>
      callback(null, {
        origin: (request as FastifyRequest).siteConfig ? request.headers.origin : false,
        methods: ['POST'],
        maxAge: 600,
      }),
  });
  await app.register(rateLimit, { global: false });

  const context = () => ({ db: app.db, siteCache: app.siteCache, now: app.clock(), ipSalt: options.ipSalt });

  app.post(
    '/sites/:siteKey/sessions',
    {
      bodyLimit: PUBLIC_BODY_LIMIT,
      config: { rateLimit: { max: options.sessionRateLimit, timeWindow: 60_000 } },
      schema: {
        tags,
        summary: 'Start or resume a visit, and get the numbers to show',
        description:
          'The landing URL carries the attribution (utm_*, gclid, gbraid, wbraid, fbclid, msclkid, ttclid). ' +
          'A live session given by id is resumed with the same numbers; otherwise a new session leases a number.',
        params: Type.Object({ siteKey: Type.String({ maxLength: 64 }) }),
        body: Type.Object(
          {
            visitor: Type.Optional(
              Type.String({ pattern: '^[A-Za-z0-9_-]{8,64}$', description: 'First-party visitor id' }),
            ),
            session: Type.Optional(Uuid),
            url: Url,
            referrer: Type.Optional(Type.Union([Type.String({ maxLength: 2048 }), Type.Null()])),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            session: Uuid,
            visitor: Type.String(),
            resumed: Type.Boolean(),
            expires_at: Type.Union([Timestamp, Type.Null()], {
              description: 'When the lease lapses without a sign of life',
            }),
            swaps: Type.Array(Swap),
          }),
          ...errors(400, 403, 404, 413, 415, 429),
        },
      },
    },
    async (request) =>
      startOrResumeSession(context(), request.siteConfig, request.body, {
        ip: request.ip,
        userAgent: request.headers['user-agent'] ?? null,
      }),
  );

  app.post(
    '/sites/:siteKey/sessions/:sessionId/ping',
    {
      bodyLimit: PUBLIC_BODY_LIMIT,
      schema: {
        tags,
        summary: 'A page view or heartbeat: keeps the lease alive (written at most once per 30 s)',
        params: Type.Object({ siteKey: Type.String({ maxLength: 64 }), sessionId: Uuid }),
        body: Type.Object({ url: Type.Optional(Url) }, { additionalProperties: false }),
        response: {
          200: Type.Object({ expires_at: Type.Union([Timestamp, Type.Null()]), swaps: Type.Array(Swap) }),
          ...errors(400, 403, 404, 410, 413, 415),
        },
      },
    },
    async (request) => {
      const result = await pingSession(context(), request.siteConfig, request.params.sessionId, request.body.url);
      if (result === 'unknown') throw notFound('Session');
      if (result === 'ended') throw new ApiError(410, 'session_ended', 'The session has ended; start a new one');
      return result;
    },
  );

  app.post(
    '/sites/:siteKey/sessions/:sessionId/intents',
    {
      bodyLimit: PUBLIC_BODY_LIMIT,
      schema: {
        tags,
        summary: 'A tap on a swapped tel: link: the visitor is about to call this number',
        params: Type.Object({ siteKey: Type.String({ maxLength: 64 }), sessionId: Uuid }),
        body: Type.Object({ number: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false }),
        response: { 204: Type.Null(), ...errors(400, 403, 404, 413, 415) },
      },
    },
    async (request, reply) => {
      const { site } = request.siteConfig;
      const session = await findSiteSession(app.db, site.id, request.params.sessionId);
      if (!session) throw notFound('Session');
      let number: string;
      try {
        number = toE164(request.body.number.replace(/^(tel|sms):/i, ''), site.default_country);
      } catch (err) {
        if (err instanceof InvalidPhoneNumber) throw new ApiError(400, 'bad_request', `number: ${err.message}`);
        throw err;
      }
      await insertCallIntent(app.db, {
        session_id: session.id,
        site_id: site.id,
        tracking_number: number,
        at: app.clock(),
      });
      return reply.code(204).send(null);
    },
  );
};
