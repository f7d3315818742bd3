import { describe, expect, it } from 'vitest';
import { swapRules } from '../../attribution-api/src/sessions/swap-rules.ts';
import type { PhoneDisplay } from '../../attribution-api/src/sites/phone.ts';
import { compile, type Swap } from '../src/matcher.ts';

// The matching rule is shared: the service builds each swap's rules (attribution-api's sessions/swap-rules.ts)
// and sends them with the swap; the snippet runs them. These tests run both halves, as a page sees them.

const forms = (cc: string, nsn: string, national: string, international: string): PhoneDisplay => ({
  e164: `+${cc}${nsn}`,
  cc,
  nsn,
  national,
  international,
});

// Business numbers (targets) and the tracking numbers leased in their place: every digit that can differ does.
const US = forms('1', '2015550100', '(201) 555-0100', '+1 201 555 0100');
const US_TRACKING = forms('1', '9735550123', '(973) 555-0123', '+1 973 555 0123');
const CA = forms('1', '4165550199', '(416) 555-0199', '+1 416 555 0199');
const CA_TRACKING = forms('1', '6475550142', '(647) 555-0142', '+1 647 555 0142');
const GB = forms('44', '2079460958', '020 7946 0958', '+44 20 7946 0958');
const GB_TRACKING = forms('44', '2079460321', '020 7946 0321', '+44 20 7946 0321');
const DE = forms('49', '3012345678', '030 12345678', '+49 30 12345678');
const DE_TRACKING = forms('49', '3087654321', '030 87654321', '+49 30 87654321');
const DE_SHORTER = forms('49', '891234567', '089 1234567', '+49 89 1234567');
const FR = forms('33', '123456789', '01 23 45 67 89', '+33 1 23 45 67 89');
const FR_TRACKING = forms('33', '198765432', '01 98 76 54 32', '+33 1 98 76 54 32');
const AU = forms('61', '298765432', '(02) 9876 5432', '+61 2 9876 5432');
const AU_TRACKING = forms('61', '291234567', '(02) 9123 4567', '+61 2 9123 4567');

/** A swap as the service sends it. */
const swap = (target: PhoneDisplay, number: PhoneDisplay): Swap => ({ number, rules: swapRules(target, number) });

/** The snippet's finder for these swaps. */
const finder = (swaps: Swap[]) => {
  const find = compile(swaps);
  if (!find) throw new Error('compile refused the swaps');
  return find;
};

/** The text as the visitor sees it once every match is swapped. */
const swapIn = (swaps: Swap[], text: string): string => finder(swaps)(text)?.join('') ?? text;

