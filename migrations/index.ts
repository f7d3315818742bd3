import type { Migration } from 'kysely';
import * as foundation from './2026-11-29T16-00-00_foundation.ts';
import * as callIntents from './2026-11-29T17-30-00_call_intents.ts';
import * as calls from './2026-11-29T19-00-00_calls.ts';
import * as conversionExports from './2026-11-29T20-10-00_conversion_exports.ts';
import * as retention from './2026-11-29T20-20-00_retention.ts';
import * as webhooks from './2026-11-29T20-30-00_webhooks.ts';
import * as reports from './2026-11-29T20-40-00_reports.ts';

// Listed explicitly (not read from disk) so the same set runs under tsx, bundlers and tests.
export const migrations: Record<string, Migration> = {
  '2026-11-29T16-00-00_foundation': foundation,
  '2026-11-29T17-30-00_call_intents': callIntents,
  '2026-11-29T19-00-00_calls': calls,
  '2026-11-29T20-10-00_conversion_exports': conversionExports,
  '2026-11-29T20-20-00_retention': retention,
  '2026-11-29T20-30-00_webhooks': webhooks,
  '2026-11-29T20-40-00_reports': reports,
};
