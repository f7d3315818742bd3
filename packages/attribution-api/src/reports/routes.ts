import { type FastifyPluginAsyncTypebox, type TSchema, Type } from '@fastify/type-provider-typebox';
import { ApiError, badRequest, notFound } from '../errors.ts';
import { errors, NullableString, Timestamp, Uuid } from '../schemas.ts';
import { getSite } from '../sites/repository.ts';
import { type CostError, type CostInput, checkCosts, checkCostsCsv, MAX_COST_ROWS } from './costs.ts';
import { parseDay } from './days.ts';
import { formatAmount } from './money.ts';
import { DIMENSIONS, type Dimension, listCosts, upsertCosts } from './repository.ts';
import { rollUpPoolUsage, scheduleRollup } from './rollup.ts';
import { callsReport, dailyReport, poolsReport } from './service.ts';

const DAY_MS = 86_400_000;
const MAX_DAYS = 366;
const MAX_HOUR_DAYS = 31;
const UPLOAD_LIMIT = 4 * 1024 * 1024;
/** Work a report request may spend catching the pool roll-up up; the rest of the range is swept live. */
const ROLLUP_BUDGET_MS = 500;
/** How often the roll-up runs in the background (rarely enough that no test ever waits on it). */
const ROLLUP_EVERY_MS = 5 * 60_000;

const Day = (description: string) => Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description });
const Range = {
  site_id: Uuid,
  from: Day('First day, on the site’s clock (its time zone), YYYY-MM-DD'),
  to: Day('Last day, included, YYYY-MM-DD'),
};

const Measures = {
  calls: Type.Integer(),
  answered: Type.Integer({ description: 'Picked up: went in progress or completed' }),
  qualified: Type.Integer({ description: 'Completed and at least the site’s qualified-call threshold long' }),
  first_time_callers: Type.Integer({ description: 'Calls that were their caller’s first to the site' }),
  avg_duration_s: Type.Union([Type.Number(), Type.Null()], { description: 'Mean duration of answered calls, s' }),
};
const CostFields = {
  cost: Type.Union([Type.String(), Type.Null()], { description: 'Spend in the range, a decimal string' }),
  currency: NullableString,
  cost_per_call: NullableString,
  cost_per_qualified_call: NullableString,
  cost_note: Type.Union([Type.String(), Type.Null()], { description: 'Why cost is null although costs exist' }),
};
const GroupFields = Object.fromEntries(DIMENSIONS.map((d) => [d, Type.Optional(NullableString)]));

const CallsRow = Type.Object({
  ...GroupFields,
  pool_name: Type.Optional(NullableString),
  ...Measures,
  ...Object.fromEntries(Object.entries(CostFields).map(([k, v]) => [k, Type.Optional(v)])),
});
const CallsReport = Type.Object({
  site_id: Uuid,
  from: Type.String(),
  to: Type.String(),
  time_zone: Type.String(),
  start: Timestamp,
  end: Timestamp,
  group_by: Type.Array(Type.String()),
  rows: Type.Array(CallsRow),
  truncated: Type.Boolean({ description: 'More groups than limit: the ones with the fewest calls were left out' }),
  totals: Type.Object({ ...Measures, ...CostFields }),
});

const DayCounts = Type.Object({
  date: Type.String(),
  calls: Type.Integer(),
  answered: Type.Integer(),
  qualified: Type.Integer(),
  first_time_callers: Type.Integer(),
});
const DailyReport = Type.Object({
  site_id: Uuid,
  from: Type.String(),
  to: Type.String(),
  time_zone: Type.String(),
  group_by: NullableString,
  days: Type.Array(DayCounts),
  groups: Type.Optional(Type.Array(Type.Object({ ...GroupFields, days: Type.Array(DayCounts) }))),
});

const PoolBucket = Type.Object({
  start: Timestamp,
  end: Timestamp,
  label: Type.String({ description: 'The bucket’s start on the site’s clock' }),
  leases_started: Type.Integer(),
  peak_active_leases: Type.Integer({ description: 'Most leases active at one moment in the bucket' }),
  peak_numbers_held: Type.Integer({ description: 'Most numbers taken at one moment (active or in cooldown)' }),
  exhaustions: Type.Integer({ description: 'Visits that found no free number' }),
  fallbacks: Type.Integer({ description: 'Exhaustions that showed the fallback number' }),
  recycles: Type.Integer({ description: 'Exhaustions that took the longest-idle number' }),
  fallback_share: Type.Union([Type.Number(), Type.Null()], {
    description:
      'fallbacks ÷ (leases started + fallbacks): of the visits that asked for a number, those shown the fallback',
  }),
});
const PoolsReport = Type.Object({
  site_id: Uuid,
  from: Type.String(),
  to: Type.String(),
  time_zone: Type.String(),
  bucket: Type.String(),
  pools: Type.Array(
    Type.Object({
      id: Uuid,
      name: Type.String(),
      size: Type.Integer({ description: 'Numbers in the pool now (not retired)' }),
      buckets: Type.Array(PoolBucket),
    }),
  ),
});

