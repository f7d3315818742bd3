import { describe, expect, it } from 'vitest';
import { swapRules } from '../../src/sessions/swap-rules.ts';
import { displayOf, type PhoneDisplay } from '../../src/sites/phone.ts';

// The rules are half of the matching: the snippet runs them (packages/snippet/test/matcher.test.ts runs both
// halves over a table of formats and near misses per country). Here: what the service promises of them.

/** What one text becomes under the rules, applied one by one as String#replace would (no overlaps here). */
const apply = (rules: { pattern: string; replacement: string }[], text: string) =>
  rules.reduce((t, r) => t.replace(RegExp(r.pattern, 'g'), r.replacement), text);

describe.each([
  ['+12015550100', '+12015550123', ['(201) 555-0100', '+1 201 555 0100', '1-201-555-0100', '2015550100']],
  ['+442079460958', '+442079460321', ['020 7946 0958', '+44 20 7946 0958', '+44 (0)20 7946 0958', '0044 20 7946 0958']],
  ['+493012345678', '+493087654321', ['030 12345678', '+49 30 12345678', '030/12345678']],
  ['+33123456789', '+33198765432', ['01 23 45 67 89', '+33 1 23 45 67 89', '01.23.45.67.89']],
  ['+61298765432', '+61291234567', ['(02) 9876 5432', '+61 2 9876 5432', '0298765432']],
])('swapRules(%s, %s)', (targetE164, numberE164, printed) => {
  const target = displayOf(targetE164);
  const number = displayOf(numberE164);
  const rules = swapRules(target, number);

  it('is one rule that writes the tracking number digit for digit in every format of the target', () => {
    expect(rules).toHaveLength(1);
    const skeleton = (t: string) => t.replace(/\d/g, '#');
    for (const text of [target.national, target.international, target.e164, ...printed]) {
      const swapped = apply(rules, text);
      // The page's format (every character that is not a digit, and where the digits are) is kept.
      expect(skeleton(swapped)).toBe(skeleton(text));
      expect(swapped.replace(/\D/g, '').endsWith(number.nsn)).toBe(true);
      expect(apply(rules, `Call ${text} today`)).toBe(`Call ${swapped} today`);
    }
  });

  it('writes the tracking number as the service displays it where the page used its display forms', () => {
    expect(apply(rules, target.national)).toBe(number.national);
    expect(apply(rules, target.international)).toBe(number.international);
    expect(apply(rules, target.e164)).toBe(number.e164);
  });

  it('never matches where a digit touches, nor a longer number', () => {
    for (const text of [`9${target.nsn}`, `${target.nsn}1`, `${target.national}-7`]) {
      expect(apply(rules, text)).toBe(text);
    }
  });
});

describe('swapRules for numbers of different lengths or countries', () => {
  const target = displayOf('+493012345678');
  const shorter = displayOf('+49891234567');
  const rules = swapRules(target, shorter);

  it('writes the display form of the style found: international or national, compact or separated', () => {
    expect(rules).toHaveLength(4);
    expect(apply(rules, '+493012345678')).toBe(shorter.e164);
    expect(apply(rules, '+49 (0)30 1234 5678')).toBe(shorter.international);
    expect(apply(rules, '03012345678')).toBe('0891234567');
    expect(apply(rules, '030/1234 5678')).toBe(shorter.national);
  });

  it('writes a number of another country in its own forms', () => {
    const london = displayOf('+442079460321');
    const fromUs = swapRules(displayOf('+12015550100'), london);
    expect(apply(fromUs, '(201) 555-0100')).toBe(london.national);
    expect(apply(fromUs, '+1 201 555 0100')).toBe(london.international);
  });
});

describe('swapRules', () => {
  it('uses no named group: the snippet names each rule’s pattern to tell them apart', () => {
    for (const r of swapRules(displayOf('+493012345678'), displayOf('+49891234567'))) {
      expect(r.pattern).not.toMatch(/\(\?<[^=!]/);
    }
  });

  it('gives no rule for a target too short to tell apart from other numbers', () => {
    const short: PhoneDisplay = { e164: '+15550', cc: '1', nsn: '5550', national: '5550', international: '+1 5550' };
    expect(swapRules(short, displayOf('+12015550123'))).toEqual([]);
  });
});
