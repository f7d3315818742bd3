import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import { badRequest, notFound } from '../errors.ts';
import { errors, Uuid } from '../schemas.ts';
import { getSite } from '../sites/repository.ts';
import { startOfDay } from '../time-zones.ts';
import { CLICK_ID_KINDS, type ClickIdKind, conversionNameProblem, currencyCode } from './google-ads.ts';
import { exportGoogleAdsConversions } from './service.ts';

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const rangeBound = (description: string) =>
  Type.Union([Type.String({ format: 'date' }), Type.String({ format: 'date-time' })], { description });

const ExportQuery = Type.Object(
  {
    conversion_name: Type.String({
      minLength: 1,
      maxLength: 100,
      description: 'The Google Ads conversion action’s name, exactly (an import “from clicks” action)',
    }),
    from: rangeBound('Calls started from: a day (yyyy-mm-dd, in the site’s time zone) or an ISO 8601 date-time'),
    to: rangeBound('Calls started until: a day is included whole, a date-time is exclusive'),
    value: Type.Optional(
      Type.String({
        pattern: '^(0|[1-9][0-9]{0,11})(\\.[0-9]{1,6})?$',
        description: 'Conversion Value for every call, a decimal ≥ 0 such as 120 or 49.90',
      }),
    ),
    currency: Type.Optional(Type.String({ pattern: '^[A-Za-z]{3}$', description: 'ISO 4217 code, e.g. USD' })),
    again: Type.Optional(
      Type.Boolean({ default: false, description: 'Include calls already exported under this conversion name' }),
    ),
    click_id: Type.Optional(
      Type.Union(
        CLICK_ID_KINDS.map((kind) => Type.Literal(kind)),
        {
          default: 'gclid',
          description:
            'Which identifier this file carries: gclid (the Google Click ID column), or the calls from ' +
            'iOS visits that carry only a wbraid or gbraid, each in a file of its own',
        },
      ),
    ),
  },
  { additionalProperties: false },
);

/** Offline conversions for ad platforms, made from the service's qualified calls. */
export const exportRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/sites/:siteId/exports/google-ads',
    {
      schema: {
        tags: ['exports'],
        summary: 'Qualified calls from Google Ads clicks, as a Google Ads offline click-conversion file',
        description:
          'A CSV in Google’s “Conversions from clicks” upload template. Each call is exported once per ' +
          'conversion name: the calls in a file are recorded as exported when it is made, and later files ' +
          'leave them out unless again=true. See docs/GOOGLE_ADS.md.',
        params: Type.Object({ siteId: Uuid }),
        querystring: ExportQuery,
        produces: ['text/csv'],
        response: {
          200: {
            description: 'The upload file',
            content: { 'text/csv': { schema: Type.String() } },
          },
          ...errors(400, 401, 404),
        },
      },
    },
    async (request, reply) => {
      const q = request.query;
      const site = await getSite(app.db, request.principal.accountId, request.params.siteId);
      if (!site) throw notFound('Site');

      const nameProblem = conversionNameProblem(q.conversion_name);
      if (nameProblem) throw badRequest(nameProblem);
      let currency: string | null = null;
      if (q.currency !== undefined) {
        currency = currencyCode(q.currency);
        if (!currency) throw badRequest(`currency "${q.currency}" is not an ISO 4217 currency code`);
        if (q.value === undefined) throw badRequest('currency needs a value');
      }
      const from = DAY.test(q.from) ? startOfDay(q.from, site.time_zone) : new Date(q.from);
      const to = DAY.test(q.to) ? startOfDay(nextDay(q.to), site.time_zone) : new Date(q.to);
      if (!(from < to)) throw badRequest('from must be before to');

      const kind: ClickIdKind = q.click_id ?? 'gclid';
      const result = await exportGoogleAdsConversions(app.db, {
        accountId: request.principal.accountId,
        site,
        kind,
        conversionName: q.conversion_name,
        from,
        to,
        value: q.value ?? null,
        currency,
        again: q.again ?? false,
        now: app.clock(),
      });
      const day = app.clock().toISOString().slice(0, 10);
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="google-ads-${kind}-${day}.csv"`)
        .header('cache-control', 'no-store')
        .header('x-ringpool-conversions', String(result.conversions))
        .header('x-ringpool-skipped', String(result.skipped))
        .send(result.csv);
    },
  );
};

function nextDay(date: string): string {
  const next = new Date(`${date}T00:00:00Z`);
  next.setUTCDate(next.getUTCDate() + 1);
  return next.toISOString().slice(0, 10);
}
