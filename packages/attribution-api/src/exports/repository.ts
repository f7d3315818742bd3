import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../db/schema.ts';
import './tables.ts';

type Db = Kysely<Database> | Transaction<Database>;

export interface CandidateFilter {
  accountId: string;
  siteId: string;
  conversionName: string;
  from: Date;
  to: Date;
  /** Include calls already exported under this conversion name. */
  again: boolean;
}

/** Qualified calls started in [from, to) whose visit carries a Google click id, oldest first. */
export async function exportCandidates(db: Db, filter: CandidateFilter) {
  let query = db
    .selectFrom('calls')
    .innerJoin('sessions', 'sessions.id', 'calls.session_id')
    .select(['calls.id', 'calls.started_at', 'sessions.gclid', 'sessions.gbraid', 'sessions.wbraid'])
    .where('calls.account_id', '=', filter.accountId)
    .where('calls.site_id', '=', filter.siteId)
    .where('calls.qualified', '=', true)
    .where('calls.started_at', '>=', filter.from)
    .where('calls.started_at', '<', filter.to)
    .where((eb) =>
      eb.or([
        eb('sessions.gclid', 'is not', null),
        eb('sessions.gbraid', 'is not', null),
        eb('sessions.wbraid', 'is not', null),
      ]),
    );
  if (!filter.again) {
    query = query.where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('conversion_exports')
            .select('conversion_exports.call_id')
            .whereRef('conversion_exports.call_id', '=', 'calls.id')
            .where('conversion_exports.conversion_name', '=', filter.conversionName),
        ),
      ),
    );
  }
  return query.orderBy('calls.started_at').orderBy('calls.id').execute();
}

const CLAIM_BATCH = 5000;

/**
 * Records the calls as exported under `conversionName` and returns the ids this transaction
 * claimed. A call another export already claimed is left out (the primary key decides, even
 * between concurrent exports), unless `again`, which claims it anew.
 */
export async function claimCalls(
  db: Db,
  callIds: readonly string[],
  conversionName: string,
  now: Date,
  again: boolean,
): Promise<Set<string>> {
  const claimed = new Set<string>();
  for (let i = 0; i < callIds.length; i += CLAIM_BATCH) {
    const rows = callIds
      .slice(i, i + CLAIM_BATCH)
      .map((callId) => ({ call_id: callId, conversion_name: conversionName, exported_at: now }));
    const returned = await db
      .insertInto('conversion_exports')
      .values(rows)
      .onConflict((oc) => {
        const target = oc.columns(['call_id', 'conversion_name']);
        return again ? target.doUpdateSet({ exported_at: now }) : target.doNothing();
      })
      .returning('call_id')
      .execute();
    for (const row of returned) claimed.add(row.call_id);
  }
  return claimed;
}
