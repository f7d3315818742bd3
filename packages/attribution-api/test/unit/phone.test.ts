import { describe, expect, it } from 'vitest';
import { displayOf, InvalidPhoneNumber, toE164 } from '../../src/sites/phone.ts';

describe('toE164', () => {
  it.each([
    ['(201) 555-0100', 'US', '+12015550100'],
    ['201.555.0100', 'US', '+12015550100'],
    ['1-201-555-0100', 'US', '+12015550100'],
    ['+1 201 555 0100', 'GB', '+12015550100'],
    ['020 7946 0958', 'GB', '+442079460958'],
    ['+44 (0)20 7946 0958', 'GB', '+442079460958'],
    ['030 12345678', 'DE', '+493012345678'],
    ['01 23 45 67 89', 'FR', '+33123456789'],
    ['(02) 9876 5432', 'AU', '+61298765432'],
  ])('normalises %s (%s) to %s', (input, country, e164) => {
    expect(toE164(input, country)).toBe(e164);
  });

  it.each([
    ['555-1234', 'US'],
    ['abc', 'US'],
    ['+1 201 555 01', 'US'],
    ['12345678901234567890', 'US'],
    ['201 555 0100', 'XX'],
  ])('rejects %s (%s)', (input, country) => {
    expect(() => toE164(input, country)).toThrow(InvalidPhoneNumber);
  });
});

describe('displayOf', () => {
  it('gives the national and international forms the snippet writes', () => {
    expect(displayOf('+442079460958')).toEqual({
      e164: '+442079460958',
      cc: '44',
      nsn: '2079460958',
      national: '020 7946 0958',
      international: '+44 20 7946 0958',
    });
  });
});
