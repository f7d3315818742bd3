import { describe, expect, it } from 'vitest';
import {
  type ClickConversion,
  clickIdOf,
  conversionNameProblem,
  csvField,
  currencyCode,
  googleAdsCsv,
  isExportableClickId,
} from '../../../src/exports/google-ads.ts';

const conversion = (overrides: Partial<ClickConversion> = {}): ClickConversion => ({
  clickId: 'Cj0KCQjw_example-1',
  conversionName: 'Qualified call',
  at: new Date('2026-06-01T12:00:00Z'),
  value: null,
  currency: null,
  ...overrides,
});

const lines = (csv: string) => {
  expect(csv.endsWith('\r\n')).toBe(true);
  return csv.slice(0, -2).split('\r\n');
};

describe('googleAdsCsv', () => {
  it('writes the time zone line, Google’s header and one row per conversion', () => {
    const csv = googleAdsCsv({
      timeZone: 'America/New_York',
      kind: 'gclid',
      conversions: [
        conversion({ value: '120.50', currency: 'USD' }),
        conversion({ clickId: 'EAIaIQobChMI', at: new Date('2026-01-15T15:04:05Z') }),
      ],
    });
    expect(lines(csv)).toEqual([
      'Parameters:TimeZone=America/New_York',
      'Google Click ID,Conversion Name,Conversion Time,Conversion Value,Conversion Currency',
      'Cj0KCQjw_example-1,Qualified call,2026-06-01 08:00:00-04:00,120.50,USD',
      'EAIaIQobChMI,Qualified call,2026-01-15 10:04:05-05:00,,',
    ]);
  });

  it('writes times in the site’s zone with that instant’s offset, across daylight-saving changes', () => {
    const times = (timeZone: string, isos: string[]) =>
      lines(
        googleAdsCsv({ timeZone, kind: 'gclid', conversions: isos.map((iso) => conversion({ at: new Date(iso) })) }),
      )
        .slice(2)
        .map((line) => line.split(',')[2]);
    expect(times('Europe/Berlin', ['2026-03-29T00:59:59Z', '2026-03-29T01:00:00Z', '2026-10-25T01:30:00Z'])).toEqual([
      '2026-03-29 01:59:59+01:00',
      '2026-03-29 03:00:00+02:00',
      '2026-10-25 02:30:00+01:00',
    ]);
    expect(times('America/New_York', ['2026-11-01T05:30:00Z', '2026-11-01T06:30:00Z'])).toEqual([
      '2026-11-01 01:30:00-04:00',
      '2026-11-01 01:30:00-05:00',
    ]);
    expect(times('Asia/Kolkata', ['2026-12-31T19:00:00Z'])).toEqual(['2027-01-01 00:30:00+05:30']);
  });

  it('puts a GBRAID or WBRAID in a column of that name, never under Google Click ID', () => {
    const gbraid = lines(
      googleAdsCsv({ timeZone: 'UTC', kind: 'gbraid', conversions: [conversion({ clickId: '0AAAAAgb' })] }),
    );
    expect(gbraid[1]).toBe('GBRAID,Conversion Name,Conversion Time,Conversion Value,Conversion Currency');
    expect(gbraid[2]).toBe('0AAAAAgb,Qualified call,2026-06-01 12:00:00+00:00,,');
    const wbraid = lines(googleAdsCsv({ timeZone: 'UTC', kind: 'wbraid', conversions: [] }));
    expect(wbraid).toEqual([
      'Parameters:TimeZone=UTC',
      'WBRAID,Conversion Name,Conversion Time,Conversion Value,Conversion Currency',
    ]);
  });

  it('quotes a conversion name with a comma or a quote, doubling the quote', () => {
    const csv = googleAdsCsv({
      timeZone: 'UTC',
      kind: 'gclid',
      conversions: [conversion({ conversionName: 'Call, "booked"' })],
    });
    expect(lines(csv)[2]).toBe('Cj0KCQjw_example-1,"Call, ""booked""",2026-06-01 12:00:00+00:00,,');
  });

  it('refuses to write a click id Google could not have issued', () => {
    for (const clickId of ['=1+1', 'abc,def', 'a"b', '']) {
      expect(() => googleAdsCsv({ timeZone: 'UTC', kind: 'gclid', conversions: [conversion({ clickId })] })).toThrow(
        RangeError,
      );
    }
  });
});

describe('csvField', () => {
  it('quotes only fields with a comma, quote or line break', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField('cr\r')).toBe('"cr\r"');
  });
});

describe('click ids', () => {
  it('takes web-safe base64 text, exactly as captured', () => {
    expect(['Cj0KCQjw_x-Y', 'EAIaIQobChMI', '0AAAAADfVZ9', 'a'.repeat(255)].map(isExportableClickId)).toEqual([
      true,
      true,
      true,
      true,
    ]);
  });

  it('never takes a value a spreadsheet would run as a formula, or that needs quoting', () => {
    const hostile = [
      '=HYPERLINK("https://evil.test")',
      '+1',
      '-2+3',
      '@SUM(A1)',
      '\t=1',
      'a,b',
      'a"b',
      'a b',
      'x'.repeat(256),
    ];
    expect(hostile.filter(isExportableClickId)).toEqual([]);
  });

  it('uploads the gclid when there is one, else the wbraid, else the gbraid', () => {
    expect(clickIdOf({ gclid: 'Cj0g', gbraid: '0AAAb', wbraid: 'CkAw' })).toEqual({ kind: 'gclid', id: 'Cj0g' });
    expect(clickIdOf({ gclid: null, gbraid: '0AAAb', wbraid: 'CkAw' })).toEqual({ kind: 'wbraid', id: 'CkAw' });
    expect(clickIdOf({ gclid: null, gbraid: '0AAAb', wbraid: null })).toEqual({ kind: 'gbraid', id: '0AAAb' });
    expect(clickIdOf({ gclid: null, gbraid: null, wbraid: null })).toBeNull();
  });

  it('exports nothing for a visit whose chosen id is not Google’s', () => {
    expect(clickIdOf({ gclid: '=cmd|calc', gbraid: '0AAAb', wbraid: null })).toBeNull();
  });
});

describe('conversion names and currencies', () => {
  it('takes 1 to 100 characters without control characters or a formula start', () => {
    expect(conversionNameProblem('Qualified call')).toBeNull();
    expect(conversionNameProblem('Anruf – qualifiziert, > 60 s')).toBeNull();
    expect(conversionNameProblem('📞'.repeat(100))).toBeNull();
    expect(conversionNameProblem('📞'.repeat(101))).toMatch(/1 to 100/);
    expect(conversionNameProblem('')).toMatch(/1 to 100/);
    expect(conversionNameProblem('two\nlines')).toMatch(/control/);
    expect(conversionNameProblem('tab\there')).toMatch(/control/);
    expect(conversionNameProblem('line\u2028sep')).toMatch(/control/);
    for (const start of ['=', '+', '-', '@']) expect(conversionNameProblem(`${start}call`)).toMatch(/start/);
  });

  it('takes ISO 4217 codes in any case and gives them in upper case', () => {
    expect(currencyCode('USD')).toBe('USD');
    expect(currencyCode('eur')).toBe('EUR');
    expect(currencyCode('INR')).toBe('INR');
    expect(['XYZ', 'US', 'USDD', 'U$D', ''].map(currencyCode)).toEqual([null, null, null, null, null]);
  });
});
