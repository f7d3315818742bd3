// How the snippet finds a business number (a swap target) in page text, in any common format of its country,
// and writes the tracking number in its place in the page's own format: as rules (a RegExp source and its
// replacement string) that the service sends with each swap and the snippet runs as they are. Built here, not
// in the snippet, so that the snippet stays small. Pure: no I/O.

import type { PhoneDisplay } from '../sites/phone.ts';

/** One way to find the target and what to write instead: `text.replace(RegExp(pattern, 'g'), replacement)`. */
export interface SwapRule {
  pattern: string;
  replacement: string;
}

// Zero or more of: whitespace (incl. U+00A0, U+202F), . / ( ) and the hyphens/dashes U+2010–U+2015.
const SEP = '[\\s./()\\u2010-\\u2015-]*';
// A digit joined by one of these continues the number: `201-555-0100-7`, `030 123456-78`.
const JOIN = '[-.\\u2010-\\u2015]';
// Before a match: no digit, no joined digit, no foreign "+cc " (`+32 1 23 45 67 89` is not `01 23 45 67 89`).
const BEFORE = `(?<!\\d${JOIN}?|\\+\\d+${SEP})`;
// After a match: no digit, no joined digit (a longer or different number merely containing the digits).
const AFTER = `(?!\\d|${JOIN}\\d)`;
const PLUS = '(?:\\+|00)';

const digits = (s: string) => s.replace(/\D/g, '');

/** The digits of `s` with `sep` between them. */
const spread = (s: string, sep = SEP) => digits(s).split('').join(sep);

/**
 * The rules for showing `number` where the page prints `target`, tried in this order at each place of a text.
 *
 * Same country and as many digits: one rule that finds the target in any format, with an optional opening
 * parenthesis, country code (`+1`, `0044`, `+44 (0)`) and national prefix (`1-`, `0`), and writes the tracking
 * number digit for digit in the same format (prefix and separators as found).
 *
 * Otherwise the page's format cannot be kept: four rules that write the tracking number's display form of the
 * same style: international or national, compact (digits only, as in a tel: href) or with separators.
 *
 * A target with fewer than 5 digits (never a valid E.164 number) gets no rule: it would match other numbers.
 */
export function swapRules(target: PhoneDisplay, number: PhoneDisplay): SwapRule[] {
  const nsn = digits(target.nsn);
  if (nsn.length < 5) return [];
  // The national prefix: NANP's long-distance "1", else what `national` prints before the nsn ("0").
  const prefix = target.cc === '1' ? '1' : digits(target.national).slice(0, -nsn.length);
  const trunk = (sep: string) => (prefix ? `(?:${spread(prefix, sep)}${sep})?` : '');
  const country = (sep: string) => `${PLUS}${sep}${spread(target.cc, sep)}${sep}`;
  const rule = (find: string, replacement: string) => ({ pattern: `${BEFORE}${find}${AFTER}`, replacement });

  const to = digits(number.nsn);
  if (number.cc === target.cc && to.length === nsn.length) {
    // Group 1: all before the nsn; groups 2…n: the separators after each digit but the last. Two-digit group
    // numbers ($01) are never read together with the tracking digit that follows them.
    const ref = (k: number) => `$${String(k).padStart(2, '0')}`;
    return [
      rule(
        `(\\(?(?:${country(SEP)})?${trunk(SEP)})${nsn.split('').join(`(${SEP})`)}`,
        ref(1) + [...to].map((d, i) => (i ? ref(i + 1) : '') + d).join(''),
      ),
    ];
  }
  return [
    rule(`${country('')}${trunk('')}${nsn}`, number.e164),
    rule(`\\(?${country(SEP)}${trunk(SEP)}${spread(nsn)}`, number.international),
    rule(`${trunk('')}${nsn}`, digits(number.national)),
    rule(`\\(?${trunk(SEP)}${spread(nsn)}`, number.national),
  ];
}
