import { describe, expect, it } from 'vitest';
import {
  combineUse,
  compareValues,
  costFigures,
  fallbackShare,
  fillDays,
  liveBuckets,
  splitAt,
  withCosts,
  ZERO_CALLS,
} from '../../../src/reports/assemble.ts';

const measures = (calls: number, qualified = 0) => ({ ...ZERO_CALLS, calls, qualified });
const cost = (values: (string | null)[], amount: string, currencies = ['USD']) => ({
  is_total: false,
  values,
  amount,
  currencies,
});

describe('costs beside calls', () => {
  it('gives cost per call and per qualified call, null where there is nothing to divide', () => {
    expect(costFigures(cost(['google'], '90'), measures(3, 2))).toEqual({
      cost: '90.00',
      currency: 'USD',
      cost_per_call: '30.00',
      cost_per_qualified_call: '45.00',
      cost_note: null,
    });
    expect(costFigures(cost(['google'], '90'), measures(0))).toMatchObject({ cost: '90.00', cost_per_call: null });
    expect(costFigures(undefined, measures(3))).toMatchObject({ cost: null, cost_per_call: null, cost_note: null });
    expect(costFigures(cost(['google'], '90', ['EUR', 'USD']), measures(3))).toMatchObject({
      cost: null,
      currency: null,
      cost_note: expect.stringMatching(/EUR, USD/),
    });
  });

  it('matches groups by every value, null included, and keeps spend without calls as a row', () => {
    const rows = withCosts(
      [
        { values: ['google', null], ...measures(2) },
        { values: ['google', 'spring'], ...measures(5) },
      ],
      [
        cost(['google', null], '10'),
        cost(['bing', 'x'], '7'),
        cost(['yahoo', null], '9'),
        { is_total: true, values: [null, null], amount: '26', currencies: ['USD'] },
      ],
    );
    expect(rows.map((r) => [r.values, r.calls, r.cost, r.cost_per_call])).toEqual([
      [['google', 'spring'], 5, null, null],
      [['google', null], 2, '10.00', '5.00'],
      [['yahoo', null], 0, '9.00', null],
      [['bing', 'x'], 0, '7.00', null],
    ]);
  });

  it('orders values as SQL does, nulls last', () => {
    expect(compareValues(['a', null], ['a', 'b'])).toBe(1);
    expect(compareValues([null], [null])).toBe(0);
    expect(compareValues(['B'], ['a'])).toBe(-1);
  });
});

describe('days and pool buckets', () => {
  it('fills every day, in order', () => {
    const row = { day: 2, calls: 4, answered: 3, qualified: 2, first_time_callers: 1 };
    expect(fillDays(['2026-06-09', '2026-06-10', '2026-06-11'], [row]).map((d) => d.calls)).toEqual([0, 4, 0]);
  });

  it('adds counts and keeps the higher peak when a bucket comes in two parts', () => {
    const a = { leases_started: 2, peak_active_leases: 5, peak_numbers_held: 6, fallbacks: 1, recycles: 0 };
    const b = { leases_started: 3, peak_active_leases: 4, peak_numbers_held: 7, fallbacks: 0, recycles: 2 };
    expect(combineUse(a, b)).toEqual({
      leases_started: 5,
      peak_active_leases: 5,
      peak_numbers_held: 7,
      fallbacks: 1,
      recycles: 2,
    });
  });

  it('shares fallbacks among the visits that asked for a number', () => {
    const use = { leases_started: 2, peak_active_leases: 0, peak_numbers_held: 0, fallbacks: 1, recycles: 0 };
    expect(fallbackShare(use)).toBe(0.3333);
    expect(fallbackShare({ ...use, leases_started: 0, fallbacks: 0 })).toBeNull();
  });

  const hours = ['2026-06-10T04:00:00Z', '2026-06-10T05:00:00Z', '2026-06-10T06:00:00Z', '2026-06-10T07:00:00Z'].map(
    (t) => new Date(t),
  );
  const SLOT = 15 * 60_000;

  it('splits between roll-up and live sweep at the roll-up’s last whole slot, inside the range', () => {
    const t = (iso: string) => new Date(iso).getTime();
    expect(splitAt(hours, new Date('2026-06-10T05:37:00Z'), SLOT)).toBe(t('2026-06-10T05:30:00Z'));
    expect(splitAt(hours, new Date('2026-06-09T00:00:00Z'), SLOT)).toBe(t('2026-06-10T04:00:00Z'));
    expect(splitAt(hours, new Date('2026-06-11T00:00:00Z'), SLOT)).toBe(t('2026-06-10T07:00:00Z'));
    expect(splitAt(hours, null, SLOT)).toBe(t('2026-06-10T04:00:00Z'));
    // An edge off the 15-minute grid: everything live.
    const odd = [new Date('2026-06-10T04:10:00Z'), new Date('2026-06-10T05:10:00Z')];
    expect(splitAt(odd, new Date('2026-06-11T00:00:00Z'), SLOT)).toBe(odd[0]?.getTime());
  });

  it('maps the live sweep’s buckets back onto the report’s', () => {
    const live = liveBuckets(hours, new Date('2026-06-10T05:30:00Z').getTime());
    expect(live.boundaries.map((d) => d.toISOString().slice(11, 16))).toEqual(['05:30', '06:00', '07:00']);
    expect(live.reportBucket).toEqual([2, 3]);
    expect(liveBuckets(hours, hours[0]?.getTime() as number).reportBucket).toEqual([1, 2, 3]);
  });
});
