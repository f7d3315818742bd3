import type { Call } from './api.ts';
import { formatDuration, formatTime } from './dates.ts';
import { type Child, h, safeLink } from './dom.ts';

/** The columns, in order; the page's <thead> names them. */
export const CALL_COLUMNS = 13;

const text = (value: string | null): string => value ?? '—';

function cells(call: Call, timeZone: string): Child[] {
  return [
    h('time', { datetime: call.started_at }, formatTime(call.started_at, timeZone)),
    call.caller ?? 'withheld',
    call.tracking_number,
    text(call.source ?? call.source_label),
    text(call.medium),
    text(call.campaign),
    text(call.term),
    safeLink(call.landing_url),
    formatDuration(call.duration_s),
    call.status.replace(/_/g, ' '),
    call.qualified ? 'yes' : 'no',
    call.confidence,
    call.reason,
  ];
}

/** Rows for a page of calls, appended to the table body. */
export function appendCalls(body: HTMLTableSectionElement, calls: Call[], timeZone: string): void {
  const rows = document.createDocumentFragment();
  for (const call of calls) {
    const row = h('tr', { 'data-call-id': call.id });
    for (const cell of cells(call, timeZone)) row.appendChild(h('td', null, cell));
    rows.appendChild(row);
  }
  body.appendChild(rows);
}

/** The table body when there is nothing to list. */
export function emptyRow(message: string): HTMLTableRowElement {
  return h('tr', null, h('td', { colspan: String(CALL_COLUMNS), class: 'empty' }, message));
}
