import uPlot from 'uplot';
import { parseDay } from '../../reports/days.ts';
import type { DailyReport, DayCounts, PoolsReport } from './api.ts';
import { dataTable, h } from './dom.ts';

// The three charts, each a <figure> with a caption, a one-paragraph summary and its data as a table
// (the text alternative); the canvas itself is hidden from screen readers.

const HEIGHT = 240;
const COLORS = ['#2563eb', '#d97706', '#059669', '#7c3aed', '#db2777', '#0891b2', '#65a30d', '#9f1239', '#475569'];
const ALERT = '#dc2626';
const INTEGER_STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000, 100_000];

const charts = new Map<Element, uPlot>();
// Each chart follows its figure's width, whatever moved it (the window, the grid filling up).
const fit = new ResizeObserver((entries) => {
  for (const entry of entries) {
    charts.get(entry.target)?.setSize({ width: widthOf(entry.contentRect.width), height: HEIGHT });
  }
});

/** Removes every chart (and its listeners) from the page. */
export function clearCharts(): void {
  fit.disconnect();
  for (const chart of charts.values()) chart.destroy();
  charts.clear();
}

const widthOf = (width: number): number => Math.max(280, Math.floor(width));

function chart(
  plot: HTMLElement,
  timeZone: string,
  series: uPlot.Series[],
  data: uPlot.AlignedData,
  yLabel: string,
): void {
  const options: uPlot.Options = {
    width: widthOf(plot.clientWidth),
    height: HEIGHT,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), timeZone),
    scales: {
      // A lone point (one day, one hour) gets room either side rather than years of axis.
      x: { time: true, range: (_u, min, max) => (min === max ? [min - 43_200, max + 43_200] : [min, max]) },
      y: { range: (_u, _min, max) => [0, Math.max(1, Math.ceil(max * 1.1))] },
    },
    axes: [{}, { label: yLabel, incrs: INTEGER_STEPS }],
    series: [{ label: 'Time' }, ...series],
  };
  charts.set(plot, new uPlot(options, data, plot));
  fit.observe(plot);
}

function figure(id: string, caption: string, summary: string, table: HTMLTableElement): HTMLElement {
  const plot = h('div', { class: 'plot', 'aria-hidden': 'true' });
  return h(
    'figure',
    { id, 'aria-labelledby': `${id}-caption`, 'aria-describedby': `${id}-summary` },
    h('figcaption', { id: `${id}-caption` }, caption),
    h('p', { id: `${id}-summary`, class: 'summary' }, summary),
    plot,
    h('details', null, h('summary', null, 'Data as a table'), table),
  );
}

/** The figure's plot area, once the figure is in the page (uPlot measures nothing itself). */
const plotOf = (fig: HTMLElement) => fig.querySelector('.plot') as HTMLElement;

// Days are calendar dates: placed at UTC midnight and read back in UTC, whatever the browser's zone.
const dayStamps = (days: DayCounts[]) => days.map((d) => (parseDay(d.date) ?? 0) / 1000);

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** Calls per day and source: one line per source (the 20 with most calls). */
export function sourcesChart(parent: HTMLElement, report: DailyReport, range: string): void {
  const groups = (report.groups ?? []).map((g) => ({
    name: typeof g.source === 'string' ? g.source : '(no source)',
    counts: g.days.map((d) => d.calls),
  }));
  const total = sum(report.days.map((d) => d.calls));
  const busiest = report.days.reduce<DayCounts | undefined>((a, d) => (!a || d.calls > a.calls ? d : a), undefined);
  const bySource = groups.map((g) => `${g.name} ${sum(g.counts)}`).join(', ');
  const summary = total
    ? `${plural(total, 'call')} ${range}. By source: ${bySource}. Busiest day: ${busiest?.date} with ${plural(busiest?.calls ?? 0, 'call')}.`
    : `No calls ${range}.`;
  const table = dataTable(
    'Calls per day and source',
    ['Day', ...groups.map((g) => g.name)],
    report.days.flatMap((d, i) => (d.calls ? [[d.date, ...groups.map((g) => g.counts[i] ?? 0)]] : [])),
  );
  const fig = figure('chart-sources', 'Calls by source, per day', summary, table);
  parent.appendChild(fig);
  chart(
    plotOf(fig),
    'UTC',
    groups.map((g, i) => ({ label: g.name, stroke: COLORS[i % COLORS.length], width: 2 })),
    [dayStamps(report.days), ...groups.map((g) => g.counts)],
    'Calls',
  );
}

