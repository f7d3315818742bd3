// The only way the dashboard makes elements: text goes in as text nodes, attributes through
// setAttribute on names that cannot run code or load anything. Nothing is ever parsed as HTML.

export type Child = Node | string | number | null | undefined | false;

const UNSAFE_ATTRIBUTE = /^(on|href$|src$|srcdoc$|style$|formaction$|action$|xlink:)/i;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes?: Record<string, string> | null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (UNSAFE_ATTRIBUTE.test(name)) throw new Error(`h: ${name} is not set this way`);
    el.setAttribute(name, value);
  }
  append(el, children);
  return el;
}

/** Appends children, strings and numbers as text. */
export function append(parent: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }
}

/** An http(s) URL from the data as a link opening elsewhere; anything else as plain text. */
export function safeLink(value: string | null): Child {
  if (!value) return '—';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return value;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return value;
  const a = h('a', { rel: 'noopener noreferrer', target: '_blank' }, value);
  a.href = url.href;
  return a;
}

export function byId<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing from the page`);
  return el as T;
}

/** A plain data table: the text alternative of a chart. */
export function dataTable(caption: string, headers: string[], rows: Child[][]): HTMLTableElement {
  return h(
    'table',
    { class: 'data' },
    h('caption', null, caption),
    h('thead', null, h('tr', null, ...headers.map((text) => h('th', { scope: 'col' }, text)))),
    h('tbody', null, ...rows.map((cells) => h('tr', null, ...cells.map((cell) => h('td', null, cell))))),
  );
}
