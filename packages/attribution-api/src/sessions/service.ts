import { randomUUID } from 'node:crypto';
import { isbot } from 'isbot';
import type { Kysely } from 'kysely';
import { UAParser } from 'ua-parser-js';
import type { Database } from '../db/schema.ts';
import { badRequest } from '../errors.ts';
import { sha256 } from '../secrets.ts';
import { findSiteSession, type HoldResult, holdNumbers, insertSession } from './repository.ts';
import type { SiteCache, SiteConfig } from './site-cache.ts';
import { leaseExpiry, type Swap, swapsFor } from './swaps.ts';
import { pageAddress, readVisitAttribution } from './visit-attribution.ts';

export interface SessionContext {
  db: Kysely<Database>;
  siteCache: SiteCache;
  now: Date;
  ipSalt: string;
}

export interface VisitInput {
  visitor?: string | undefined;
  session?: string | undefined;
  url: string;
  referrer?: string | null | undefined;
}

export interface SessionResponse {
  session: string;
  visitor: string;
  resumed: boolean;
  expires_at: Date | null;
  swaps: Swap[];
}

type Device = { device_type: string; browser: string | null; os: string | null };
const devices = new Map<string, Device>();

/** Device, browser and OS of a user agent; a few thousand distinct agents cover nearly all visits, so they are kept. */
function deviceOf(userAgent: string | null, bot: boolean): Device {
  if (bot) return { device_type: 'bot', browser: null, os: null };
  if (!userAgent) return { device_type: 'unknown', browser: null, os: null };
  let device = devices.get(userAgent);
  if (!device) {
    const result = new UAParser(userAgent).getResult();
    device = {
      device_type: result.device.type ?? 'desktop',
      browser: result.browser.name ?? null,
      os: result.os.name ?? null,
    };
    if (devices.size >= 5_000) devices.clear();
    devices.set(userAgent, device);
  }
  return device;
}

/** The session is alive while its idle timeout has not run out since its last sign of life. */
function isAlive(config: SiteConfig, lastSeen: Date, now: Date): boolean {
  return now.getTime() - lastSeen.getTime() < config.site.idle_timeout_s * 1000;
}

async function swapsWithFreshConfig(ctx: SessionContext, config: SiteConfig, source: string, holds: HoldResult[]) {
  const swaps = swapsFor(config, source, holds);
  if (swaps) return swaps;
  // A number was added since the cached config was read: read it again, once.
  ctx.siteCache.forget(config.site.public_key);
  const fresh = await ctx.siteCache.get(config.site.public_key);
  const again = fresh && swapsFor(fresh, source, holds);
  if (!again) throw new Error('a held tracking number is missing from its site');
  return again;
}

/** Resumes the visitor's live session (same numbers), or starts a new one with a fresh lease. */
export async function startOrResumeSession(
  ctx: SessionContext,
  config: SiteConfig,
  input: VisitInput,
  client: { ip: string; userAgent: string | null },
): Promise<SessionResponse> {
  const { db, now } = ctx;
  if (input.session) {
    const existing = await findSiteSession(db, config.site.id, input.session);
    if (
      existing &&
      (!input.visitor || input.visitor === existing.visitor_id) &&
      isAlive(config, existing.last_seen_at, now)
    ) {
      const holds = existing.is_bot ? [] : await holdNumbers(db, existing.id, now, pageAddress(input.url));
      return {
        session: existing.id,
        visitor: existing.visitor_id,
        resumed: true,
        expires_at: leaseExpiry(holds),
        swaps: await swapsWithFreshConfig(ctx, config, existing.source, holds),
      };
    }
  }

  const attribution = readVisitAttribution(input.url, input.referrer);
  if (!attribution) throw badRequest('url must be the http(s) address of the page');
  const userAgent = client.userAgent?.slice(0, 512) ?? null;
  const bot = userAgent === null || isbot(userAgent);
  const visitorId = input.visitor ?? randomUUID();
  const session = await insertSession(
    db,
    {
      ...attribution,
      account_id: config.site.account_id,
      site_id: config.site.id,
      visitor_id: visitorId,
      user_agent: userAgent,
      ...deviceOf(userAgent, bot),
      is_bot: bot,
      ip_hash: sha256(ctx.ipSalt + client.ip).slice(0, 32),
    },
    now,
  );
  // Bots are shown the fallback and never hold a number.
  const holds = bot ? [] : await holdNumbers(db, session.id, now, null);
  return {
    session: session.id,
    visitor: visitorId,
    resumed: false,
    expires_at: leaseExpiry(holds),
    swaps: await swapsWithFreshConfig(ctx, config, session.source, holds),
  };
}

/** A page view or heartbeat: extends the session's leases (written at most once per 30 s). */
export async function pingSession(
  ctx: SessionContext,
  config: SiteConfig,
  sessionId: string,
  url: string | undefined,
): Promise<'unknown' | 'ended' | { expires_at: Date | null; swaps: Swap[] }> {
  const session = await findSiteSession(ctx.db, config.site.id, sessionId);
  if (!session) return 'unknown';
  if (!isAlive(config, session.last_seen_at, ctx.now)) return 'ended';
  const holds = session.is_bot ? [] : await holdNumbers(ctx.db, session.id, ctx.now, url ? pageAddress(url) : null);
  return { expires_at: leaseExpiry(holds), swaps: await swapsWithFreshConfig(ctx, config, session.source, holds) };
}
