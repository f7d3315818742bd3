import { describe, expect, it } from 'vitest';
import { formValue, parseForm } from '../../../src/calls/providers/form.ts';

describe('parseForm', () => {
  it('keeps the fields in the order sent, repeated names included', () => {
    expect(parseForm('To=%2B12015550100&From=%2B14155550199&Digits=1&Digits=2&To=x')).toEqual({
      ok: true,
      pairs: [
        ['To', '+12015550100'],
        ['From', '+14155550199'],
        ['Digits', '1'],
        ['Digits', '2'],
        ['To', 'x'],
      ],
    });
  });

  it.each([
    ['CallerName=Jane+Doe', [['CallerName', 'Jane Doe']]],
    ['a=1%2B1', [['a', '1+1']]],
    ['a=%20b%20', [['a', ' b ']]],
    [
      'City=Z%C3%BCrich&Cur=%E2%82%AC',
      [
        ['City', 'Zürich'],
        ['Cur', '€'],
      ],
    ],
    [
      'a=&b',
      [
        ['a', ''],
        ['b', ''],
      ],
    ],
    [
      'a=1&&b=2&',
      [
        ['a', '1'],
        ['b', '2'],
      ],
    ],
    ['=v', [['', 'v']]],
    ['a=b=c', [['a', 'b=c']]],
    ['a%26b=c%3Dd', [['a&b', 'c=d']]],
    ['', []],
  ])('decodes %j', (body, pairs) => {
    expect(parseForm(body)).toEqual({ ok: true, pairs });
  });

  it('decodes well-formed bodies as URLSearchParams does', () => {
    const bodies = ['a=1&b=2&a=3', 'x=%F0%9F%93%9E+call&y=%2B%26%3D', 'k&k=&=&q=%7E'];
    for (const body of bodies) {
      const parsed = parseForm(body);
      expect(parsed.ok && parsed.pairs).toEqual([...new URLSearchParams(body)]);
    }
  });

  it.each([
    'a=%',
    'a=%2',
    'a=%zz',
    '%G1=1',
    'a=1&b=%E2%82', // a truncated UTF-8 sequence
    'a=%FF', // not UTF-8 at all
    'a=%C0%AF', // an overlong encoding of '/'
  ])('rejects %j instead of guessing', (body) => {
    const parsed = parseForm(body);
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.error).toMatch(/malformed percent-encoding in form field \d/);
  });

  it('names the field that is malformed', () => {
    expect(parseForm('a=1&b=2&c=%x')).toEqual({ ok: false, error: 'malformed percent-encoding in form field 3' });
  });
});

describe('formValue', () => {
  it('reads the first value of a field, or undefined', () => {
    const pairs = [
      ['From', '+1'],
      ['From', '+2'],
    ] as const;
    expect(formValue(pairs, 'From')).toBe('+1');
    expect(formValue(pairs, 'To')).toBeUndefined();
  });
});
