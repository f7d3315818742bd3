// Writes the tracking numbers into the page: text (also when split across inline elements), tel:/sms:
// links, aria-label and title, open shadow roots, and whatever is added later. Reads no layout.

import type { Match } from './matcher.ts';
import { safe } from './safe.ts';

type Find = (text: string) => Match[];

// Never touched, with everything inside them (a <template>'s content is not in the tree at all).
const SKIP = 'script,style,noscript,textarea,select,[contenteditable],[data-ringpool-ignore]';
// Elements a number may be split across, as in <span>(201)</span> 555-0100.
const INLINE = /^(A|B|I|U|EM|SPAN|STRONG|SMALL|FONT|MARK|SUB|SUP|ABBR|LABEL|TIME)$/;
const ATTRS = ['href', 'aria-label', 'title'];

/** The nearest ancestor that is not inline: text nodes under the same one are read as one text. */
const blockOf = (node: Node): Node => {
  let p = node.parentNode as Node;
  while (INLINE.test(p.nodeName)) p = p.parentNode as Node;
  return p;
};

export const createSwapper = (find: Find, onTel: (a: Element) => void) => {
  /** Writes the matches in a run of texts read as one (text nodes, or one attribute value), last first. */
  const fixRun = (run: { data: string }[]) => {
    let text = '';
    const starts = run.map((t) => {
      const start = text.length;
      text += t.data;
      return start;
    });
    const found = find(text);
    for (let i = found.length; i--; ) {
      const m = found[i] as Match;
      // Same length: each node keeps its own characters' places; else the first node takes it all.
      const same = m.text.length === m.length;
      let first = 1;
      run.forEach((t, j) => {
        const s = starts[j] as number;
        const a = Math.max(s, m.index);
        const b = Math.min(s + t.data.length, m.index + m.length);
        if (a < b) {
          t.data =
            t.data.slice(0, a - s) +
            (same ? m.text.slice(a - m.index, b - m.index) : first ? m.text : '') +
            t.data.slice(b - s);
          first = 0;
        }
      });
    }
  };

  const fixAttributes = (el: Element) => {
    for (const name of ATTRS) {
      const value = { data: el.getAttribute(name) ?? '' };
      // href: only tel: and sms: links, read as written (el.href would percent-encode spaces).
      const was = value.data;
      if (name !== 'href' || /^(tel|sms):/i.test(was)) fixRun([value]);
      if (value.data !== was) {
        el.setAttribute(name, value.data);
        if (/^tel:/i.test(was)) onTel(el);
      }
    }
  };

  /** Swaps everything under `root`, in slices of 30 ms at most, so a huge page never blocks. */
  const scan = (root: Node) => {
    // A shadow root (nodeType 11) has no parent element; a text node is judged by its parent.
    const el = root.nodeType === 1 ? (root as Element) : root.parentElement;
    if (el ? el.closest(SKIP) : root.nodeType !== 11) return;
    const elements: Element[] = [];
    const accept = (n: Node) => {
      if (n.nodeType !== 1) return 1;
      const e = n as Element;
      if (e.matches(SKIP)) return 2;
      if (e.shadowRoot) {
        observe(e.shadowRoot);
        scan(e.shadowRoot);
      }
      if (e.hasAttribute('title') || e.hasAttribute('aria-label') || e.nodeName === 'A') elements.push(e);
      return 3;
    };
    // The walker shows only what is under `root`: `root` itself may be a shadow host (added as it is).
    accept(root);
    const walker = document.createTreeWalker(root, 5, accept);
    let run: Text[] = [];
    let block: Node | undefined;
    let parent: Node | null = null;
    let count = 0;
    // What a slice wrote is the tracking number: its own mutations need no second look. No page script runs
    // inside a slice, so the records taken at its end are the snippet's.
    const rest = () => observer.takeRecords();
    const step: () => void = safe(() => {
      const until = performance.now() + 30;
      for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        // Text nodes under one parent share its block: look it up once.
        if (n.parentNode !== parent) {
          parent = n.parentNode;
          const b = blockOf(n);
          if (b !== block) {
            fixRun(run);
            run = [];
            block = b;
          }
        }
        run.push(n as Text);
        // The clock is read every 256 nodes: reading it costs too.
        if (!(++count & 255) && performance.now() > until) {
          rest();
          return setTimeout(step);
        }
      }
      fixRun(run);
      elements.map(fixAttributes);
      rest();
    });
    step();
  };

  const observer = new MutationObserver(
    safe((records: MutationRecord[]) => {
      const roots = new Set<Node>();
      for (const r of records) {
        if (r.type === 'attributes') fixAttributes(r.target as Element);
        else if (r.type === 'characterData') roots.add(blockOf(r.target));
        // Text added on its own is read with its neighbours; one without digits cannot hold a number.
        else
          for (const n of r.addedNodes)
            if (n.nodeType === 1 || /\d/.test(n.nodeValue ?? '')) roots.add(n.nodeType === 1 ? n : blockOf(n));
      }
      for (const root of roots) if (root.isConnected) scan(root);
      // What was just written is the tracking number: its own mutations need no second look.
      observer.takeRecords();
    }),
  );

  const observe = (root: Node) =>
    observer.observe(root, { childList: true, subtree: true, characterData: true, attributeFilter: ATTRS });

  return { scan, observe };
};
