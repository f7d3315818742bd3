import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import { conflict, notFound } from '../errors.ts';
import { MAX_RETENTION_DAYS } from '../retention/policy.ts';
import { errors, Timestamp, Uuid } from '../schemas.ts';
import { randomToken } from '../secrets.ts';
import {
  deleteSite,
  getSite,
  insertSite,
  listSites,
  poolTargetsInUse,
  type SitePatch,
  updateSite,
} from './repository.ts';
import { normalizeOrigin, phoneField, unique, validCountry, validSessionWindow, validTimeZone } from './validate.ts';

const Origin = Type.String({ minLength: 1, maxLength: 300, description: 'e.g. https://www.example.com' });
const PhoneInput = Type.String({ minLength: 1, maxLength: 40, description: 'Any common format; stored as E.164' });

const retentionDays = (description: string) =>
  Type.Union([Type.Integer({ minimum: 1, maximum: MAX_RETENTION_DAYS }), Type.Null()], { description });

const Settings = {
  name: Type.String({ minLength: 1, maxLength: 200 }),
  allowed_origins: Type.Array(Origin, { minItems: 1, maxItems: 50, description: 'Where the snippet may run' }),
  swap_targets: Type.Array(PhoneInput, {
    minItems: 1,
    maxItems: 20,
    description: 'The business numbers printed on the site, which the snippet replaces',
  }),
  default_country: Type.String({ pattern: '^[A-Z]{2}$', description: 'ISO 3166 code for numbers written without +' }),
  time_zone: Type.String({ minLength: 1, maxLength: 64, description: 'IANA time zone, for reports' }),
  idle_timeout_s: Type.Integer({
    minimum: 60,
    maximum: 86_400,
    description: 'A lease ends this long after the last sign of life',
  }),
  cooldown_s: Type.Integer({
    minimum: 0,
    maximum: 86_400,
    description: 'After a lease ends, its number is kept back this long',
  }),
  exhaustion_policy: Type.Union([Type.Literal('fallback'), Type.Literal('recycle')]),
  qualified_call_s: Type.Integer({
    minimum: 0,
    maximum: 86_400,
    description: 'A call this long or longer is qualified',
  }),
  max_leases_per_ip: Type.Union([Type.Integer({ minimum: 1, maximum: 100_000 }), Type.Null()], {
    description: 'Active leases one address may hold per pool (null: no limit)',
  }),
  retention_caller_days: retentionDays(
    'Calls older than this many days keep only the caller’s country code and last 2 digits (default 90; null: never)',
  ),
  retention_recording_days: retentionDays(
    'Calls older than this many days lose their recording link (default 30; null: never)',
  ),
  retention_session_days: retentionDays(
    'Visits are deleted this many days after their last activity, with their leases, taps and first touch, ' +
      'and calls this old lose their landing page and candidate visits (default 180; null: never; ' +
      'at least the lease idle timeout + cooldown + 1 day, rounded up)',
  ),
};

const Site = Type.Object({
  id: Uuid,
  account_id: Uuid,
  public_key: Type.String({ description: 'The data-site value of the script tag' }),
  ...Settings,
  is_demo: Type.Boolean(),
  created_at: Timestamp,
  updated_at: Timestamp,
});

const CreateSite = Type.Object(
  {
    name: Settings.name,
    allowed_origins: Settings.allowed_origins,
    swap_targets: Settings.swap_targets,
    default_country: Type.Optional(Settings.default_country),
    time_zone: Type.Optional(Settings.time_zone),
    idle_timeout_s: Type.Optional(Settings.idle_timeout_s),
    cooldown_s: Type.Optional(Settings.cooldown_s),
    exhaustion_policy: Type.Optional(Settings.exhaustion_policy),
    qualified_call_s: Type.Optional(Settings.qualified_call_s),
    max_leases_per_ip: Type.Optional(Settings.max_leases_per_ip),
    retention_caller_days: Type.Optional(Settings.retention_caller_days),
    retention_recording_days: Type.Optional(Settings.retention_recording_days),
    retention_session_days: Type.Optional(Settings.retention_session_days),
  },
  { additionalProperties: false },
);
const PatchSite = Type.Partial(Type.Object(Settings), { additionalProperties: false, minProperties: 1 });

