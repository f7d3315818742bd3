// Finds a site's business numbers in page text and writes the leased tracking numbers in their place. The
// service sends, with each swap, the rules that do it in any format of the target's country, keeping the
// page's format (attribution-api's sessions/swap-rules.ts); this module only runs them. Pure: no DOM, no I/O;
// the DOM layer calls it on text and on tel:/sms: hrefs.

/** One way to find a business number, and what to write instead (a String#replace replacement). */
export interface SwapRule {
  pattern: string;
  replacement: string;
}

/** One business number of the page and what replaces it (the fields of the service's answer the snippet reads). */
export interface Swap {
  /** The tracking number leased to the visitor. */
  number: { e164: string };
  rules: SwapRule[];
}

/**
 * What a text becomes: one entry per UTF-16 unit of `text`, or undefined when it holds no business number.
 * Where the tracking number is as long as the match, each unit takes its own character (so a number split
 * across several text nodes stays split the same way); else the match's first unit takes it all.
 */
export type Find = (text: string) => string[] | undefined;

/**
 * All the swaps' rules as one RegExp, in a Find. Undefined without a usable rule; throws on a swap without
 * rules (a lease cached by an older snippet) or a pattern that is no RegExp. Either way the page keeps all
 * its own numbers.
 */
export const compile = (swaps: Swap[]): Find | undefined => {
  const rules = swaps.flatMap((s) => s.rules);
  // A replacement is text with a digit (a number, or a $01 group reference): never "undefined".
  if (rules.length && rules.every((r) => /\d/.test(r.replacement))) {
    // Rule k's pattern is named group _k: its own groups are numbered, for its replacement.
    const re = RegExp(rules.map((r, k) => `(?<_${k}>${r.pattern})`).join('|'), 'g');
    return (text) => {
      let units: string[] | undefined;
      // matchAll works on a copy of `re` and steps over an empty match: no state kept, no endless loop.
      for (const m of text.matchAll(re)) {
        // Exactly one rule took part: the one group with a value.
        const rule = rules[Object.values(m.groups as object).findIndex((g) => g)] as SwapRule;
        const found = m[0];
        const to = found.replace(RegExp(rule.pattern), rule.replacement);
        units ??= text.split('');
        for (let i = 0; i < found.length; i++)
          units[(m.index as number) + i] = to.length === found.length ? (to[i] as string) : i ? '' : to;
      }
      return units;
    };
  }
};
