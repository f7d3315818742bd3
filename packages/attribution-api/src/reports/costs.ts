import { CsvSyntaxError, parseCsv } from './csv.ts';
import { parseDay } from './days.ts';

// Ad spend as marketers import it: one amount per day, source and campaign. An upload is
// checked whole before anything is stored, and every fault names its row.

export const MAX_COST_ROWS = 20_000;
const MAX_ERRORS = 100;
const MAX_TEXT = 255;
export const CSV_COLUMNS = ['date', 'source', 'campaign', 'amount', 'currency'] as const;

const CURRENCIES = new Set(Intl.supportedValuesOf('currency'));
const AMOUNT = /^\d{1,12}(\.\d{1,6})?$/;
const CONTROL = /\p{Cc}/u;

/** A cost row as sent, before checking (JSON numbers or strings, CSV text). */
export interface CostInput {
  date: unknown;
  source: unknown;
  campaign?: unknown;
  amount: unknown;
  currency: unknown;
}

/** A cost row ready to store: amount as a decimal string, currency as an upper-case ISO 4217 code. */
export interface CostRow {
  date: string;
  source: string;
  campaign: string | null;
  amount: string;
  currency: string;
}

/** Where a fault is: a CSV line (from 1, the header is line 1) or an index into the JSON `costs` array. */
export type CostErrorPlace = { line: number } | { index: number };
export type CostError = CostErrorPlace & { field?: string; message: string };

export type CostCheck = { ok: true; rows: CostRow[] } | { ok: false; errors: CostError[]; more: number };

function checkDate(value: unknown): string {
  if (typeof value !== 'string' || parseDay(value.trim()) === undefined) {
    throw fieldError('date', 'must be a calendar date written YYYY-MM-DD');
  }
  const day = value.trim();
  const year = Number(day.slice(0, 4));
  if (year < 2000 || year > 2100) throw fieldError('date', 'must be between 2000 and 2100');
  return day;
}

function checkText(field: string, value: unknown, optional: boolean): string | null {
  if ((value === null || value === undefined) && optional) return null;
  if (typeof value !== 'string') throw fieldError(field, 'must be text');
  const text = value.trim();
  if (!text) {
    if (optional) return null;
    throw fieldError(field, 'must not be empty');
  }
  if (text.length > MAX_TEXT) throw fieldError(field, `must be at most ${MAX_TEXT} characters`);
  if (CONTROL.test(text)) throw fieldError(field, 'must not contain control characters');
  return text;
}

function checkAmount(value: unknown): string {
  let text: string;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw fieldError('amount', 'must be a number');
    text = String(value);
  } else if (typeof value === 'string') {
    text = value.trim();
  } else {
    throw fieldError('amount', 'must be a decimal number such as 1234.50');
  }
  if (text.startsWith('-')) throw fieldError('amount', 'must not be negative');
  if (!AMOUNT.test(text)) {
    throw fieldError(
      'amount',
      'must be a decimal number such as 1234.50: at most 12 digits before the point and 6 after, no thousands separators or currency signs',
    );
  }
  return text;
}

function checkCurrency(value: unknown): string {
  const code = typeof value === 'string' ? value.trim().toUpperCase() : '';
  if (!/^[A-Z]{3}$/.test(code) || !CURRENCIES.has(code)) {
    throw fieldError('currency', 'must be an ISO 4217 currency code such as USD or EUR');
  }
  return code;
}

class FieldError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

const fieldError = (field: string, message: string) => new FieldError(field, `${field} ${message}`);

const keyOf = (row: CostRow) => JSON.stringify([row.date, row.source, row.campaign]);

const describe = (place: CostErrorPlace) => ('line' in place ? `line ${place.line}` : `costs[${place.index}]`);

