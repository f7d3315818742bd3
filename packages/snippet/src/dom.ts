// Writes the tracking numbers into the page: text (also when split across inline elements), tel:/sms:
// links, aria-label and title, open shadow roots, and whatever is added later. Reads no layout.

import type { Find } from './matcher.ts';
import { now, safe } from './safe.ts';

// Never touched, with everything inside them (a <template>'s content is not in the tree at all).
const SKIP = 'script,style,noscript,textarea,select,[contenteditable],[data-ringpool-ignore]';
// Elements a number may be split across, as in <span>(201)</span> 555-0100. Not <sup>: a footnote mark after a
// number (201-555-0100<sup>1</sup>) is no digit of it.
const INLINE = /^([ABIU]|EM|SPAN|STRONG|SMALL|FONT|MARK|ABBR|LABEL)$/;
const ATTRS = ['href', 'aria-label', 'title'];
// The elements that may hold a number in one of ATTRS (the href prefix is checked again, exactly).
const CARRIERS = '[href^=tel i],[href^=sms i],[aria-label],[title]';

/** The nearest ancestor that is not inline: text nodes under the same one are read as one text. */
const blockOf = (node: Node): Node => {
  let p = node.parentNode as Node;
  while (INLINE.test(p.nodeName)) p = p.parentNode as Node;
  return p;
};

/** Whether `node` is an element in (or that is) something never touched. Other nodes (a shadow root) are not. */
const skipped = (node: Node | null) => (node as Element).closest?.(SKIP);

/** Swaps the page now and whatever changes in it later. */
export const createSwapper = (find: Find, tels: WeakSet<Element>, onChange: () => void) => {
  /** Writes the tracking numbers in a run of nodes read as one text (text nodes, or one Attr); true if any. */
  const fixRun = (run: Node[]) => {
    const units = find(run.map((t) => t.nodeValue).join(''));
    if (units)
      for (const t of run) {
        const was = t.nodeValue as string;
        const value = units.splice(0, was.length).join('');
        // Unchanged nodes are not written: a write is a mutation, and may move a caret.
        if (value !== was) t.nodeValue = value;
      }
    return units;
  };

  /** Reads a block's text: each run of its own text nodes (not a nested block's, not a skipped one's) as one. */
  const fixBlock = (block: Node) => {
    const walker = document.createTreeWalker(block, 4);
    let run: Node[] = [];
    for (let t = walker.nextNode(); t; t = walker.nextNode()) {
      if (blockOf(t) === block && !skipped(t.parentNode)) run.push(t);
      else {
        fixRun(run);
        run = [];
      }
    }
    fixRun(run);
  };

  const fixAttributes = (el: Element) => {
    if (!skipped(el))
      for (const name of ATTRS) {
        const attr = el.getAttributeNode?.(name);
        // href: only tel: and sms: links, read as written (el.href would percent-encode spaces). A swapped tel:
        // link is remembered: a tap on it is a call intent.
        if (attr && (name !== 'href' || /^(tel|sms):/i.test(attr.value)) && fixRun([attr]) && /^tel:/i.test(attr.value))
          tels.add(el);
      }
  };

  /**
   * Swaps everything in `root` (an element, a shadow root, a text node), in slices of about 20 ms, so that a huge
   * page never blocks (a slice may overrun: the budget is no task over 50 ms). One walk over elements and text,
   * without a filter callback: a text node with a digit sends its block to fixBlock (once); an element with an
   * open shadow root has it observed and scanned.
   */
  const scan = (root: Node) => {
    // Skipped places are checked where something would be written: a text's run, an attribute, a shadow host.
    const walker = document.createTreeWalker(root, 5);
    const done = new Set<Node>();
    let n: Node | null = root;
    let count = 0;
    // What a slice wrote is the tracking number: its own mutations need no second look. No page script runs
    // inside a slice, so the records taken at its end are the snippet's.
    const step: () => void = safe(() => {
      const until = now() + 20;
      for (; n; n = walker.nextNode()) {
        // The clock is read every 256 nodes: reading it costs too.
        if (!(++count & 255) && now() > until) {
          observer.takeRecords();
          return setTimeout(step);
        }
        const shadow = (n as Element).shadowRoot;
        if (shadow && !skipped(n)) {
          observe(shadow);
          scan(shadow);
        }
        // Text with a digit may hold a number, or part of one (an element's nodeValue is null).
        if (/\d/.test(n.nodeValue as string)) {
          // Each block once: `add` makes the set larger only for a new one.
          const block = blockOf(n);
          if (done.size < done.add(block).size) fixBlock(block);
        }
      }
      for (const el of [root, ...((root as Element).querySelectorAll?.(CARRIERS) ?? [])]) fixAttributes(el as Element);
      observer.takeRecords();
    });
    step();
  };

  const observer = new MutationObserver(
    safe((records: MutationRecord[]) => {
      onChange();
      // An element whose attribute changed is scanned with what it holds: it is most often a leaf (a link).
      // Each scan drops the records of its own writes.
      for (const r of records)
        for (const n of r.type === 'childList' ? r.addedNodes : [r.target]) if (n.isConnected) scan(n);
    }),
  );

  const observe = (root: Node) =>
    observer.observe(root, { childList: true, subtree: true, characterData: true, attributeFilter: ATTRS });

  observe(document.documentElement);
  scan(document.documentElement);
};
