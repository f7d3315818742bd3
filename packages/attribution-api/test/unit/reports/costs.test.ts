import { describe, expect, it } from 'vitest';
import { checkCosts, checkCostsCsv } from '../../../src/reports/costs.ts';

const one = (input: Record<string, unknown>) => checkCosts([{ place: { index: 0 }, input: input as never }]);
const good = { date: '2026-06-10', source: 'google', campaign: 'spring', amount: '10.50', currency: 'USD' };

describe('cost rows', () => {
  it('keeps good rows, trimmed, currency in capitals, no campaign as null', () => {
    expect(one({ ...good, source: ' google ', campaign: '  ', currency: 'usd', amount: 7 })).toEqual({
      ok: true,
      rows: [{ date: '2026-06-10', source: 'google', campaign: null, amount: '7', currency: 'USD' }],
    });
    expect(one({ ...good, campaign: undefined })).toMatchObject({ ok: true, rows: [{ campaign: null }] });
    expect(one({ ...good, amount: '0' })).toMatchObject({ ok: true });
    expect(one({ ...good, amount: '123456789012.123456' })).toMatchObject({ ok: true });
  });

  it('names every faulty field', () => {
    const faults = (input: Record<string, unknown>) => {
      const checked = one({ ...good, ...input });
      return checked.ok ? [] : checked.errors.map((e) => [e.field, e.message]);
    };
    expect(faults({ date: '2026-02-29' })).toEqual([['date', 'date must be a calendar date written YYYY-MM-DD']]);
    expect(faults({ date: '1999-12-31' })).toEqual([['date', 'date must be between 2000 and 2100']]);
    expect(faults({ amount: '-0.01' })).toEqual([['amount', 'amount must not be negative']]);
    expect(faults({ amount: -3 })).toEqual([['amount', 'amount must not be negative']]);
    for (const amount of ['1,000.00', '$10', '1e3', '10.1234567', '1234567890123', '', 'NaN', Number.NaN, null]) {
      expect(
        faults({ amount }).map(([field]) => field),
        String(amount),
      ).toEqual(['amount']);
    }
    for (const currency of ['US', 'USDD', 'XYZ', '€', '', 12]) {
      expect(faults({ currency }), String(currency)).toEqual([
        ['currency', 'currency must be an ISO 4217 currency code such as USD or EUR'],
      ]);
    }
    expect(faults({ source: '' })).toEqual([['source', 'source must not be empty']]);
    expect(faults({ source: 'x'.repeat(256) })).toEqual([['source', 'source must be at most 255 characters']]);
    expect(faults({ campaign: 'a\u0000b' })).toEqual([['campaign', 'campaign must not contain control characters']]);
    expect(faults({ date: 'today', amount: '-1', currency: 'usd!' }).map(([f]) => f)).toEqual([
      'date',
      'amount',
      'currency',
    ]);
  });

  it('refuses the same day, source and campaign twice, pointing at the first', () => {
    const checked = checkCosts([
      { place: { index: 0 }, input: good },
      { place: { index: 1 }, input: { ...good, campaign: null } },
      { place: { index: 2 }, input: { ...good, amount: '11' } },
      { place: { index: 3 }, input: { ...good, campaign: '', amount: '1' } },
    ]);
    expect(checked).toEqual({
      ok: false,
      more: 0,
      errors: [
        { index: 2, message: 'repeats costs[0]: one amount per date, source and campaign' },
        { index: 3, message: 'repeats costs[1]: one amount per date, source and campaign' },
      ],
    });
  });

  it('lists at most 100 faults and counts the rest', () => {
    const inputs = Array.from({ length: 150 }, (_, i) => ({ place: { index: i }, input: { ...good, currency: 'no' } }));
    const checked = checkCosts(inputs);
    expect(checked.ok).toBe(false);
    if (!checked.ok) {
      expect(checked.errors).toHaveLength(100);
      expect(checked.more).toBe(50);
    }
  });
});

describe('cost CSV', () => {
  it('maps columns by the header, in any order and case', () => {
    expect(checkCostsCsv('Currency, Amount ,SOURCE,date,campaign\nEUR,5,meta,2026-06-10,\n')).toEqual({
      ok: true,
      rows: [{ date: '2026-06-10', source: 'meta', campaign: null, amount: '5', currency: 'EUR' }],
    });
  });

  it('reports faults by line, counting the header as line 1', () => {
    const checked = checkCostsCsv(
      'date,source,campaign,amount,currency\n2026-06-10,google,,5,USD\n2026-06-10,google,,6,USD\nx,y\n',
    );
    expect(checked).toEqual({
      ok: false,
      more: 0,
      errors: [
        { line: 3, message: 'repeats line 2: one amount per date, source and campaign' },
        { line: 4, message: 'expected 5 fields, found 2' },
      ],
    });
  });

  it('explains a wrong header', () => {
    const checked = checkCostsCsv('date,source,cmpaign,amount,currency\n');
    expect(checked.ok).toBe(false);
    if (!checked.ok) {
      expect(checked.errors).toEqual([
        {
          line: 1,
          message:
            'the header must be date,source,campaign,amount,currency (in any order); missing campaign; unknown cmpaign',
        },
      ]);
    }
    const repeated = checkCostsCsv('date,date,campaign,amount,currency\n2026-06-10,x,,1,USD');
    expect(repeated.ok).toBe(false);
  });
});
