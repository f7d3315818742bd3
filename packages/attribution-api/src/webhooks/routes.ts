import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import { badRequest, conflict, notFound } from '../errors.ts';
import { errors, NullableString, Timestamp, Uuid } from '../schemas.ts';
import { randomToken } from '../secrets.ts';
import { deliveryRoutes, EventType } from './delivery-routes.ts';
import {
  countEndpoints,
  deleteEndpoint,
  getEndpoint,
  insertEndpoint,
  listEndpoints,
  rotateSecret,
  updateEndpoint,
} from './repository.ts';
import { WEBHOOK_EVENT_TYPES } from './tables.ts';
import { checkEndpointUrl, MAX_URL_LENGTH } from './url-policy.ts';
import { WebhookWorker, type WorkerOptions } from './worker.ts';

export const MAX_ENDPOINTS_PER_ACCOUNT = 20;
const DAY_S = 24 * 60 * 60;

const Endpoint = Type.Object({
  id: Uuid,
  url: Type.String(),
  description: NullableString,
  events: Type.Array(EventType),
  enabled: Type.Boolean(),
  previous_secret_expires_at: Type.Union([Timestamp, Type.Null()], {
    description: 'After a rotation, until when the previous secret also signs each delivery',
  }),
  created_at: Timestamp,
  updated_at: Timestamp,
});

const EndpointWithSecret = Type.Object({
  ...Endpoint.properties,
  secret: Type.String({
    description: 'The signing secret. Shown this once (at creation and at each rotation), never again.',
  }),
});

const Url = Type.String({
  minLength: 1,
  maxLength: MAX_URL_LENGTH,
  description:
    'https (http only to localhost, 127.0.0.1 or [::1]); no credentials; no private, link-local or reserved address',
});
const Events = Type.Array(EventType, { minItems: 1, maxItems: WEBHOOK_EVENT_TYPES.length, uniqueItems: true });
const Description = Type.Union([Type.String({ maxLength: 500 }), Type.Null()]);

const NewEndpoint = Type.Object(
  {
    url: Url,
    events: Events,
    enabled: Type.Optional(Type.Boolean({ default: true })),
    description: Type.Optional(Description),
  },
  { additionalProperties: false },
);

const EndpointPatch = Type.Object(
  {
    url: Type.Optional(Url),
    events: Type.Optional(Events),
    enabled: Type.Optional(Type.Boolean({ description: 'A disabled endpoint gets no new events; its queue waits' })),
    description: Type.Optional(Description),
  },
  { additionalProperties: false, minProperties: 1 },
);

const Rotation = Type.Object(
  {
    previous_secret_expires_in_s: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 7 * DAY_S,
        description: 'How long the old secret keeps signing beside the new one (default one day; 0: stop now)',
      }),
    ),
  },
  { additionalProperties: false },
);

function checkedUrl(url: string): string {
  const verdict = checkEndpointUrl(url);
  if (!verdict.ok) throw badRequest(`url ${verdict.reason}`, [{ field: 'body/url', message: verdict.reason }]);
  return verdict.url;
}

// 32 random bytes: the key is only ever compared through an HMAC, so its length is its whole strength.
const newSecret = () => `whsec_${randomToken(32)}`;

/**
 * Outbound webhooks: endpoints, the delivery log and replay, and the worker that sends the queue,
 * started when the service is ready and stopped when it closes.
 */
