import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import { decodeCursor, encodeCursor } from '../cursor.ts';
import type { CallStatus, Confidence } from '../db/schema.ts';
import { ApiError, notFound } from '../errors.ts';
import { errors, ListQuery, NullableString, NullableTimestamp, Timestamp, Uuid } from '../schemas.ts';
import { AttributionFields } from '../sessions/admin-routes.ts';
import type { TelephonyDirectory } from './directory.ts';
import { CALL_STATUSES, type CallEvent } from './events.ts';
import type { CallRecorder } from './recorder.ts';
import { getCall, getCallByProviderId, listCalls } from './repository.ts';
import { callDetail, toCall } from './view.ts';

export interface CallRouteOptions {
  directory: TelephonyDirectory;
  recorder: CallRecorder;
}

const Status = Type.Unsafe<CallStatus>({ type: 'string', enum: [...CALL_STATUSES] });
const ConfidenceField = Type.Unsafe<Confidence>({ type: 'string', enum: ['high', 'medium', 'low', 'none'] });
const NullableInteger = Type.Union([Type.Integer(), Type.Null()]);
const NullableUuid = Type.Union([Uuid, Type.Null()]);

const Call = Type.Object({
  id: Uuid,
  site_id: Uuid,
  tracking_number: Type.String(),
  provider: Type.String(),
  provider_call_id: Type.String(),
  caller: Type.Union([Type.String(), Type.Null()], {
    description: 'E.164; masked (+1********23) after the site’s caller retention; null when withheld or erased',
  }),
  forwarded_to: NullableString,
  started_at: Timestamp,
  answered_at: NullableTimestamp,
  ended_at: NullableTimestamp,
  status: Status,
  duration_s: NullableInteger,
  qualified: Type.Boolean({ description: 'Completed and at least the site’s qualified-call threshold long' }),
  recording: Type.Union([Type.Object({ url: Type.String(), duration_s: NullableInteger }), Type.Null()]),
  session_id: NullableUuid,
  confidence: ConfidenceField,
  reason: Type.String({ description: 'Why the call was attributed as it was, in one line' }),
  source: NullableString,
  medium: NullableString,
  campaign: NullableString,
  term: NullableString,
  content: NullableString,
  source_label: NullableString,
  landing_url: NullableString,
  device_type: NullableString,
  is_first_call: Type.Boolean(),
  first_call_id: Type.Union([Uuid, Type.Null()], { description: 'For a repeat caller: their first call' }),
});

const Visit = Type.Object({
  id: Uuid,
  visitor_id: Type.String(),
  created_at: Timestamp,
  last_seen_at: Timestamp,
  ...AttributionFields,
  pages: Type.Array(Type.String()),
  page_views: Type.Integer(),
  device_type: Type.String(),
  browser: NullableString,
  os: NullableString,
});

const CallDetail = Type.Object({
  ...Call.properties,
  candidates: Type.Array(Type.Unknown(), { description: 'Every visit that held the number around the call' }),
  visit: Type.Union([Visit, Type.Null()]),
});

const Provider = Type.String({
  pattern: '^[a-z][a-z0-9_-]{0,31}$',
  description: 'Your carrier or PBX, e.g. "asterisk" (twilio and telnyx calls come through their webhooks)',
});
const ProviderCallId = Type.String({ minLength: 1, maxLength: 128, pattern: '^[\\x21-\\x7e]+$' });

const NewCall = Type.Object(
  {
    tracking_number: Type.String({ pattern: '^\\+[1-9][0-9]{1,14}$', description: 'The number dialled, E.164' }),
    caller: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 40 }), Type.Null()])),
    provider: Type.Optional(Provider),
    provider_call_id: ProviderCallId,
    started_at: Type.Optional(Type.String({ format: 'date-time' })),
  },
  { additionalProperties: false },
);

const CallUpdate = Type.Object(
  {
    status: Type.Optional(Status),
    duration_s: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000 })),
    recording_url: Type.Optional(Type.String({ pattern: '^https://', maxLength: 2048 })),
    recording_duration_s: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000 })),
    at: Type.Optional(Type.String({ format: 'date-time' })),
  },
  { additionalProperties: false, minProperties: 1 },
);

const RESERVED_PROVIDERS = new Set(['twilio', 'telnyx']);

