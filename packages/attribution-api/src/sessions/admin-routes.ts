import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import { decodeCursor, encodeCursor } from '../cursor.ts';
import { notFound } from '../errors.ts';
import { errors, ListQuery, NullableString, NullableTimestamp, Timestamp, Uuid } from '../schemas.ts';
import { leaseState } from './lease-lifecycle.ts';
import { getSession, getVisitorFirstTouch, listSessions, sessionLeases } from './repository.ts';

export const AttributionFields = {
  landing_url: Type.String(),
  referrer: NullableString,
  source: Type.String(),
  medium: Type.String(),
  utm_source: NullableString,
  utm_medium: NullableString,
  utm_campaign: NullableString,
  utm_term: NullableString,
  utm_content: NullableString,
  gclid: NullableString,
  gbraid: NullableString,
  wbraid: NullableString,
  fbclid: NullableString,
  msclkid: NullableString,
  ttclid: NullableString,
};

const Session = Type.Object({
  id: Uuid,
  site_id: Uuid,
  visitor_id: Type.String(),
  created_at: Timestamp,
  last_seen_at: Timestamp,
  page_views: Type.Integer(),
  pages: Type.Array(Type.String()),
  ...AttributionFields,
  device_type: Type.String(),
  browser: NullableString,
  os: NullableString,
  is_bot: Type.Boolean(),
});

const Lease = Type.Object({
  id: Type.String(),
  pool_id: Uuid,
  tracking_number_id: Uuid,
  e164: Type.String(),
  state: Type.Union([Type.Literal('active'), Type.Literal('cooldown'), Type.Literal('released')]),
  started_at: Timestamp,
  last_seen_at: Timestamp,
  expires_at: Timestamp,
  cooldown_s: Type.Integer(),
  ended_at: NullableTimestamp,
  released_at: NullableTimestamp,
  end_reason: NullableString,
});

const SessionDetail = Type.Object({
  ...Session.properties,
  user_agent: NullableString,
  leases: Type.Array(Lease),
  first_touch: Type.Union([Type.Object({ first_seen_at: Timestamp, ...AttributionFields }), Type.Null()]),
});

export const sessionAdminRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const tags = ['sessions'];

  app.get(
    '/sessions',
    {
      schema: {
        tags,
        summary: 'List visits, newest first',
        querystring: Type.Object({ site_id: Type.Optional(Uuid), ...ListQuery }, { additionalProperties: false }),
        response: {
          200: Type.Object({ sessions: Type.Array(Session), next_cursor: NullableString }),
          ...errors(400, 401),
        },
      },
    },
    async (request) => {
      const limit = request.query.limit ?? 100;
      const cursor = request.query.cursor ? decodeCursor(request.query.cursor) : undefined;
      const after = cursor && { created_at: cursor.at, id: cursor.id };
      const sessions = await listSessions(app.db, request.principal.accountId, {
        siteId: request.query.site_id,
        limit,
        after,
      });
      const last = sessions.at(-1);
      return {
        sessions,
        next_cursor: last && sessions.length === limit ? encodeCursor({ at: last.created_at, id: last.id }) : null,
      };
    },
  );

  app.get(
    '/sessions/:sessionId',
    {
      schema: {
        tags,
        summary: 'A visit with its attribution, its leases and its visitor’s first touch',
        params: Type.Object({ sessionId: Uuid }),
        response: { 200: SessionDetail, ...errors(400, 401, 404) },
      },
    },
    async (request) => {
      const session = await getSession(app.db, request.principal.accountId, request.params.sessionId);
      if (!session) throw notFound('Session');
      const [leases, visitor] = await Promise.all([
        sessionLeases(app.db, session.id),
        getVisitorFirstTouch(app.db, session.site_id, session.visitor_id),
      ]);
      const now = app.clock();
      return {
        ...session,
        leases: leases.map((l) => ({ ...l, state: leaseState(l, now) })),
        first_touch: visitor ? { first_seen_at: visitor.first_seen_at, ...visitor.first_touch } : null,
      };
    },
  );
};
