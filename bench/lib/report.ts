import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { Results } from '../lease.ts';
import type { LoadResult } from './load.ts';
import type { OpenLoopResult } from './open-loop.ts';

export const BUDGET = { minRatio: 0.5, maxP99Ms: 20, p99AtClients: 64 };

const BEGIN = '<!-- session-lease:begin (written by `npm run bench`: edit bench/lib/report.ts, not this block) -->';
const END = '<!-- session-lease:end -->';

const ms = (v: number | null) => {
  if (typeof v !== 'number' || !Number.isFinite(v)) return 'n/a';
  return v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${v < 10 ? v.toFixed(2) : v.toFixed(1)} ms`;
};
/** A run's latency percentile; none when no request completed (JSON keeps NaN as null). */
const lat = (run: LoadResult, p: 'p50' | 'p99') => (run.completed ? run.latencyMs[p] : Number.NaN);
const rate = (v: number) => (v < 10 ? v.toFixed(1) : v.toFixed(0));
const cores = (v: number | undefined) => (v === undefined ? 'n/a' : v.toFixed(2));

function problems(results: Results): string[] {
  const found: string[] = [];
  for (const level of results.postgres?.levels ?? []) {
    for (const side of ['service', 'pgbench'] as const) {
      const run = level[side];
      if (run.errors) found.push(`${side} at ${level.clients} clients: ${run.errors} errors`);
      if (run.check.exhausted)
        found.push(`${side} at ${level.clients} clients: pool exhausted ${run.check.exhausted}×`);
      if (run.check.leases < run.check.sessions)
        found.push(
          `${side} at ${level.clients} clients: ${run.check.sessions - run.check.leases} sessions without lease`,
        );
    }
  }
  for (const level of results.pglite?.levels ?? []) {
    if (level.errors) found.push(`PGlite at ${level.clients} clients: ${level.errors} errors`);
    if (level.exhaustions) found.push(`PGlite pool exhausted ${level.exhaustions}× (by ${level.clients} clients)`);
  }
  return found;
}

export function verdicts(results: Results) {
  const levels = results.postgres?.levels ?? [];
  const misses = levels.filter((l) => l.ratio < BUDGET.minRatio);
  const at = levels.find((l) => l.clients === BUDGET.p99AtClients);
  return {
    ratio: levels.length
      ? {
          met: misses.length === 0,
          text: misses.length
            ? `missed at ${misses.map((l) => `${l.clients} (${l.ratio.toFixed(2)})`).join(', ')} clients`
            : `met at every level (lowest ${Math.min(...levels.map((l) => l.ratio)).toFixed(2)})`,
        }
      : undefined,
    p99: at
      ? {
          met: lat(at.service, 'p99') <= BUDGET.maxP99Ms,
          text: at.service.completed
            ? `${ms(lat(at.service, 'p99'))} at ${at.clients} clients`
            : `no request completed at ${at.clients} clients`,
        }
      : undefined,
  };
}

/** The open-loop run: 64 connections at a fixed rate, latency from each request's scheduled moment. */
export function openLoopLine(o: OpenLoopResult): string {
  const met = o.latencyMs.p99 <= BUDGET.maxP99Ms && o.errors === 0;
  return (
    `p99 ≤ ${BUDGET.maxP99Ms} ms at ${o.connections} connections, open loop at ${o.rate} req/s (half of saturation): ` +
    `${met ? 'MET' : 'MISSED'}, p50 ${ms(o.latencyMs.p50)}, p99 ${ms(o.latencyMs.p99)}, max ${ms(o.latencyMs.max)}, ` +
    `${o.achieved.toFixed(0)} req/s done, ${o.errors} errors`
  );
}

export function renderTable(results: Results): string {
  const lines: string[] = [];
  const pad = (cells: string[], widths: number[]) => cells.map((c, i) => c.padStart(widths[i] ?? 10)).join('  ');
  if (results.postgres) {
    const widths = [7, 10, 10, 6, 11, 10, 11, 10, 9, 7, 7];
    lines.push(
      `Session + lease on PostgreSQL (${results.settings.durationS} s runs, service pool ${results.settings.servicePoolSize})`,
      pad(
        [
          'clients',
          'service/s',
          'pgbench/s',
          'ratio',
          'svc p50',
          'svc p99',
          'pgb p50',
          'pgb p99',
          'node CPU',
          'pg CPU',
          'errors',
        ],
        widths,
      ),
    );
    for (const l of results.postgres.levels) {
      lines.push(
        pad(
          [
            String(l.clients),
            rate(l.service.rate),
            rate(l.pgbench.rate),
            l.ratio.toFixed(2),
            ms(lat(l.service, 'p50')),
            ms(lat(l.service, 'p99')),
            ms(lat(l.pgbench, 'p50')),
            ms(lat(l.pgbench, 'p99')),
            cores(l.service.cpu?.service),
            cores(l.service.cpu?.postgres),
            String(l.service.errors + l.pgbench.errors),
          ],
          widths,
        ),
      );
    }
    const v = verdicts(results);
    if (v.ratio)
      lines.push(`budget rate ≥ ${BUDGET.minRatio} × pgbench: ${v.ratio.met ? 'MET' : 'MISSED'}, ${v.ratio.text}`);
    if (v.p99) lines.push(`budget p99 ≤ ${BUDGET.maxP99Ms} ms: ${v.p99.met ? 'MET' : 'MISSED'}, ${v.p99.text}`);
    const open = results.postgres?.openLoop;
    if (open) lines.push(openLoopLine(open));
  }
  if (results.pglite?.levels.length) {
    lines.push(
      '',
      'Session + lease on PGlite (one connection)',
      pad(['clients', 'req/s', 'p50', 'p99', 'node CPU'], [7, 8, 10, 10, 9]),
    );
    for (const l of results.pglite.levels) {
      lines.push(
        pad(
          [String(l.clients), rate(l.rate), ms(lat(l, 'p50')), ms(lat(l, 'p99')), cores(l.cpu?.service)],
          [7, 8, 10, 10, 9],
        ),
      );
    }
  }
  const startup = results.pglite?.startup;
  if (startup) {
    lines.push(
      '',
      `npm start until /readyz answers, existing PGlite folder: median ${ms(startup.medianMs)} (${startup.runsMs.map((v) => Math.round(v)).join(', ')})`,
      `first start on an empty folder: ${ms(startup.firstStartMs)}`,
    );
  }
  const found = problems(results);
  lines.push(
    '',
    found.length ? `PROBLEMS:\n  ${found.join('\n  ')}` : 'checks: no errors, every session leased, no exhaustion',
  );
  return lines.join('\n');
}

function row(cells: (string | number)[]): string {
  return `| ${cells.join(' | ')} |`;
}

/** CPU of a run: cores used, and CPU milliseconds per request (which a busy machine disturbs less than rates). */
function cpuRow(label: string, clients: number, run: LoadResult, serviceColumn: boolean): string {
  const c = run.cpu;
  const perRequest = (v: number | undefined) => {
    if (v === undefined || !run.completed) return 'n/a';
    const perMs = (v / run.rate) * 1000;
    return perMs < 10 ? perMs.toFixed(2) : perMs.toFixed(0);
  };
  return row([
    clients,
    label,
    serviceColumn ? `${cores(c?.service)} / ${perRequest(c?.service)}` : '–',
    `${cores(c?.postgres)} / ${perRequest(c?.postgres)}`,
    `${cores(c?.loadGenerator)} / ${perRequest(c?.loadGenerator)}`,
    cores(c?.other),
  ]);
}

export function renderMarkdown(results: Results): string {
  const m = results.machine;
  const out: string[] = [];
  const pgVersion = /PostgreSQL [\d.]+/.exec(m.postgres ?? '')?.[0] ?? 'PostgreSQL (not run)';
  const pgSettings = Object.entries(m.pgSettings)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  out.push(
    `Run of ${results.date.slice(0, 16).replace('T', ' ')} UTC: \`${results.command}\`, ` +
      `${results.settings.durationS} s per run after a warm-up, concurrency ${results.settings.clients.join(' / ')}.`,
    '',
    `Machine: ${m.cpus} CPUs (${m.cpuModel}), ${m.memoryGiB} GiB, Node ${m.node}, ${pgVersion}` +
      (pgSettings ? ` (${pgSettings})` : '') +
      `, ${m.wrk?.replace(/ Copyright.*/, '') ?? 'wrk'}, ${m.pgbench ?? 'pgbench'}; load average at start ${m.loadAverageAtStart.join(' ')}.`,
    '',
    `Code: commit ${m.commit}` +
      (m.uncommitted.length
        ? `, with uncommitted changes to ${m.uncommitted.map((u) => `\`${u.slice(3)}\``).join(', ')}.`
        : ', no uncommitted changes to the service.'),
  );

  const pgResults = results.postgres;
  if (pgResults) {
    out.push(
      '',
      `Service${results.settings.serviceRoot ? ` from ${results.settings.serviceRoot}` : ''}: ` +
        `\`DATABASE_POOL_SIZE=${results.settings.servicePoolSize}\`, \`LOG_LEVEL=warn\`. Each side has its own ` +
        `${pgResults.sites} sites with a pool of ${pgResults.poolSize.toLocaleString('en')} numbers each; visits go round ` +
        'the sites; every lease is released between runs.',
      '',
      row([
        'clients',
        'service req/s',
        'pgbench tps',
        'ratio',
        'service p50',
        'service p99',
        'pgbench p50',
        'pgbench p99',
      ]),
      row(['---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:']),
    );
    for (const l of pgResults.levels) {
      out.push(
        row([
          l.clients,
          rate(l.service.rate),
          rate(l.pgbench.rate),
          `**${l.ratio.toFixed(2)}**`,
          ms(lat(l.service, 'p50')),
          ms(lat(l.service, 'p99')),
          ms(lat(l.pgbench, 'p50')),
          ms(lat(l.pgbench, 'p99')),
        ]),
      );
    }
    const v = verdicts(results);
    out.push('', 'Budgets:');
    if (v.ratio)
      out.push(
        `- rate ≥ ${BUDGET.minRatio * 100}% of pgbench's: **${v.ratio.met ? 'met' : 'missed'}**, ${v.ratio.text}.`,
      );
    out.push(
      v.p99
        ? `- p99 ≤ ${BUDGET.maxP99Ms} ms at ${BUDGET.p99AtClients} clients, at saturation (wrk's closed loop): **${v.p99.met ? 'met' : 'missed'}**, ${v.p99.text}.`
        : `- p99 ≤ ${BUDGET.maxP99Ms} ms at ${BUDGET.p99AtClients} clients: not measured in this run.`,
    );
    if (pgResults.openLoop) out.push(`- ${openLoopLine(pgResults.openLoop)}.`);
    out.push(
      '',
      'CPU over the middle of each run: cores busy (2.00 = the whole machine) / CPU ms per request. PostgreSQL counts ' +
        'the bench database\'s backends and the server\'s own processes (WAL writer, checkpointer); "other" is everything else ' +
        "on the machine, other people's work included:",
      '',
      row(['clients', 'run', 'service (Node)', 'PostgreSQL', 'load generator', 'other (cores)']),
      row(['---:', '---', '---:', '---:', '---:', '---:']),
    );
    for (const l of pgResults.levels) {
      out.push(cpuRow('service + wrk', l.clients, l.service, true), cpuRow('pgbench', l.clients, l.pgbench, false));
    }
  }

  const pglite = results.pglite;
  if (pglite?.levels.length) {
    out.push(
      '',
      `PGlite (embedded, one connection: requests take turns), ${pglite.sites} sites with a pool of ` +
        `${pglite.poolSize.toLocaleString('en')} numbers each:`,
      '',
      row(['clients', 'req/s', 'p50', 'p99', 'service CPU (cores)']),
      row(['---:', '---:', '---:', '---:', '---:']),
    );
    for (const l of pglite.levels) {
      out.push(row([l.clients, rate(l.rate), ms(lat(l, 'p50')), ms(lat(l, 'p99')), cores(l.cpu?.service)]));
    }
  }
  const startup = pglite?.startup;
  if (startup) {
    const banner = startup.bannerMs.length
      ? ` (of which the service's own start, as its banner says: ${ms(medianOf(startup.bannerMs))})`
      : '';
    out.push(
      '',
      `\`npm start\` until \`GET /readyz\` answers 200, on an existing PGlite folder: **${ms(startup.medianMs)}** median of ${startup.runsMs.length}${banner}; ` +
        `runs ${startup.runsMs.map((v) => Math.round(v)).join(', ')} ms. First start on an empty folder (initialise and migrate): ${ms(startup.firstStartMs)}.`,
    );
  }
  const found = problems(results);
  out.push(
    '',
    found.length
      ? `Problems in this run: ${found.join('; ')}.`
      : 'Checks: no HTTP or SQL errors; every session got a lease; no pool ran out.',
  );
  return out.join('\n');
}

function medianOf(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

const SKELETON = `# Benchmarks

Measured against the budgets in PRODUCT.md ("Budgets"). Each section says what it measures, the command that
reproduces it, and the latest results. Numbers from a busy machine are noise: run on a quiet one.

## Session + lease

`;

/** Replaces the generated block of the "Session + lease" section, creating the file or section if needed. */
export function updateDoc(path: string, block: string): void {
  let text = existsSync(path) ? readFileSync(path, 'utf8') : SKELETON;
  if (!text.includes(BEGIN) || !text.includes(END)) {
    if (!text.includes('## Session + lease')) text = `${text.trimEnd()}\n\n## Session + lease\n\n`;
    text = text.replace('## Session + lease\n', `## Session + lease\n\n${BEGIN}\n${END}\n`);
  }
  const start = text.indexOf(BEGIN) + BEGIN.length;
  const end = text.indexOf(END);
  writeFileSync(path, `${text.slice(0, start)}\n${block}\n${text.slice(end)}`);
}