/** The calls API, and call ingress for carriers and PBXs without a webhook of their own. */
export const callRoutes: FastifyPluginAsyncTypebox<CallRouteOptions> = async (app, options) => {
  const tags = ['calls'];

  app.get(
    '/calls',
    {
      schema: {
        tags,
        summary: 'List calls, newest first',
        querystring: Type.Object(
          {
            site_id: Type.Optional(Uuid),
            from: Type.Optional(Type.String({ format: 'date-time', description: 'Calls started at or after' })),
            to: Type.Optional(Type.String({ format: 'date-time', description: 'Calls started before' })),
            source: Type.Optional(Type.String({ maxLength: 200 })),
            medium: Type.Optional(Type.String({ maxLength: 200 })),
            campaign: Type.Optional(Type.String({ maxLength: 500 })),
            first_time: Type.Optional(Type.Boolean()),
            qualified: Type.Optional(Type.Boolean()),
            status: Type.Optional(Status),
            confidence: Type.Optional(ConfidenceField),
            ...ListQuery,
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ calls: Type.Array(Call), next_cursor: NullableString }), ...errors(400, 401) },
      },
    },
    async (request) => {
      const q = request.query;
      const limit = q.limit ?? 100;
      const cursor = q.cursor ? decodeCursor(q.cursor) : undefined;
      const rows = await listCalls(app.db, request.principal.accountId, {
        siteId: q.site_id,
        from: q.from ? new Date(q.from) : undefined,
        to: q.to ? new Date(q.to) : undefined,
        source: q.source,
        medium: q.medium,
        campaign: q.campaign,
        firstTime: q.first_time,
        qualified: q.qualified,
        status: q.status,
        confidence: q.confidence,
        limit,
        after: cursor && { started_at: cursor.at, id: cursor.id },
      });
      const last = rows.at(-1);
      return {
        calls: rows.map(toCall),
        next_cursor: last && rows.length === limit ? encodeCursor({ at: last.started_at, id: last.id }) : null,
      };
    },
  );

  app.get(
    '/calls/:callId',
    {
      schema: {
        tags,
        summary: 'A call with its visit (UTM, click ids, referrer, pages, device), candidates and reason',
        params: Type.Object({ callId: Uuid }),
        response: { 200: CallDetail, ...errors(400, 401, 404) },
      },
    },
    async (request) => {
      const call = await callDetail(app.db, request.principal.accountId, request.params.callId);
      if (!call) throw notFound('Call');
      return call;
    },
  );

  app.post(
    '/calls',
    {
      schema: {
        tags,
        summary: 'Report a call from any carrier or PBX (idempotent on provider + provider_call_id)',
        description:
          'Answers with where to forward the call and, once written, the attributed call. ' +
          'While the database is unavailable the call is kept and written later: the answer is then 202.',
        body: NewCall,
        response: {
          200: Type.Object({ forward_to: Type.String(), call: Call }),
          201: Type.Object({ forward_to: Type.String(), call: Call }),
          202: Type.Object({ forward_to: Type.String(), call: Type.Null() }),
          ...errors(400, 401, 404),
        },
      },
    },
    async (request, reply) => {
      const accountId = request.principal.accountId;
      const provider = request.body.provider ?? 'generic';
      if (RESERVED_PROVIDERS.has(provider)) {
        throw new ApiError(400, 'bad_request', `${provider} calls come through its signed webhooks`);
      }
      const route = await options.directory.route(request.body.tracking_number);
      if (!route || route.accountId !== accountId) throw notFound('Tracking number');
      const at = request.body.started_at ? new Date(request.body.started_at) : app.clock();
      const event: CallEvent = {
        type: 'call.started',
        accountId,
        provider,
        callId: request.body.provider_call_id,
        to: route.e164,
        from: request.body.caller ?? null,
        forwardedTo: route.forwardTo,
        at: at.toISOString(),
      };
      const outcome = await options.recorder.record(event);
      if (outcome === 'spooled') return reply.code(202).send({ forward_to: route.forwardTo, call: null });
      if (outcome === 'lost') throw new ApiError(503, 'unavailable', 'The call could not be kept; send it again');
      const found = await getCallByProviderId(app.db, accountId, provider, event.callId);
      const row = found && (await getCall(app.db, accountId, found.id));
      if (!row) throw notFound('Tracking number');
      return reply.code(outcome === 'recorded' ? 201 : 200).send({ forward_to: route.forwardTo, call: toCall(row) });
    },
  );

  app.patch(
    '/calls/:callId',
    {
      schema: {
        tags,
        summary: 'Report a call’s progress: status, duration, recording (a status never moves backwards)',
        params: Type.Object({ callId: Uuid }),
        body: CallUpdate,
        response: { 200: Call, ...errors(400, 401, 404) },
      },
    },
    async (request) => {
      const accountId = request.principal.accountId;
      const existing = await getCall(app.db, accountId, request.params.callId);
      if (!existing) throw notFound('Call');
      const body = request.body;
      const at = (body.at ? new Date(body.at) : app.clock()).toISOString();
      const base = { accountId, provider: existing.provider, callId: existing.provider_call_id, at };
      if (body.status || body.duration_s !== undefined) {
        const status = body.status ?? existing.status;
        await options.recorder.record({ type: 'call.status', ...base, status, durationS: body.duration_s ?? null });
      }
      if (body.recording_url) {
        const durationS = body.recording_duration_s ?? null;
        await options.recorder.record({ type: 'call.recording', ...base, url: body.recording_url, durationS });
      }
      const row = await getCall(app.db, accountId, existing.id);
      if (!row) throw notFound('Call');
      return toCall(row);
    },
  );
};
