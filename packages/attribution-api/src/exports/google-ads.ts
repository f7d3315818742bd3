import { formatZoned } from '../time-zones.ts';

// Google Ads offline click-conversion files ("Conversions from clicks" upload template), built
// without I/O. The rules and where they come from are in docs/GOOGLE_ADS.md.

/** Which Google click identifier a file carries. */
export type ClickIdKind = 'gclid' | 'gbraid' | 'wbraid';

export const CLICK_ID_KINDS: readonly ClickIdKind[] = ['gclid', 'gbraid', 'wbraid'];

/**
 * The identifier column of each kind's file. Google takes exactly one identifier per conversion
 * and never a GBRAID or WBRAID as a Google Click ID, so each kind has its own file and column.
 */
export const CLICK_ID_COLUMN: Record<ClickIdKind, string> = {
  gclid: 'Google Click ID',
  gbraid: 'GBRAID',
  wbraid: 'WBRAID',
};

export const TEMPLATE_COLUMNS = ['Conversion Name', 'Conversion Time', 'Conversion Value', 'Conversion Currency'];

export interface ClickIds {
  gclid: string | null;
  gbraid: string | null;
  wbraid: string | null;
}

// Google's click ids are web-safe base64 text. Anything else did not come from Google, and since
// ids are uploaded exactly as captured, a value that a spreadsheet could take for a formula
// (leading = + - @, or a tab or CR) is never exported rather than altered.
const CLICK_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$/;

export function isExportableClickId(value: string): boolean {
  return CLICK_ID.test(value);
}

/**
 * The one identifier a visit's conversion is uploaded with: the gclid when there is one (Google
 * refuses a GBRAID or WBRAID next to it), else the WBRAID (Google's identifier for web
 * conversions, which a call from a web visit is), else the GBRAID. Null when the visit has none
 * that Google could have issued.
 */
export function clickIdOf(visit: ClickIds): { kind: ClickIdKind; id: string } | null {
  for (const kind of ['gclid', 'wbraid', 'gbraid'] as const) {
    const id = visit[kind];
    if (id) return isExportableClickId(id) ? { kind, id } : null;
  }
  return null;
}

/** Why a conversion name cannot be used, or null when it can. */
export function conversionNameProblem(name: string): string | null {
  const length = [...name].length;
  if (length < 1 || length > 100) return 'conversion_name must be 1 to 100 characters';
  if (/[\p{Cc}\p{Zl}\p{Zp}]/u.test(name)) return 'conversion_name must not contain control characters or line breaks';
  // Google matches the name exactly, so it cannot be defused with a leading quote: refused instead.
  if (/^[=+\-@]/.test(name)) return 'conversion_name must not start with =, +, - or @ (spreadsheets run such cells)';
  return null;
}

const CURRENCIES = new Set(Intl.supportedValuesOf('currency'));

/** The ISO 4217 code in upper case, or null when it is not a currency code. */
export function currencyCode(input: string): string | null {
  const code = input.toUpperCase();
  return /^[A-Z]{3}$/.test(code) && CURRENCIES.has(code) ? code : null;
}

/** One field as RFC 4180 writes it: quoted when it holds a comma, a quote or a line break. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

const csvLine = (fields: string[]) => `${fields.map(csvField).join(',')}\r\n`;

export interface ClickConversion {
  clickId: string;
  conversionName: string;
  /** When the call started. */
  at: Date;
  /** A non-negative decimal as text, written as given; null leaves the value to the conversion action. */
  value: string | null;
  currency: string | null;
}

/**
 * The upload file: the `Parameters:TimeZone=` line, the template header with `kind`'s identifier
 * column, then one row per conversion with its time in `timeZone` and that instant's UTC offset.
 */
export function googleAdsCsv(options: {
  timeZone: string;
  kind: ClickIdKind;
  conversions: readonly ClickConversion[];
}): string {
  let csv = csvLine([`Parameters:TimeZone=${options.timeZone}`]);
  csv += csvLine([CLICK_ID_COLUMN[options.kind], ...TEMPLATE_COLUMNS]);
  for (const conversion of options.conversions) {
    if (!isExportableClickId(conversion.clickId)) throw new RangeError('not a Google click id');
    csv += csvLine([
      conversion.clickId,
      conversion.conversionName,
      formatZoned(conversion.at, options.timeZone),
      conversion.value ?? '',
      conversion.currency ?? '',
    ]);
  }
  return csv;
}
