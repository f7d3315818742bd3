import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import { ApiError, badRequest, conflict, notFound } from '../errors.ts';
import { errors, NullableString, NullableTimestamp, Timestamp, Uuid } from '../schemas.ts';
import { displayOf } from './phone.ts';
import {
  deletePool,
  existingNumbers,
  getNumber,
  getPool,
  getSite,
  insertNumbers,
  insertPool,
  listNumbers,
  listPools,
  type NewNumber,
  poolHasNumbers,
  updateNumber,
} from './repository.ts';
import { phoneField } from './validate.ts';

const PhoneInput = Type.String({ minLength: 1, maxLength: 40, description: 'Any common format; stored as E.164' });
const Provider = Type.Union([Type.Literal('twilio'), Type.Literal('telnyx'), Type.Literal('generic')]);

const Pool = Type.Object({
  id: Uuid,
  site_id: Uuid,
  name: Type.String(),
  swap_target: Type.String({ description: 'The business number this pool stands in for (E.164)' }),
  number_count: Type.Integer(),
  exhaustion_count: Type.Integer({ description: 'Times a visitor found no free number in this pool' }),
  created_at: Timestamp,
});

const TrackingNumber = Type.Object({
  id: Uuid,
  site_id: Uuid,
  pool_id: Type.Union([Uuid, Type.Null()]),
  e164: Type.String(),
  national: Type.String(),
  international: Type.String(),
  swap_target: Type.String(),
  forward_to: Type.String(),
  provider: Type.String(),
  recording: Type.Boolean(),
  source: NullableString,
  source_label: NullableString,
  retired_at: NullableTimestamp,
  created_at: Timestamp,
});

const NumberSettings = {
  forward_to: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 40,
      description: 'Where calls go; defaults to the business number it stands in for',
    }),
  ),
  provider: Type.Optional(Provider),
  recording: Type.Optional(Type.Boolean()),
};

function toPoolResponse<T extends { number_count: string | null; exhaustion_count: string | null }>(pool: T) {
  return {
    ...pool,
    number_count: Number(pool.number_count ?? 0),
    exhaustion_count: Number(pool.exhaustion_count ?? 0),
  };
}

function toNumberResponse<T extends { e164: string }>(number: T) {
  const { national, international } = displayOf(number.e164);
  return { ...number, national, international };
}