interface SiteInput {
  allowed_origins?: string[] | undefined;
  swap_targets?: string[] | undefined;
  default_country?: string | undefined;
  time_zone?: string | undefined;
}

function normalizeSettings<T extends SiteInput>(input: T, country: string): T {
  const out = { ...input };
  if (input.allowed_origins) out.allowed_origins = unique(input.allowed_origins.map(normalizeOrigin));
  if (input.swap_targets)
    out.swap_targets = unique(input.swap_targets.map((n, i) => phoneField(`swap_targets[${i}]`, n, country)));
  if (input.time_zone) validTimeZone(input.time_zone);
  return out;
}

export const siteRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const tags = ['sites'];
  const SiteParams = Type.Object({ siteId: Uuid });

  app.get(
    '/sites',
    {
      schema: {
        tags,
        summary: 'List sites',
        response: { 200: Type.Object({ sites: Type.Array(Site) }), ...errors(401) },
      },
    },
    async (request) => ({ sites: await listSites(app.db, request.principal.accountId) }),
  );

  app.post(
    '/sites',
    { schema: { tags, summary: 'Create a site', body: CreateSite, response: { 201: Site, ...errors(400, 401) } } },
    async (request, reply) => {
      const country = validCountry(request.body.default_country ?? 'US');
      const body = normalizeSettings(request.body, country);
      if (body.retention_session_days !== undefined) validSessionWindow(body);
      const site = await insertSite(app.db, {
        ...body,
        account_id: request.principal.accountId,
        public_key: randomToken(12),
        default_country: country,
        time_zone: body.time_zone ?? 'UTC',
      });
      return reply.code(201).send(site);
    },
  );

  app.get(
    '/sites/:siteId',
    { schema: { tags, summary: 'Get a site', params: SiteParams, response: { 200: Site, ...errors(400, 401, 404) } } },
    async (request) => {
      const site = await getSite(app.db, request.principal.accountId, request.params.siteId);
      if (!site) throw notFound('Site');
      return site;
    },
  );

  app.patch(
    '/sites/:siteId',
    {
      schema: {
        tags,
        summary: 'Change site settings',
        params: SiteParams,
        body: PatchSite,
        response: { 200: Site, ...errors(400, 401, 404, 409) },
      },
    },
    async (request) => {
      const { accountId } = request.principal;
      const current = await getSite(app.db, accountId, request.params.siteId);
      if (!current) throw notFound('Site');
      const country = validCountry(request.body.default_country ?? current.default_country);
      const patch = normalizeSettings(request.body, country) as SitePatch;
      if (
        patch.retention_session_days !== undefined ||
        patch.idle_timeout_s !== undefined ||
        patch.cooldown_s !== undefined
      ) {
        validSessionWindow({ ...current, ...patch });
      }
      if (patch.swap_targets) {
        const kept = new Set(patch.swap_targets);
        const missing = (await poolTargetsInUse(app.db, current.id)).filter((t) => !kept.has(t));
        if (missing.length)
          throw conflict(`swap_targets must keep ${missing.join(', ')}: pools or numbers stand in for them`);
      }
      const site = await updateSite(app.db, accountId, current.id, patch, app.clock());
      if (!site) throw notFound('Site');
      app.siteCache.forget(site.public_key);
      return site;
    },
  );

  app.delete(
    '/sites/:siteId',
    {
      schema: {
        tags,
        summary: 'Delete a site with its pools, numbers and sessions',
        params: SiteParams,
        response: { 204: Type.Null(), ...errors(400, 401, 404) },
      },
    },
    async (request, reply) => {
      const site = await getSite(app.db, request.principal.accountId, request.params.siteId);
      if (!site || !(await deleteSite(app.db, request.principal.accountId, site.id))) throw notFound('Site');
      app.siteCache.forget(site.public_key);
      return reply.code(204).send(null);
    },
  );
};