const CostInputSchema = Type.Object(
  {
    date: Type.String({ maxLength: 64 }),
    source: Type.String({ maxLength: 1000 }),
    campaign: Type.Optional(Type.Union([Type.String({ maxLength: 1000 }), Type.Null()])),
    amount: Type.Union([Type.String({ maxLength: 64 }), Type.Number()]),
    currency: Type.String({ maxLength: 64 }),
  },
  { additionalProperties: false },
);
const CostsBody = Type.Object(
  { costs: Type.Array(CostInputSchema, { minItems: 1, maxItems: MAX_COST_ROWS }) },
  { additionalProperties: false },
);
const Cost = Type.Object({
  date: Type.String(),
  source: Type.String(),
  campaign: NullableString,
  amount: Type.String(),
  currency: Type.String(),
  updated_at: Timestamp,
});

/** A checked date range, or a 400 naming what is wrong with it. */
function range(from: string, to: string, maxDays: number): void {
  const start = parseDay(from);
  const end = parseDay(to);
  if (start === undefined) throw badRequest(`from: ${from} is not a calendar date`);
  if (end === undefined) throw badRequest(`to: ${to} is not a calendar date`);
  if (end < start) throw badRequest('to must be on or after from');
  if ((end - start) / DAY_MS + 1 > maxDays) throw badRequest(`at most ${maxDays} days per report`);
  if (new Date(start).getUTCFullYear() < 2000 || new Date(end).getUTCFullYear() > 2100) {
    throw badRequest('dates must be between 2000 and 2100');
  }
}

function dimensions(value: string): Dimension[] {
  const names = value.split(',').map((name) => name.trim());
  const unknown = names.filter((name) => !(DIMENSIONS as readonly string[]).includes(name));
  if (unknown.length) {
    throw badRequest(`group_by: unknown ${unknown.join(', ')}; use any of ${DIMENSIONS.join(', ')}`);
  }
  if (new Set(names).size !== names.length) throw badRequest('group_by: a dimension is named twice');
  return names as Dimension[];
}

function invalidCosts(errors: CostError[], more: number): ApiError {
  const count = errors.length + more;
  return new ApiError(
    400,
    'invalid_costs',
    `${count} ${count === 1 ? 'problem' : 'problems'} in the costs; nothing was stored`,
    { errors, ...(more ? { more } : {}) },
  );
}