export const webhookRoutes: FastifyPluginAsyncTypebox<Partial<Omit<WorkerOptions, 'clock'>>> = async (app, options) => {
  const tags = ['webhooks'];
  const worker = new WebhookWorker(app.db, { ...options, clock: () => app.clock(), log: app.log });
  app.addHook('onReady', async () => worker.start());
  app.addHook('onClose', async () => worker.stop());

  app.post(
    '/webhook-endpoints',
    {
      schema: {
        tags,
        summary: 'Add an endpoint: the answer carries its signing secret, shown this once',
        body: NewEndpoint,
        response: { 201: EndpointWithSecret, ...errors(400, 401, 409) },
      },
    },
    async (request, reply) => {
      const accountId = request.principal.accountId;
      const body = request.body;
      const url = checkedUrl(body.url);
      if ((await countEndpoints(app.db, accountId)) >= MAX_ENDPOINTS_PER_ACCOUNT) {
        throw conflict(`An account has at most ${MAX_ENDPOINTS_PER_ACCOUNT} webhook endpoints`);
      }
      const secret = newSecret();
      const now = app.clock();
      const row = await insertEndpoint(app.db, {
        account_id: accountId,
        url,
        description: body.description ?? null,
        events: body.events,
        enabled: body.enabled ?? true,
        secret,
        created_at: now,
        updated_at: now,
      });
      return reply.code(201).send({ ...row, secret });
    },
  );

  app.get(
    '/webhook-endpoints',
    {
      schema: {
        tags,
        summary: 'The account’s endpoints (secrets are never shown again)',
        response: { 200: Type.Object({ webhook_endpoints: Type.Array(Endpoint) }), ...errors(401) },
      },
    },
    async (request) => ({ webhook_endpoints: await listEndpoints(app.db, request.principal.accountId) }),
  );

  app.get(
    '/webhook-endpoints/:id',
    {
      schema: {
        tags,
        summary: 'One endpoint',
        params: Type.Object({ id: Uuid }),
        response: { 200: Endpoint, ...errors(400, 401, 404) },
      },
    },
    async (request) => {
      const row = await getEndpoint(app.db, request.principal.accountId, request.params.id);
      if (!row) throw notFound('Webhook endpoint');
      return row;
    },
  );

  app.patch(
    '/webhook-endpoints/:id',
    {
      schema: {
        tags,
        summary: 'Change an endpoint’s URL, events, description, or enable/disable it',
        params: Type.Object({ id: Uuid }),
        body: EndpointPatch,
        response: { 200: Endpoint, ...errors(400, 401, 404) },
      },
    },
    async (request) => {
      const body = request.body;
      const row = await updateEndpoint(
        app.db,
        request.principal.accountId,
        request.params.id,
        {
          ...(body.url !== undefined ? { url: checkedUrl(body.url) } : {}),
          ...(body.events !== undefined ? { events: body.events } : {}),
          ...(body.enabled !== undefined ? { enabled: body.enabled } : {}),
          ...(body.description !== undefined ? { description: body.description } : {}),
        },
        app.clock(),
      );
      if (!row) throw notFound('Webhook endpoint');
      return row;
    },
  );

  app.delete(
    '/webhook-endpoints/:id',
    {
      schema: {
        tags,
        summary: 'Remove an endpoint, with its queue and delivery log',
        params: Type.Object({ id: Uuid }),
        response: { 204: Type.Null(), ...errors(400, 401, 404) },
      },
    },
    async (request, reply) => {
      if (!(await deleteEndpoint(app.db, request.principal.accountId, request.params.id))) {
        throw notFound('Webhook endpoint');
      }
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/webhook-endpoints/:id/rotate-secret',
    {
      schema: {
        tags,
        summary: 'A new signing secret, shown this once; the old one signs too for a while (default one day)',
        params: Type.Object({ id: Uuid }),
        body: Rotation,
        response: { 200: EndpointWithSecret, ...errors(400, 401, 404) },
      },
      // A bare POST (no body) takes the defaults.
      preValidation: async (request) => {
        request.body ??= {};
      },
    },
    async (request) => {
      const now = app.clock();
      const overlapS = request.body.previous_secret_expires_in_s ?? DAY_S;
      const secret = newSecret();
      const row = await rotateSecret(
        app.db,
        request.principal.accountId,
        request.params.id,
        secret,
        overlapS > 0 ? new Date(now.getTime() + overlapS * 1000) : null,
        now,
      );
      if (!row) throw notFound('Webhook endpoint');
      return { ...row, secret };
    },
  );

  await app.register(deliveryRoutes);
};