/** All calls and qualified calls per day. */
export function qualifiedChart(parent: HTMLElement, report: DailyReport, range: string): void {
  const total = sum(report.days.map((d) => d.calls));
  const qualified = sum(report.days.map((d) => d.qualified));
  const summary = total
    ? `${plural(total, 'call')} ${range}, ${qualified} qualified (${Math.round((qualified / total) * 100)}%).`
    : `No calls ${range}.`;
  const table = dataTable(
    'Calls and qualified calls per day',
    ['Day', 'Calls', 'Answered', 'Qualified'],
    report.days.filter((d) => d.calls > 0).map((d) => [d.date, d.calls, d.answered, d.qualified]),
  );
  const fig = figure('chart-qualified', 'Qualified calls vs all calls, per day', summary, table);
  parent.appendChild(fig);
  chart(
    plotOf(fig),
    'UTC',
    [
      { label: 'All calls', stroke: COLORS[0], width: 2, fill: 'rgba(37,99,235,.08)' },
      { label: 'Qualified', stroke: COLORS[2], width: 2 },
    ],
    [dayStamps(report.days), report.days.map((d) => d.calls), report.days.map((d) => d.qualified)],
    'Calls',
  );
}

/** Per pool: peak concurrent leases and numbers held against the pool's size, exhaustions marked. */
export function poolCharts(parent: HTMLElement, report: PoolsReport, timeZone: string, range: string): void {
  const per = report.bucket === 'hour' ? 'hour' : 'day';
  if (!report.pools.length) {
    parent.appendChild(h('p', { class: 'summary' }, 'This site has no number pools.'));
    return;
  }
  report.pools.forEach((pool, n) => {
    const b = pool.buckets;
    const peak = b.reduce((a, x) => Math.max(a, x.peak_active_leases), 0);
    const held = b.reduce((a, x) => Math.max(a, x.peak_numbers_held), 0);
    const exhausted = b.filter((x) => x.exhaustions > 0);
    const exhaustions = sum(exhausted.map((x) => x.exhaustions));
    const where = exhausted.slice(0, 5).map((x) => x.label);
    const more = exhausted.length > 5 ? ` and ${exhausted.length - 5} more` : '';
    const summary =
      `${pool.name}, ${plural(pool.size, 'number')}, ${range}: at most ${plural(peak, 'concurrent lease')} ` +
      `and ${plural(held, 'number')} held (active or cooling down) per ${per}. ` +
      (exhaustions
        ? `${plural(exhaustions, 'exhaustion')} (visits that found no free number): ${where.join(', ')}${more}.`
        : 'No exhaustions: every visit found a free number.');
    const table = dataTable(
      `${pool.name}: ${per}s with leases or exhaustions`,
      [per === 'hour' ? 'Hour' : 'Day', 'Leases started', 'Peak concurrent leases', 'Peak numbers held', 'Exhaustions'],
      b
        .filter((x) => x.leases_started || x.peak_numbers_held || x.exhaustions)
        .map((x) => [x.label, x.leases_started, x.peak_active_leases, x.peak_numbers_held, x.exhaustions]),
    );
    const fig = figure(`chart-pool-${n}`, `Pool utilization: ${pool.name}, per ${per}`, summary, table);
    parent.appendChild(fig);
    chart(
      plotOf(fig),
      timeZone,
      [
        { label: 'Peak concurrent leases', stroke: COLORS[0], width: 2 },
        { label: 'Peak numbers held', stroke: COLORS[1], width: 1.5 },
        { label: 'Pool size', stroke: '#64748b', width: 1.5, dash: [6, 4], points: { show: false } },
        {
          label: 'Exhaustions',
          stroke: ALERT,
          width: 0,
          paths: () => null,
          points: { show: true, size: 10, fill: ALERT, stroke: ALERT },
          value: (_u, _v, _s, i) => (i === null ? '—' : String(b[i]?.exhaustions ?? 0)),
        },
      ],
      [
        b.map((x) => Date.parse(x.start) / 1000),
        b.map((x) => x.peak_active_leases),
        b.map((x) => x.peak_numbers_held),
        b.map(() => pool.size),
        // Marked on the pool-size line, where an exhaustion happens.
        b.map((x) => (x.exhaustions ? pool.size : null)),
      ],
      'Numbers',
    );
  });
}