describe.each([
  {
    country: 'US',
    swap: swap(US, US_TRACKING),
    swapped: [
      ['(201) 555-0100', '(973) 555-0123'],
      ['201-555-0100', '973-555-0123'],
      ['201.555.0100', '973.555.0123'],
      ['2015550100', '9735550123'],
      ['+1 201 555 0100', '+1 973 555 0123'],
      ['1-201-555-0100', '1-973-555-0123'],
      ['1 (201) 555-0100', '1 (973) 555-0123'],
      ['12015550100', '19735550123'],
      ['+12015550100', '+19735550123'],
      ['+1 (201) 555-0100', '+1 (973) 555-0123'],
      ['+1-201-555-0100', '+1-973-555-0123'],
      ['+1 201.555.0100', '+1 973.555.0123'],
      ['001 201 555 0100', '001 973 555 0123'],
      ['(201)555-0100', '(973)555-0123'],
      ['(201) 555 - 0100', '(973) 555 - 0123'],
      ['201/555-0100', '973/555-0123'],
      ['201\u00a0555\u00a00100', '973\u00a0555\u00a00123'],
      ['201\u202f555\u202f0100', '973\u202f555\u202f0123'],
      ['201\u2013555\u20130100', '973\u2013555\u20130123'],
      ['201\u2011555\u20110100', '973\u2011555\u20110123'],
    ],
    untouched: [
      '92015550100',
      '2015550100123',
      '+1 201 555 01001',
      '201-555-01001',
      'Order 201-555-0100-7',
      'Order 7-201-555-0100',
      '201.555.0100.5',
      '91-201-555-0100',
      '0201 555 0100',
      '+44 201 555 0100',
      '201-555-0101',
      '201-555-010',
      '202-555-0100',
      '201-555 0199',
    ],
  },
  {
    country: 'CA',
    swap: swap(CA, CA_TRACKING),
    swapped: [
      ['(416) 555-0199', '(647) 555-0142'],
      ['416-555-0199', '647-555-0142'],
      ['+1 416 555 0199', '+1 647 555 0142'],
      ['1-416-555-0199', '1-647-555-0142'],
      ['4165550199', '6475550142'],
    ],
    untouched: ['24165550199', '416-555-01990', '416-555-0198', '(416) 555-019'],
  },
  {
    country: 'GB',
    swap: swap(GB, GB_TRACKING),
    swapped: [
      ['020 7946 0958', '020 7946 0321'],
      ['+44 20 7946 0958', '+44 20 7946 0321'],
      ['+44 (0)20 7946 0958', '+44 (0)20 7946 0321'],
      ['+44 (0) 20 7946 0958', '+44 (0) 20 7946 0321'],
      ['0044 20 7946 0958', '0044 20 7946 0321'],
      ['00 44 20 7946 0958', '00 44 20 7946 0321'],
      ['(020) 7946 0958', '(020) 7946 0321'],
      ['020-7946-0958', '020-7946-0321'],
      ['020.7946.0958', '020.7946.0321'],
      ['0 20 7946 0958', '0 20 7946 0321'],
      ['02079460958', '02079460321'],
      ['20 7946 0958', '20 7946 0321'],
      ['+442079460958', '+442079460321'],
      ['020\u00a07946\u00a00958', '020\u00a07946\u00a00321'],
    ],
    untouched: [
      '020 7946 09581',
      '1020 7946 0958',
      '020 7946 0959',
      '020 7946 0958-2',
      '+49 20 7946 0958',
      '+1 20 7946 0958',
      '021 7946 0958',
    ],
  },
  {
    country: 'DE',
    swap: swap(DE, DE_TRACKING),
    swapped: [
      ['030 12345678', '030 87654321'],
      ['+49 30 12345678', '+49 30 87654321'],
      ['+49 (0)30 12345678', '+49 (0)30 87654321'],
      ['0049 30 12345678', '0049 30 87654321'],
      ['030/12345678', '030/87654321'],
      ['030 / 1234 5678', '030 / 8765 4321'],
      ['(030) 12 34 56 78', '(030) 87 65 43 21'],
      ['+49-30-12345678', '+49-30-87654321'],
      ['030-12345678', '030-87654321'],
      ['03012345678', '03087654321'],
    ],
    untouched: [
      '030 12345678-9',
      '030 123456789',
      '030 1234567',
      '030 12345679',
      '+43 30 12345678',
      '040 12345678',
      '030 12345678\u20139',
    ],
  },
  {
    country: 'FR',
    swap: swap(FR, FR_TRACKING),
    swapped: [
      ['01 23 45 67 89', '01 98 76 54 32'],
      ['01.23.45.67.89', '01.98.76.54.32'],
      ['01-23-45-67-89', '01-98-76-54-32'],
      ['0123456789', '0198765432'],
      ['+33 1 23 45 67 89', '+33 1 98 76 54 32'],
      ['+33 (0)1 23 45 67 89', '+33 (0)1 98 76 54 32'],
      ['0033 1 23 45 67 89', '0033 1 98 76 54 32'],
      ['01\u202f23\u202f45\u202f67\u202f89', '01\u202f98\u202f76\u202f54\u202f32'],
    ],
    untouched: ['01 23 45 67 890', '01 23 45 67 88', '+32 1 23 45 67 89', '101 23 45 67 89', '02 23 45 67 89'],
  },
  {
    country: 'AU',
    swap: swap(AU, AU_TRACKING),
    swapped: [
      ['(02) 9876 5432', '(02) 9123 4567'],
      ['02 9876 5432', '02 9123 4567'],
      ['+61 2 9876 5432', '+61 2 9123 4567'],
      ['+61 (0)2 9876 5432', '+61 (0)2 9123 4567'],
      ['0298765432', '0291234567'],
      ['02-9876-5432', '02-9123-4567'],
    ],
    untouched: ['(02) 9876 54321', '(03) 9876 5432', '(02) 9876 5433', '(02) 9876 543', '+64 2 9876 5432'],
  },
])('$country', ({ swap, swapped, untouched }) => {
  const find = finder([swap]);

  it.each(swapped)('swaps %j for %j, keeping its format', (text, expected) => {
    // One unit per unit of the text: a number split across text nodes stays split the same way.
    expect(find(text)).toEqual(expected.split(''));
  });

  it.each(swapped)('finds %j inside a sentence', (text, expected) => {
    expect(swapIn([swap], `Call us on ${text}, any day.`)).toBe(`Call us on ${expected}, any day.`);
  });

  it.each(untouched)('leaves %j alone', (text) => {
    expect(find(text)).toBeUndefined();
    expect(find(`Ref: ${text}.`)).toBeUndefined();
  });
});

