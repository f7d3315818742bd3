import { describe, expect, it } from 'vitest';
import { formatAmount, minorDigits, perUnit } from '../../../src/reports/money.ts';

describe('money', () => {
  it('knows each currency’s minor unit', () => {
    expect([minorDigits('USD'), minorDigits('JPY'), minorDigits('KWD'), minorDigits('EUR')]).toEqual([2, 0, 3, 2]);
  });

  it('writes amounts with at least the minor digits, keeping finer ones', () => {
    expect(formatAmount('1500', 'USD')).toBe('1500.00');
    expect(formatAmount('10.500000', 'USD')).toBe('10.50');
    expect(formatAmount('12.345', 'USD')).toBe('12.345');
    expect(formatAmount('1500.00', 'JPY')).toBe('1500');
    expect(formatAmount('0.5', 'KWD')).toBe('0.500');
  });

  it('divides exactly and rounds half up to the minor unit', () => {
    expect(perUnit('300', 3, 'USD')).toBe('100.00');
    expect(perUnit('100', 3, 'USD')).toBe('33.33');
    expect(perUnit('200', 3, 'USD')).toBe('66.67');
    expect(perUnit('0.125', 1, 'USD')).toBe('0.13');
    expect(perUnit('0.124999', 1, 'USD')).toBe('0.12');
    expect(perUnit('1000', 3, 'JPY')).toBe('333');
    expect(perUnit('1', 3, 'KWD')).toBe('0.333');
    expect(perUnit('999999999999.999999', 7, 'USD')).toBe('142857142857.14');
    expect(perUnit('10', 0, 'USD')).toBeNull();
  });
});
