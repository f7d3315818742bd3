import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import { notFound } from '../errors.ts';
import { requireAdmin } from '../plugins/auth.ts';
import { errors, NullableTimestamp, Timestamp, Uuid } from '../schemas.ts';
import { getSite } from '../sites/repository.ts';
import { phoneField } from '../sites/validate.ts';
import type { RetentionJob } from './job.ts';
import { retentionCutoffs } from './policy.ts';
import { eraseCaller, retentionState } from './repository.ts';

const Days = Type.Union([Type.Integer(), Type.Null()]);

const Counts = Type.Object({
  callers_masked: Type.Integer({ description: 'Calls whose caller was masked' }),
  recordings_dropped: Type.Integer({ description: 'Calls whose recording link was dropped' }),
  sessions_purged: Type.Integer({ description: 'Visits deleted, with their leases, taps and pool exhaustions' }),
  visitors_purged: Type.Integer({ description: 'Visitors (first touch) deleted with their last visit' }),
  calls_visit_cleared: Type.Integer({ description: 'Calls that lost their landing page and candidate visits' }),
});

const Run = Type.Object({
  trigger: Type.Union([Type.Literal('schedule'), Type.Literal('manual')]),
  started_at: Timestamp,
  finished_at: Timestamp,
  counts: Counts,
});

const Policy = Type.Object({
  site_id: Uuid,
  retention_caller_days: Days,
  retention_recording_days: Days,
  retention_session_days: Days,
  cutoffs: Type.Object(
    {
      callers: NullableTimestamp,
      recordings: NullableTimestamp,
      sessions: NullableTimestamp,
    },
    { description: 'As of now: data from before these instants is masked, dropped or purged by a pass; null: kept' },
  ),
  interval_s: Type.Integer({ description: 'How often the pass runs; 0: not on a schedule in this process' }),
  next_run_at: Type.Union([Timestamp, Type.Null()], { description: 'null: at the next look for due sites' }),
  last_run: Type.Union([Run, Type.Null()]),
});

const Erasure = Type.Object({
  caller: Type.String({ description: 'The number erased, E.164' }),
  calls: Type.Integer({ description: 'Calls that lost the number, recording link, visit detail and repeat-call link' }),
  recordings_dropped: Type.Integer({ description: 'Recording links dropped (the recordings stay at the provider)' }),
  sessions_deleted: Type.Integer({
    description: 'Visits deleted: those the calls were attributed to, and every other visit of the same visitor',
  }),
  visitors_deleted: Type.Integer(),
});

/** The retention policy of a site, its last pass, a pass on demand, and erasing one caller. */
export const retentionRoutes: FastifyPluginAsyncTypebox<{ job: RetentionJob }> = async (app, { job }) => {
  const tags = ['retention'];
  const SiteParams = Type.Object({ siteId: Uuid });

  app.get(
    '/sites/:siteId/retention',
    {
      schema: {
        tags,
        summary: 'The site’s retention windows, what they cut off now, and the last pass',
        params: SiteParams,
        response: { 200: Policy, ...errors(400, 401, 404) },
      },
    },
    async (request) => {
      const site = await getSite(app.db, request.principal.accountId, request.params.siteId);
      if (!site) throw notFound('Site');
      const state = await retentionState(app.db, site.id);
      return {
        site_id: site.id,
        retention_caller_days: site.retention_caller_days,
        retention_recording_days: site.retention_recording_days,
        retention_session_days: site.retention_session_days,
        cutoffs: retentionCutoffs(site, app.clock()),
        interval_s: Math.round(job.intervalMs / 1000),
        next_run_at: state?.next_run_at ?? null,
        last_run:
          state?.last_trigger && state.last_started_at && state.last_finished_at && state.last_counts
            ? {
                trigger: state.last_trigger,
                started_at: state.last_started_at,
                finished_at: state.last_finished_at,
                counts: state.last_counts,
              }
            : null,
      };
    },
  );

  app.post(
    '/sites/:siteId/retention/run',
    {
      schema: {
        tags,
        summary: 'Run the site’s retention pass now (admin key)',
        params: SiteParams,
        response: { 200: Run, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => {
      requireAdmin(request);
      const site = await getSite(app.db, request.principal.accountId, request.params.siteId);
      const run = site && (await job.runSite(site.id, 'manual'));
      if (!run) throw notFound('Site');
      return run;
    },
  );

  // A POST with the number in the body, not DELETE /callers/:number: request URLs go to the access log.
  app.post(
    '/sites/:siteId/caller-erasures',
    {
      schema: {
        tags,
        summary: 'Erase one caller’s data from the site, on their request (admin key)',
        description:
          'Their calls stay counted in reports but lose the number, the recording link, the visit detail and ' +
          'the link between them; the visits they were attributed to are deleted with every other visit of the ' +
          'same browser, and the webhook events that carried those calls. Calls already masked are reached ' +
          'through their repeat-call link only. Delete the recordings at the telephony provider too: Ringpool ' +
          'only kept a link to them. Nothing of the request is stored; the log gets the counts only.',
        params: SiteParams,
        body: Type.Object(
          { caller: Type.String({ minLength: 1, maxLength: 40, description: 'Any common format; read as E.164' }) },
          { additionalProperties: false },
        ),
        response: { 200: Erasure, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => {
      requireAdmin(request);
      const site = await getSite(app.db, request.principal.accountId, request.params.siteId);
      if (!site) throw notFound('Site');
      const caller = phoneField('caller', request.body.caller, site.default_country);
      const erased = await eraseCaller(app.db, site.id, caller, app.clock());
      request.log.info({ siteId: site.id, ...erased }, 'caller erased on request');
      return { caller, ...erased };
    },
  );
};
