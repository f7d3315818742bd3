import type { ColumnType } from 'kysely';

/** A call uploaded to Google Ads under one conversion name (see the conversion_exports migration). */
export interface ConversionExportTable {
  call_id: string;
  conversion_name: string;
  exported_at: ColumnType<Date, Date | string, Date | string>;
}

declare module '../db/schema.ts' {
  interface Database {
    conversion_exports: ConversionExportTable;
  }
}