/** Checks every row; all good gives the rows to store, else every fault (the first 100). */
export function checkCosts(inputs: { place: CostErrorPlace; input: CostInput }[]): CostCheck {
  const rows: CostRow[] = [];
  const errors: CostError[] = [];
  const seen = new Map<string, CostErrorPlace>();
  for (const { place, input } of inputs) {
    const faults: CostError[] = [];
    const take = <T>(check: () => T): T | undefined => {
      try {
        return check();
      } catch (err) {
        if (!(err instanceof FieldError)) throw err;
        faults.push({ ...place, field: err.field, message: err.message });
        return undefined;
      }
    };
    const date = take(() => checkDate(input.date));
    const source = take(() => checkText('source', input.source, false));
    const campaign = take(() => checkText('campaign', input.campaign, true));
    const amount = take(() => checkAmount(input.amount));
    const currency = take(() => checkCurrency(input.currency));
    if (faults.length) {
      errors.push(...faults);
      continue;
    }
    const row = { date, source, campaign, amount, currency } as CostRow;
    const first = seen.get(keyOf(row));
    if (first) {
      errors.push({ ...place, message: `repeats ${describe(first)}: one amount per date, source and campaign` });
      continue;
    }
    seen.set(keyOf(row), place);
    rows.push(row);
  }
  if (errors.length)
    return { ok: false, errors: errors.slice(0, MAX_ERRORS), more: Math.max(0, errors.length - MAX_ERRORS) };
  return { ok: true, rows };
}

/** Checks a CSV upload: a header naming the five columns (any order), then one cost per line. */
export function checkCostsCsv(text: string): CostCheck {
  let records: ReturnType<typeof parseCsv>;
  try {
    records = parseCsv(text);
  } catch (err) {
    if (err instanceof CsvSyntaxError)
      return { ok: false, errors: [{ line: err.line, message: err.message }], more: 0 };
    throw err;
  }
  const [header, ...lines] = records;
  const expected = `the header must be ${CSV_COLUMNS.join(',')} (in any order)`;
  if (!header) return { ok: false, errors: [{ line: 1, message: `the file is empty: ${expected}` }], more: 0 };
  const names = header.fields.map((name) => name.trim().toLowerCase());
  const columns = CSV_COLUMNS.map((name) => names.indexOf(name));
  if (names.length !== CSV_COLUMNS.length || columns.some((at) => at < 0)) {
    const extra = names.filter((name) => !(CSV_COLUMNS as readonly string[]).includes(name));
    const missing = CSV_COLUMNS.filter((name) => !names.includes(name));
    const found = [missing.length && `missing ${missing.join(', ')}`, extra.length && `unknown ${extra.join(', ')}`]
      .filter(Boolean)
      .join('; ');
    return { ok: false, errors: [{ line: header.line, message: `${expected}${found ? `; ${found}` : ''}` }], more: 0 };
  }
  if (lines.length === 0)
    return { ok: false, errors: [{ line: header.line, message: 'no cost lines after the header' }], more: 0 };
  if (lines.length > MAX_COST_ROWS) {
    return {
      ok: false,
      errors: [{ line: header.line, message: `at most ${MAX_COST_ROWS} lines per upload` }],
      more: 0,
    };
  }
  const shapeErrors: CostError[] = [];
  const inputs: { place: CostErrorPlace; input: CostInput }[] = [];
  for (const record of lines) {
    if (record.fields.length !== CSV_COLUMNS.length) {
      shapeErrors.push({
        line: record.line,
        message: `expected ${CSV_COLUMNS.length} fields, found ${record.fields.length}`,
      });
      continue;
    }
    const [date, source, campaign, amount, currency] = columns.map((at) => record.fields[at]);
    inputs.push({ place: { line: record.line }, input: { date, source, campaign, amount, currency } });
  }
  const checked = checkCosts(inputs);
  if (!shapeErrors.length) return checked;
  const errors = [...shapeErrors, ...(checked.ok ? [] : checked.errors)].sort(
    (a, b) => (a as { line: number }).line - (b as { line: number }).line,
  );
  const more = (checked.ok ? 0 : checked.more) + Math.max(0, errors.length - MAX_ERRORS);
  return { ok: false, errors: errors.slice(0, MAX_ERRORS), more };
}
