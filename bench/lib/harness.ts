import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { ROOT, run } from './proc.ts';

// What the benches share: clean-up on exit or Ctrl-C, settings, percentiles, the machine, results files.

/**
 * A bench's clean-up steps (drop its databases, stop its processes), run last-in first-out at the
 * end or on Ctrl-C, each even if another fails.
 */
export const cleanups: (() => Promise<unknown>)[] = [];
let cleaning: Promise<void> | undefined;

export function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    for (const step of cleanups.reverse()) {
      try {
        await step();
      } catch (err) {
        console.error('clean-up:', (err as Error).message);
      }
    }
  })();
  return cleaning;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    console.error(`\n${signal}: stopping and cleaning up`);
    void cleanUp().then(() => process.exit(130));
  });
}

/** A whole-number setting from the environment, or its default. */
export function integer(name: string, fallback: number): number {
  const raw = process.env[name];
  if (!raw) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a whole number, got "${raw}"`);
  return value;
}

/** The value below which a share `p` of the sorted samples fall. */
export const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;

export const loadNow = () => loadavg().map((l) => Math.round(l * 100) / 100);

/** What a result is of: the code, the machine, and PostgreSQL's settings that matter to the bench. */
export async function machineInfo(client: pg.Client | undefined, pgSettingNames: string[]) {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const pgSettings: Record<string, string> = {};
  let postgres: string | undefined;
  if (client) {
    postgres = (await client.query<{ v: string }>('SELECT version() AS v')).rows[0]?.v;
    const rows = await client.query<{ name: string; setting: string; unit: string | null }>(
      'SELECT name, setting, unit FROM pg_settings WHERE name = ANY($1)',
      [pgSettingNames],
    );
    for (const row of rows.rows) pgSettings[row.name] = row.setting + (row.unit ? ` × ${row.unit}` : '');
  }
  const git = async (args: string[]) => (await run('git', args, { timeoutMs: 10_000 }).done).stdout.trimEnd();
  return {
    commit: await git(['rev-parse', '--short', 'HEAD']),
    /** Local changes to the service's code when the run started (the results are of those). */
    uncommitted: (await git(['status', '--porcelain', '--', 'packages/attribution-api/src', 'migrations']))
      .split('\n')
      .filter(Boolean),
    cpus: availableParallelism(),
    cpuModel: /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1]?.trim() ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    postgres,
    pgSettings,
    loadAverageAtStart: loadNow(),
  };
}

/** Writes `bench/results/<prefix><date>.json` (and `.md` when given); returns the path without extension. */
export function writeResults(prefix: string, started: Date, results: unknown, markdown?: string): string {
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const base = join(dir, `${prefix}${started.toISOString().slice(0, 19).replaceAll(':', '-')}`);
  if (markdown !== undefined) writeFileSync(`${base}.md`, markdown);
  writeFileSync(`${base}.json`, `${JSON.stringify(results, null, 2)}\n`);
  return base.slice(ROOT.length);
}

/** Runs a bench's main: any failure is printed and sets the exit code; clean-up always runs. */
export async function runBench(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (err) {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    process.exitCode = 1;
  } finally {
    await cleanUp();
  }
}
