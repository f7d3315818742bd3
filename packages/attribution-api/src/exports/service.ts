import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import { type ClickConversion, type ClickIdKind, clickIdOf, googleAdsCsv } from './google-ads.ts';
import { claimCalls, exportCandidates } from './repository.ts';

export interface GoogleAdsExportRequest {
  accountId: string;
  site: { id: string; time_zone: string };
  kind: ClickIdKind;
  conversionName: string;
  from: Date;
  to: Date;
  value: string | null;
  currency: string | null;
  again: boolean;
  now: Date;
}

export interface GoogleAdsExport {
  csv: string;
  /** Conversions in the file. */
  conversions: number;
  /** Calls left out because their visit's click id is not one Google issues. */
  skipped: number;
}

/**
 * Claims the site's exportable calls for `conversionName` and writes the file, in one
 * transaction: only calls this export claimed are in it, so concurrent exports never share one.
 */
export async function exportGoogleAdsConversions(
  db: Kysely<Database>,
  request: GoogleAdsExportRequest,
): Promise<GoogleAdsExport> {
  return db.transaction().execute(async (trx) => {
    const candidates = await exportCandidates(trx, {
      accountId: request.accountId,
      siteId: request.site.id,
      conversionName: request.conversionName,
      from: request.from,
      to: request.to,
      again: request.again,
    });
    let skipped = 0;
    const ofKind: { callId: string; at: Date; clickId: string }[] = [];
    for (const candidate of candidates) {
      const click = clickIdOf(candidate);
      if (!click) skipped++;
      else if (click.kind === request.kind)
        ofKind.push({ callId: candidate.id, at: candidate.started_at, clickId: click.id });
    }
    const claimed = await claimCalls(
      trx,
      ofKind.map((c) => c.callId),
      request.conversionName,
      request.now,
      request.again,
    );
    const conversions: ClickConversion[] = ofKind
      .filter((c) => claimed.has(c.callId))
      .map((c) => ({
        clickId: c.clickId,
        conversionName: request.conversionName,
        at: c.at,
        value: request.value,
        currency: request.currency,
      }));
    const csv = googleAdsCsv({ timeZone: request.site.time_zone, kind: request.kind, conversions });
    return { csv, conversions: conversions.length, skipped };
  });
}
