import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import { decodeCursor, encodeCursor } from '../cursor.ts';
import { ApiError, notFound } from '../errors.ts';
import { errors, ListQuery, NullableString, NullableTimestamp, Timestamp, Uuid } from '../schemas.ts';
import { getDelivery, getEndpoint, listAttempts, listDeliveries, replayDelivery } from './repository.ts';
import { DELIVERY_STATES, type DeliveryState, WEBHOOK_EVENT_TYPES, type WebhookEventType } from './tables.ts';

export const EventType = Type.Unsafe<WebhookEventType>({ type: 'string', enum: [...WEBHOOK_EVENT_TYPES] });
const State = Type.Unsafe<DeliveryState>({ type: 'string', enum: [...DELIVERY_STATES] });
const NullableInteger = Type.Union([Type.Integer(), Type.Null()]);

const Delivery = Type.Object({
  id: Uuid,
  endpoint_id: Uuid,
  event_id: Type.String({ description: 'The event’s id: the same in every attempt, and the id to deduplicate on' }),
  event_type: EventType,
  state: State,
  attempts: Type.Integer({ description: 'Attempts since it was created or last replayed' }),
  next_attempt_at: Type.Union([Timestamp, Type.Null()], { description: 'While pending: the next attempt' }),
  last_status_code: NullableInteger,
  last_error: NullableString,
  delivered_at: NullableTimestamp,
  created_at: Timestamp,
  updated_at: Timestamp,
});

const Attempt = Type.Object({
  at: Timestamp,
  succeeded: Type.Boolean({ description: 'A 2xx answer within the timeout' }),
  status_code: Type.Union([Type.Integer(), Type.Null()], { description: 'null: no answer (timeout, refused…)' }),
  duration_ms: Type.Integer(),
  error: NullableString,
});

const DeliveryDetail = Type.Object({
  ...Delivery.properties,
  attempt_log: Type.Array(Attempt, { description: 'Every attempt, oldest first, replays included' }),
  payload: Type.Unknown({ description: 'The event exactly as each attempt sends it' }),
});

type DeliveryRow = Awaited<ReturnType<typeof listDeliveries>>[number];

function toDelivery<T extends DeliveryRow>(row: T) {
  return { ...row, next_attempt_at: row.state === 'pending' ? row.next_attempt_at : null };
}

/** The delivery log of the account's endpoints, and replay. */
export const deliveryRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const tags = ['webhooks'];

  app.get(
    '/webhook-deliveries',
    {
      schema: {
        tags,
        summary: 'Deliveries, newest first: one per event and endpoint, with its state and last answer',
        querystring: Type.Object(
          {
            endpoint_id: Type.Optional(Uuid),
            state: Type.Optional(State),
            event_type: Type.Optional(EventType),
            event_id: Type.Optional(Uuid),
            ...ListQuery,
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ webhook_deliveries: Type.Array(Delivery), next_cursor: NullableString }),
          ...errors(400, 401, 404),
        },
      },
    },
    async (request) => {
      const accountId = request.principal.accountId;
      const q = request.query;
      if (q.endpoint_id && !(await getEndpoint(app.db, accountId, q.endpoint_id))) throw notFound('Webhook endpoint');
      const limit = q.limit ?? 100;
      const cursor = q.cursor ? decodeCursor(q.cursor) : undefined;
      const rows = await listDeliveries(app.db, accountId, {
        endpointId: q.endpoint_id,
        state: q.state,
        eventType: q.event_type,
        eventId: q.event_id,
        limit,
        after: cursor && { created_at: cursor.at, id: cursor.id },
      });
      const last = rows.at(-1);
      return {
        webhook_deliveries: rows.map(toDelivery),
        next_cursor: last && rows.length === limit ? encodeCursor({ at: last.created_at, id: last.id }) : null,
      };
    },
  );

  app.get(
    '/webhook-deliveries/:id',
    {
      schema: {
        tags,
        summary: 'A delivery with every attempt (status code, duration, error) and the payload sent',
        params: Type.Object({ id: Uuid }),
        response: { 200: DeliveryDetail, ...errors(400, 401, 404) },
      },
    },
    async (request) => {
      const row = await getDelivery(app.db, request.principal.accountId, request.params.id);
      if (!row) throw notFound('Webhook delivery');
      const { body, locked_until: _lockedUntil, ...delivery } = row;
      return {
        ...toDelivery(delivery),
        attempt_log: await listAttempts(app.db, row.id),
        payload: JSON.parse(body) as unknown,
      };
    },
  );

  app.post(
    '/webhook-deliveries/:id/replay',
    {
      schema: {
        tags,
        summary: 'Send a delivery again, now, with a fresh retry schedule (same event id: receivers deduplicate)',
        params: Type.Object({ id: Uuid }),
        response: { 202: Delivery, ...errors(400, 401, 404, 409) },
      },
    },
    async (request, reply) => {
      const accountId = request.principal.accountId;
      const existing = await getDelivery(app.db, accountId, request.params.id);
      if (!existing) throw notFound('Webhook delivery');
      const endpoint = await getEndpoint(app.db, accountId, existing.endpoint_id);
      if (!endpoint?.enabled) throw new ApiError(409, 'endpoint_disabled', 'Enable the endpoint before replaying');
      const row = await replayDelivery(app.db, accountId, existing.id, app.clock());
      if (!row) throw notFound('Webhook delivery');
      if (row === 'busy') throw new ApiError(409, 'in_flight', 'The delivery is being attempted right now');
      return reply.code(202).send(toDelivery(row));
    },
  );
};