/** Reports on calls and pools, and the ad costs that go beside them. */
export const reportRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const tags = ['reports'];

  const siteOf = async (accountId: string, siteId: string) => {
    const site = await getSite(app.db, accountId, siteId);
    if (!site) throw notFound('Site');
    return site;
  };

  app.get(
    '/reports/calls',
    {
      schema: {
        tags,
        summary: 'Calls grouped by source, campaign, keyword, landing page, device, number or pool',
        description:
          'Days are the site’s (its time zone), from and to included. Each row has calls, answered, qualified, ' +
          'first-time callers and the average duration of answered calls; grouped by source and/or campaign only, ' +
          'also the imported cost, cost per call and cost per qualified call.',
        querystring: Type.Object(
          {
            ...Range,
            group_by: Type.String({
              maxLength: 200,
              description: `Comma-separated, any of: ${DIMENSIONS.join(', ')}`,
            }),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, default: 1000 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: CallsReport, ...errors(400, 401, 404) },
      },
    },
    async (request) => {
      const q = request.query;
      range(q.from, q.to, MAX_DAYS);
      const groupBy = dimensions(q.group_by);
      const site = await siteOf(request.principal.accountId, q.site_id);
      return callsReport(app.db, site, { from: q.from, to: q.to, groupBy, limit: q.limit ?? 1000 });
    },
  );

  app.get(
    '/reports/calls/daily',
    {
      schema: {
        tags,
        summary: 'Calls per day (every day of the range, zero-filled), in all and per group',
        querystring: Type.Object(
          {
            ...Range,
            group_by: Type.Optional(Type.Unsafe<Dimension>({ type: 'string', enum: [...DIMENSIONS] })),
            groups: Type.Optional(
              Type.Integer({ minimum: 1, maximum: 100, default: 20, description: 'The groups with most calls' }),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 200: DailyReport, ...errors(400, 401, 404) },
      },
    },
    async (request) => {
      const q = request.query;
      range(q.from, q.to, MAX_DAYS);
      const site = await siteOf(request.principal.accountId, q.site_id);
      return dailyReport(app.db, site, { from: q.from, to: q.to, groupBy: q.group_by, groups: q.groups ?? 20 });
    },
  );

  app.get(
    '/reports/pools',
    {
      schema: {
        tags,
        summary: 'Pool utilization per hour or day: leases, peak concurrency, exhaustions, fallback share',
        querystring: Type.Object(
          {
            ...Range,
            bucket: Type.Optional(Type.Union([Type.Literal('hour'), Type.Literal('day')], { default: 'day' })),
          },
          { additionalProperties: false },
        ),
        response: { 200: PoolsReport, ...errors(400, 401, 404) },
      },
    },
    async (request) => {
      const q = request.query;
      const bucket = q.bucket ?? 'day';
      range(q.from, q.to, bucket === 'hour' ? MAX_HOUR_DAYS : MAX_DAYS);
      const site = await siteOf(request.principal.accountId, q.site_id);
      const now = app.clock();
      const started = Date.now();
      // Best effort: whatever is not rolled up is swept live, so a failure here costs only time.
      await rollUpPoolUsage(app.db, now, { shouldStop: () => Date.now() - started > ROLLUP_BUDGET_MS }).catch((err) =>
        request.log.warn({ err }, 'pool usage roll-up failed'),
      );
      return poolsReport(app.db, site, { from: q.from, to: q.to, bucket, now });
    },
  );

  app.addContentTypeParser('text/csv', { parseAs: 'string', bodyLimit: UPLOAD_LIMIT }, (_request, body, done) =>
    done(null, body),
  );

  app.post(
    '/sites/:siteId/costs',
    {
      bodyLimit: UPLOAD_LIMIT,
      schema: {
        tags,
        summary: 'Import ad costs per day, source and campaign (JSON or CSV); all or nothing',
        description:
          'JSON: `{ "costs": [{ "date": "2026-03-01", "source": "google", "campaign": "spring" | null, ' +
          '"amount": "125.40", "currency": "USD" }] }`. CSV (Content-Type: text/csv): a header row ' +
          '`date,source,campaign,amount,currency`, then one cost per line; an empty campaign is none. ' +
          'A cost for a day, source and campaign already stored is replaced. Any fault rejects the whole ' +
          'upload with every fault listed by line (CSV) or index (JSON).',
        params: Type.Object({ siteId: Uuid }),
        body: {
          content: {
            'application/json': { schema: CostsBody },
            'text/csv': { schema: Type.String({ maxLength: UPLOAD_LIMIT }) },
          },
        } as unknown as TSchema,
        response: {
          200: Type.Object({ stored: Type.Integer(), inserted: Type.Integer(), updated: Type.Integer() }),
          ...errors(400, 401, 404, 413, 415),
        },
      },
    },
    async (request) => {
      // Fastify also parses text/plain, which has no schema here: only the two documented types pass.
      const media = request.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
      if (media !== 'application/json' && media !== 'text/csv') {
        throw new ApiError(415, 'unsupported_media_type', 'Send costs as application/json or text/csv');
      }
      const site = await siteOf(request.principal.accountId, request.params.siteId);
      const body = request.body as string | { costs: CostInput[] };
      const checked =
        typeof body === 'string'
          ? checkCostsCsv(body)
          : checkCosts(body.costs.map((input, index) => ({ place: { index }, input })));
      if (!checked.ok) throw invalidCosts(checked.errors, checked.more);
      const result = await upsertCosts(app.db, {
        accountId: site.account_id,
        siteId: site.id,
        rows: checked.rows,
        now: app.clock(),
      });
      return { stored: checked.rows.length, ...result };
    },
  );

  app.get(
    '/sites/:siteId/costs',
    {
      schema: {
        tags,
        summary: 'Imported ad costs of a date range',
        params: Type.Object({ siteId: Uuid }),
        querystring: Type.Object({ from: Range.from, to: Range.to }, { additionalProperties: false }),
        response: {
          200: Type.Object({ site_id: Uuid, from: Type.String(), to: Type.String(), costs: Type.Array(Cost) }),
          ...errors(400, 401, 404),
        },
      },
    },
    async (request) => {
      const { from, to } = request.query;
      range(from, to, MAX_DAYS);
      const site = await siteOf(request.principal.accountId, request.params.siteId);
      const costs = await listCosts(app.db, { siteId: site.id, from, to });
      return {
        site_id: site.id,
        from,
        to,
        costs: costs.map((c) => ({ ...c, amount: formatAmount(c.amount, c.currency) })),
      };
    },
  );

  scheduleRollup(app, ROLLUP_EVERY_MS);
};
