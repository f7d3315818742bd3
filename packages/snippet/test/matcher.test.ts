import { describe, expect, it } from 'vitest';
import { compile, type PhoneForms, rewrite, type Swap } from '../src/matcher.ts';

const forms = (cc: string, nsn: string, national: string, international: string): PhoneForms => ({
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

/** The text as the visitor sees it once every match is swapped. */
const swapIn = (swaps: Swap[], text: string): string => {
  let out = '';
  let at = 0;
  for (const m of compile(swaps)(text)) {
    out += text.slice(at, m.index) + m.text;
    at = m.index + m.length;
  }
  return out + text.slice(at);
};

describe.each([
  {
    country: 'US',
    swap: { target: US, number: US_TRACKING },
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
    swap: { target: CA, number: CA_TRACKING },
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
    swap: { target: GB, number: GB_TRACKING },
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
    swap: { target: DE, number: DE_TRACKING },
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
    swap: { target: FR, number: FR_TRACKING },
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
    swap: { target: AU, number: AU_TRACKING },
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
  const find = compile([swap]);

  it.each(swapped)('swaps %j for %j, keeping its format', (text, expected) => {
    expect(find(text)).toEqual([{ index: 0, length: text.length, text: expected }]);
  });

  it.each(swapped)('finds %j inside a sentence', (text, expected) => {
    expect(swapIn([swap], `Call us on ${text}, any day.`)).toBe(`Call us on ${expected}, any day.`);
  });

  it.each(untouched)('leaves %j alone', (text) => {
    expect(find(text)).toEqual([]);
    expect(find(`Ref: ${text}.`)).toEqual([]);
  });
});

describe('compile', () => {
  const find = compile([{ target: US, number: US_TRACKING }]);

  it('gives the position of the whole number, country code and parentheses included', () => {
    expect(find('Call us on +1 (201) 555-0100 today')).toEqual([{ index: 11, length: 17, text: '+1 (973) 555-0123' }]);
    expect(find('Call 1-201-555-0100.')).toEqual([{ index: 5, length: 14, text: '1-973-555-0123' }]);
  });

  it('ends the match at the last digit, before closing punctuation', () => {
    expect(swapIn([{ target: US, number: US_TRACKING }], '("201-555-0100"), (201) 555-0100.')).toBe(
      '("973-555-0123"), (973) 555-0123.',
    );
  });

  it('swaps a number touching letters: letters never make a longer number', () => {
    expect(swapIn([{ target: US, number: US_TRACKING }], 'Call(201)555-0100now')).toBe('Call(973)555-0123now');
    expect(swapIn([{ target: US, number: US_TRACKING }], 'Tel:2015550100')).toBe('Tel:9735550123');
    expect(swapIn([{ target: US, number: US_TRACKING }], '201-555-0100x12')).toBe('973-555-0123x12');
  });

  it('swaps a number followed by a space and other digits: `24/7`, `Line 2`', () => {
    expect(swapIn([{ target: US, number: US_TRACKING }], 'Open 24/7 201-555-0100 24 hours')).toBe(
      'Open 24/7 973-555-0123 24 hours',
    );
  });

  it('finds every occurrence, and two targets each with its own tracking number', () => {
    const swaps = [
      { target: GB, number: GB_TRACKING },
      { target: US, number: US_TRACKING },
      { target: CA, number: CA_TRACKING },
    ];
    expect(swapIn(swaps, 'London 020 7946 0958, New York (201) 555-0100 or 201.555.0100, Toronto 416-555-0199')).toBe(
      'London 020 7946 0321, New York (973) 555-0123 or 973.555.0123, Toronto 647-555-0142',
    );
    expect(swapIn(swaps, '(201) 555-0100/(416) 555-0199')).toBe('(973) 555-0123/(647) 555-0142');
  });

  it('swaps tel: and sms: href values', () => {
    const swaps = [
      { target: US, number: US_TRACKING },
      { target: GB, number: GB_TRACKING },
    ];
    expect(swapIn(swaps, 'tel:+12015550100')).toBe('tel:+19735550123');
    expect(swapIn(swaps, 'tel:2015550100')).toBe('tel:9735550123');
    expect(swapIn(swaps, 'tel:+1-201-555-0100')).toBe('tel:+1-973-555-0123');
    expect(swapIn(swaps, 'tel:+442079460958')).toBe('tel:+442079460321');
    expect(swapIn(swaps, 'sms:+12015550100?body=Hi')).toBe('sms:+19735550123?body=Hi');
    expect(swapIn(swaps, 'tel:+12015550100;ext=12')).toBe('tel:+19735550123;ext=12');
  });

  it('gives the same answer on every call (the RegExp is reused)', () => {
    const text = 'a 201-555-0100 b 2015550100';
    expect(find(text)).toHaveLength(2);
    expect(find(text)).toEqual(find(text));
    expect(find('nothing 201-555-0100-7')).toEqual([]);
    expect(find(text)).toHaveLength(2);
  });

  it('finds nothing in text without digits or without targets', () => {
    expect(find('Call us today (all week)')).toEqual([]);
    expect(find('')).toEqual([]);
    expect(compile([])('201-555-0100')).toEqual([]);
  });

  it('ignores a target without a usable number instead of matching everywhere', () => {
    const blank = forms('1', '', '', '');
    expect(compile([{ target: blank, number: US_TRACKING }])('call 201-555-0100')).toEqual([]);
    expect(
      swapIn(
        [
          { target: blank, number: US_TRACKING },
          { target: US, number: US_TRACKING },
        ],
        'x 201-555-0100',
      ),
    ).toBe('x 973-555-0123');
  });
});

describe('rewrite', () => {
  it('writes the tracking number digit for digit in the found format', () => {
    expect(rewrite('(201) 555-0100', US, US_TRACKING)).toBe('(973) 555-0123');
    expect(rewrite('+1 201.555.0100', US, US_TRACKING)).toBe('+1 973.555.0123');
    expect(rewrite('+44 (0)20 7946 0958', GB, GB_TRACKING)).toBe('+44 (0)20 7946 0321');
    expect(rewrite('020 7946 0958', GB, GB_TRACKING)).toBe('020 7946 0321');
  });

  it('keeps the page layout even when the tracking number has another area code of the same length', () => {
    const manchester = forms('44', '1614960123', '0161 496 0123', '+44 161 496 0123');
    expect(rewrite('020 7946 0958', GB, manchester)).toBe('016 1496 0123');
  });

  describe('when the digit counts differ, writes the display form of the same style', () => {
    const swap = { target: DE, number: DE_SHORTER };

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
      expect(compile([swap])(text)).toEqual([{ index: 0, length: text.length, text: expected }]);
    });

    it('in a tel: href, the compact E.164 form', () => {
      expect(swapIn([swap], 'tel:+493012345678')).toBe('tel:+49891234567');
    });

    it('for a tracking number in another country', () => {
      expect(rewrite('(201) 555-0100', US, GB_TRACKING)).toBe('020 7946 0321');
      expect(rewrite('+1 201 555 0100', US, GB_TRACKING)).toBe('+44 20 7946 0321');
      expect(rewrite('1-201-555-0100', US, GB_TRACKING)).toBe('020 7946 0321');
    });
  });
});