describe('compile', () => {
  const us = swap(US, US_TRACKING);
  const find = finder([us]);

  it('maps the whole number, country code and parentheses included, and nothing else', () => {
    const text = 'Call us on +1 (201) 555-0100 today';
    const units = find(text) ?? [];
    expect(units).toHaveLength(text.length);
    expect(units.slice(0, 11).join('')).toBe('Call us on ');
    expect(units.slice(11, 28)).toEqual('+1 (973) 555-0123'.split(''));
    expect(units.slice(28).join('')).toBe(' today');
    expect(swapIn([us], 'Call 1-201-555-0100.')).toBe('Call 1-973-555-0123.');
  });

  it('puts a tracking number of another length all on the first unit of the match', () => {
    expect(finder([swap(US, GB_TRACKING)])('(201) 555-0100!')).toEqual(['020 7946 0321', ...Array(13).fill(''), '!']);
  });

  it('ends the match at the last digit, before closing punctuation', () => {
    expect(swapIn([us], '("201-555-0100"), (201) 555-0100.')).toBe('("973-555-0123"), (973) 555-0123.');
  });

  it('swaps a number touching letters: letters never make a longer number', () => {
    expect(swapIn([us], 'Call(201)555-0100now')).toBe('Call(973)555-0123now');
    expect(swapIn([us], 'Tel:2015550100')).toBe('Tel:9735550123');
    expect(swapIn([us], '201-555-0100x12')).toBe('973-555-0123x12');
  });

  it('swaps a number followed by a space and other digits: `24/7`, `Line 2`', () => {
    expect(swapIn([us], 'Open 24/7 201-555-0100 24 hours')).toBe('Open 24/7 973-555-0123 24 hours');
  });

  it('finds every occurrence, and two targets each with its own tracking number', () => {
    const swaps = [swap(GB, GB_TRACKING), us, swap(CA, CA_TRACKING)];
    expect(swapIn(swaps, 'London 020 7946 0958, New York (201) 555-0100 or 201.555.0100, Toronto 416-555-0199')).toBe(
      'London 020 7946 0321, New York (973) 555-0123 or 973.555.0123, Toronto 647-555-0142',
    );
    expect(swapIn(swaps, '(201) 555-0100/(416) 555-0199')).toBe('(973) 555-0123/(647) 555-0142');
    // A swap whose number is written differently (four rules) beside one written digit for digit (one rule).
    expect(swapIn([swap(DE, DE_SHORTER), us], '+49 30 12345678 or 201-555-0100')).toBe(
      '+49 89 1234567 or 973-555-0123',
    );
  });

  it('swaps tel: and sms: href values', () => {
    const swaps = [us, swap(GB, GB_TRACKING)];
    expect(swapIn(swaps, 'tel:+12015550100')).toBe('tel:+19735550123');
    expect(swapIn(swaps, 'tel:2015550100')).toBe('tel:9735550123');
    expect(swapIn(swaps, 'tel:+1-201-555-0100')).toBe('tel:+1-973-555-0123');
    expect(swapIn(swaps, 'tel:+442079460958')).toBe('tel:+442079460321');
    expect(swapIn(swaps, 'sms:+12015550100?body=Hi')).toBe('sms:+19735550123?body=Hi');
    expect(swapIn(swaps, 'tel:+12015550100;ext=12')).toBe('tel:+19735550123;ext=12');
  });

  it('gives the same answer on every call (the RegExp is reused)', () => {
    const text = 'a 201-555-0100 b 2015550100';
    expect(swapIn([us], text)).toBe('a 973-555-0123 b 9735550123');
    expect(find('nothing 201-555-0100-7')).toBeUndefined();
    expect(swapIn([us], text)).toBe('a 973-555-0123 b 9735550123');
  });

  it('finds nothing in text without digits', () => {
    expect(find('Call us today (all week)')).toBeUndefined();
    expect(find('')).toBeUndefined();
  });

  it('gives no finder without a usable rule, and throws on a broken one: the page keeps all its numbers', () => {
    expect(compile([])).toBeUndefined();
    expect(
      compile([{ ...us, rules: [{ pattern: '2015550100', replacement: undefined as unknown as string }] }]),
    ).toBeUndefined();
    // A lease cached by an older snippet, without rules.
    expect(() => compile([{ number: US_TRACKING } as unknown as Swap])).toThrow(TypeError);
    expect(() => compile([{ ...us, rules: [{ pattern: '(2', replacement: '1' }] }])).toThrow(SyntaxError);
  });

  it('never loops on a pattern that matches the empty string: it throws, and the text stays as it was', () => {
    expect(() => swapIn([{ ...us, rules: [{ pattern: '(?:1)?', replacement: '2' }] }], 'xy')).toThrow(TypeError);
  });

  it('leaves a target too short to tell apart from other numbers (it has no rule)', () => {
    const short = forms('1', '5550', '5550', '+1 5550');
    expect(swap(short, US_TRACKING).rules).toEqual([]);
    expect(swapIn([swap(short, US_TRACKING), us], '5550 or 201-555-0100')).toBe('5550 or 973-555-0123');
  });
});