export const numberRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const tags = ['pools & numbers'];
  const SiteParams = Type.Object({ siteId: Uuid });
  const PoolParams = Type.Object({ poolId: Uuid });
  const NumberParams = Type.Object({ numberId: Uuid });

  async function siteOf(accountId: string, siteId: string) {
    const site = await getSite(app.db, accountId, siteId);
    if (!site) throw notFound('Site');
    return site;
  }

  /** Adds numbers all at once or not at all, after checking every one. */
  async function addNumbers(accountId: string, site: { id: string; public_key: string }, numbers: NewNumber[]) {
    const seen = new Set<string>();
    const repeated = numbers.filter((n) => seen.has(n.e164) || !seen.add(n.e164)).map((n) => n.e164);
    if (repeated.length) throw badRequest(`Numbers given twice: ${repeated.join(', ')}`);
    const taken = await existingNumbers(
      app.db,
      numbers.map((n) => n.e164),
    );
    if (taken.length) throw conflict(`Numbers already in use: ${taken.join(', ')}`);
    try {
      const rows = await insertNumbers(app.db, accountId, site.id, numbers);
      app.siteCache.forget(site.public_key);
      return rows.map(toNumberResponse);
    } catch (err) {
      // A concurrent insert of the same number loses the race on the unique index.
      if ((err as { code?: string }).code === '23505')
        throw conflict('A number was added by another request at the same time');
      throw err;
    }
  }

  app.get(
    '/sites/:siteId/pools',
    {
      schema: {
        tags,
        summary: "List a site's pools",
        params: SiteParams,
        response: { 200: Type.Object({ pools: Type.Array(Pool) }), ...errors(400, 401, 404) },
      },
    },
    async (request) => {
      const site = await siteOf(request.principal.accountId, request.params.siteId);
      return { pools: (await listPools(app.db, request.principal.accountId, site.id)).map(toPoolResponse) };
    },
  );

  app.post(
    '/sites/:siteId/pools',
    {
      schema: {
        tags,
        summary: 'Create a pool of tracking numbers for one swap target',
        params: SiteParams,
        body: Type.Object(
          {
            name: Type.String({ minLength: 1, maxLength: 200 }),
            swap_target: Type.Optional(PhoneInput),
          },
          { additionalProperties: false },
        ),
        response: { 201: Pool, ...errors(400, 401, 404, 409) },
      },
    },
    async (request, reply) => {
      const { accountId } = request.principal;
      const site = await siteOf(accountId, request.params.siteId);
      const target = request.body.swap_target
        ? phoneField('swap_target', request.body.swap_target, site.default_country)
        : site.swap_targets[0];
      if (!target || !site.swap_targets.includes(target)) {
        throw badRequest(`swap_target must be one of the site's swap targets: ${site.swap_targets.join(', ')}`);
      }
      try {
        const pool = await insertPool(app.db, {
          account_id: accountId,
          site_id: site.id,
          name: request.body.name,
          swap_target: target,
        });
        app.siteCache.forget(site.public_key);
        return reply.code(201).send({ ...pool, number_count: 0, exhaustion_count: 0 });
      } catch (err) {
        if ((err as { code?: string }).code === '23505') throw conflict(`The site already has a pool for ${target}`);
        throw err;
      }
    },
  );

  app.get(
    '/pools/:poolId',
    { schema: { tags, summary: 'Get a pool', params: PoolParams, response: { 200: Pool, ...errors(400, 401, 404) } } },
    async (request) => {
      const pool = await getPool(app.db, request.principal.accountId, request.params.poolId);
      if (!pool) throw notFound('Pool');
      return toPoolResponse(pool);
    },
  );

  app.delete(
    '/pools/:poolId',
    {
      schema: {
        tags,
        summary: 'Delete an empty pool',
        params: PoolParams,
        response: { 204: Type.Null(), ...errors(400, 401, 404, 409) },
      },
    },
    async (request, reply) => {
      const { accountId } = request.principal;
      const pool = await getPool(app.db, accountId, request.params.poolId);
      if (!pool) throw notFound('Pool');
      if (await poolHasNumbers(app.db, pool.id))
        throw conflict('The pool still has numbers; retire them and keep the pool, or remove them first');
      await deletePool(app.db, accountId, pool.id);
      app.siteCache.clear();
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/pools/:poolId/numbers',
    {
      schema: {
        tags,
        summary: 'Add tracking numbers to a pool, one or many at once (all or none)',
        params: PoolParams,
        body: Type.Object(
          {
            numbers: Type.Array(
              Type.Object({ number: PhoneInput, ...NumberSettings }, { additionalProperties: false }),
              { minItems: 1, maxItems: 1000 },
            ),
          },
          { additionalProperties: false },
        ),
        response: { 201: Type.Object({ numbers: Type.Array(TrackingNumber) }), ...errors(400, 401, 404, 409) },
      },
    },
    async (request, reply) => {
      const { accountId } = request.principal;
      const pool = await getPool(app.db, accountId, request.params.poolId);
      if (!pool) throw notFound('Pool');
      const site = await siteOf(accountId, pool.site_id);
      const problems: { index: number; message: string }[] = [];
      const numbers: NewNumber[] = [];
      request.body.numbers.forEach((n, index) => {
        try {
          numbers.push({
            e164: phoneField('number', n.number, site.default_country),
            forward_to: n.forward_to ? phoneField('forward_to', n.forward_to, site.default_country) : pool.swap_target,
            swap_target: pool.swap_target,
            provider: n.provider ?? 'twilio',
            recording: n.recording ?? false,
            pool_id: pool.id,
            source: null,
            source_label: null,
          });
        } catch (err) {
          if (!(err instanceof ApiError)) throw err;
          problems.push({ index, message: err.message });
        }
      });
      if (problems.length) throw badRequest(`${problems.length} of the numbers are invalid; none were added`, problems);
      return reply.code(201).send({ numbers: await addNumbers(accountId, site, numbers) });
    },
  );

  app.post(
    '/sites/:siteId/source-numbers',
    {
      schema: {
        tags,
        summary: 'Add a source-level number: one fixed number for a source or an offline medium',
        params: SiteParams,
        body: Type.Object(
          {
            number: PhoneInput,
            source: Type.String({
              minLength: 1,
              maxLength: 100,
              pattern: '\\S',
              description:
                'Visits whose source is this (e.g. google, facebook) are shown this number when no pool number is theirs',
            }),
            label: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'e.g. "Billboard I-95"' })),
            swap_target: Type.Optional(PhoneInput),
            ...NumberSettings,
          },
          { additionalProperties: false },
        ),
        response: { 201: TrackingNumber, ...errors(400, 401, 404, 409) },
      },
    },
    async (request, reply) => {
      const { accountId } = request.principal;
      const site = await siteOf(accountId, request.params.siteId);
      const body = request.body;
      const target = body.swap_target
        ? phoneField('swap_target', body.swap_target, site.default_country)
        : site.swap_targets[0];
      if (!target || !site.swap_targets.includes(target)) {
        throw badRequest(`swap_target must be one of the site's swap targets: ${site.swap_targets.join(', ')}`);
      }
      const [number] = await addNumbers(accountId, site, [
        {
          e164: phoneField('number', body.number, site.default_country),
          forward_to: body.forward_to ? phoneField('forward_to', body.forward_to, site.default_country) : target,
          swap_target: target,
          provider: body.provider ?? 'twilio',
          recording: body.recording ?? false,
          pool_id: null,
          source: body.source.trim(),
          source_label: body.label ?? null,
        },
      ]);
      if (!number) throw new Error('insert returned no row');
      return reply.code(201).send(number);
    },
  );

  app.get(
    '/sites/:siteId/numbers',
    {
      schema: {
        tags,
        summary: "List a site's tracking numbers",
        params: SiteParams,
        querystring: Type.Object(
          {
            pool_id: Type.Optional(Uuid),
            kind: Type.Optional(Type.Union([Type.Literal('pool'), Type.Literal('source')])),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ numbers: Type.Array(TrackingNumber) }), ...errors(400, 401, 404) },
      },
    },
    async (request) => {
      const { accountId } = request.principal;
      const site = await siteOf(accountId, request.params.siteId);
      const rows = await listNumbers(app.db, accountId, site.id, {
        poolId: request.query.pool_id,
        kind: request.query.kind,
      });
      return { numbers: rows.map(toNumberResponse) };
    },
  );

  app.get(
    '/numbers/:numberId',
    {
      schema: {
        tags,
        summary: 'Get a tracking number',
        params: NumberParams,
        response: { 200: TrackingNumber, ...errors(400, 401, 404) },
      },
    },
    async (request) => {
      const number = await getNumber(app.db, request.principal.accountId, request.params.numberId);
      if (!number) throw notFound('Tracking number');
      return toNumberResponse(number);
    },
  );

  app.patch(
    '/numbers/:numberId',
    {
      schema: {
        tags,
        summary: "Change a number's forwarding, provider, recording or label",
        params: NumberParams,
        body: Type.Object(
          { ...NumberSettings, label: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })) },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: TrackingNumber, ...errors(400, 401, 404) },
      },
    },
    async (request) => {
      const { accountId } = request.principal;
      const current = await getNumber(app.db, accountId, request.params.numberId);
      if (!current) throw notFound('Tracking number');
      const site = await siteOf(accountId, current.site_id);
      const { forward_to, provider, recording, label } = request.body;
      if (label !== undefined && current.pool_id) throw badRequest('Only source-level numbers have a label');
      const number = await updateNumber(app.db, accountId, current.id, {
        ...(forward_to !== undefined ? { forward_to: phoneField('forward_to', forward_to, site.default_country) } : {}),
        ...(provider !== undefined ? { provider } : {}),
        ...(recording !== undefined ? { recording } : {}),
        ...(label !== undefined ? { source_label: label } : {}),
      });
      if (!number) throw notFound('Tracking number');
      // Calls to it forward by the new settings from now on, in this process at once.
      app.telephonyDirectory.forget();
      return toNumberResponse(number);
    },
  );

  app.delete(
    '/numbers/:numberId',
    {
      schema: {
        tags,
        summary: 'Retire a number: it gets no new leases; its history and current holder stay',
        params: NumberParams,
        response: { 200: TrackingNumber, ...errors(400, 401, 404) },
      },
    },
    async (request) => {
      const { accountId } = request.principal;
      const current = await getNumber(app.db, accountId, request.params.numberId);
      if (!current) throw notFound('Tracking number');
      if (current.retired_at) return toNumberResponse(current);
      const number = await updateNumber(app.db, accountId, current.id, { retired_at: app.clock() });
      if (!number) throw notFound('Tracking number');
      app.siteCache.clear();
      return toNumberResponse(number);
    },
  );
};