describe('the tracking number written like the page', () => {
  it('digit for digit in the found format', () => {
    expect(swapIn([us()], '(201) 555-0100')).toBe('(973) 555-0123');
    expect(swapIn([us()], '+1 201.555.0100')).toBe('+1 973.555.0123');
    expect(swapIn([swap(GB, GB_TRACKING)], '+44 (0)20 7946 0958')).toBe('+44 (0)20 7946 0321');
    expect(swapIn([swap(GB, GB_TRACKING)], '020 7946 0958')).toBe('020 7946 0321');
  });

  it('keeps the page layout even when the tracking number has another area code of the same length', () => {
    const manchester = forms('44', '1614960123', '0161 496 0123', '+44 161 496 0123');
    expect(swapIn([swap(GB, manchester)], '020 7946 0958')).toBe('016 1496 0123');
  });

  it('with the tracking digits in a 15-digit number, never read as part of a group reference ($01)', () => {
    const long = forms('49', '301234567890123', '030 1234567890123', '+49 30 1234567890123');
    const other = forms('49', '309876543210987', '030 9876543210987', '+49 30 9876543210987');
    expect(swapIn([swap(long, other)], '030 12345 67890 123')).toBe('030 98765 43210 987');
  });

  describe('when the digit counts differ, the display form of the same style', () => {
    const shorter = swap(DE, DE_SHORTER);

    it.each([
      ['030 12345678', '089 1234567'],
      ['030/1234 5678', '089 1234567'],
      ['+49 30 12345678', '+49 89 1234567'],
      ['+49 (0)30 12345678', '+49 89 1234567'],
      ['0049 30 12345678', '+49 89 1234567'],
      ['03012345678', '0891234567'],
      ['+493012345678', '+49891234567'],
      ['3012345678', '0891234567'],
    ])('%j becomes %j', (text, expected) => {
      expect(swapIn([shorter], text)).toBe(expected);
      expect(swapIn([shorter], `Call ${text}.`)).toBe(`Call ${expected}.`);
    });

    it('in a tel: href, the compact E.164 form', () => {
      expect(swapIn([shorter], 'tel:+493012345678')).toBe('tel:+49891234567');
    });

    it('for a tracking number in another country', () => {
      expect(swapIn([swap(US, GB_TRACKING)], '(201) 555-0100')).toBe('020 7946 0321');
      expect(swapIn([swap(US, GB_TRACKING)], '+1 201 555 0100')).toBe('+44 20 7946 0321');
      expect(swapIn([swap(US, GB_TRACKING)], '1-201-555-0100')).toBe('020 7946 0321');
      expect(swapIn([swap(US, GB_TRACKING)], 'tel:2015550100')).toBe('tel:02079460321');
    });
  });
});

function us(): Swap {
  return swap(US, US_TRACKING);
}
