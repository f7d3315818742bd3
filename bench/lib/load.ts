import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type CpuUse, cpuSnapshot, cpuUse, type Finished, run } from './proc.ts';

export interface LoadResult {
  clients: number;
  durationS: number;
  /** Completed requests (HTTP) or transactions (pgbench) per second. */
  rate: number;
  completed: number;
  /** Non-2xx answers, socket errors or failed transactions. */
  errors: number;
  latencyMs: { p50: number; p90: number; p99: number; avg: number };
  cpu: CpuUse | undefined;
}

/** Runs a load generator; over its middle part, measures who used the CPU. */
async function measured(
  start: () => { pid: number | undefined; done: Promise<Finished> },
  durationS: number,
  parties: { servicePid: number | undefined; database: string | undefined },
): Promise<{ result: Finished; cpu: CpuUse | undefined }> {
  const { pid, done } = start();
  let cpu: CpuUse | undefined;
  if (durationS >= 4) {
    await sleep(1_000);
    const before = cpuSnapshot();
    await sleep((durationS - 2) * 1000);
    cpu = cpuUse(before, cpuSnapshot(), { ...parties, loadPid: pid });
  }
  return { result: await done, cpu };
}

// ---- wrk: HTTP load from C, closed loop, one request in flight per connection ----

export interface HttpRequestSpec {
  /** Paths on the service, taken in turn (each wrk thread goes round them). */
  paths: string[];
  headers: Record<string, string>;
  body: string;
}

const luaString = (s: string) => `"${s.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;

export function writeWrkScript(path: string, spec: HttpRequestSpec): void {
  const lines = ['wrk.method = "POST"', `wrk.body = ${luaString(spec.body)}`];
  for (const [name, value] of Object.entries(spec.headers))
    lines.push(`wrk.headers[${luaString(name)}] = ${luaString(value)}`);
  lines.push(
    `local paths = { ${spec.paths.map(luaString).join(', ')} }`,
    'local turn = 0',
    'request = function()',
    '  turn = turn % #paths + 1',
    '  return wrk.format(nil, paths[turn])',
    'end',
  );
  writeFileSync(path, `${lines.join('\n')}\n`);
}

function durationMs(text: string): number {
  const match = /^([\d.]+)(us|ms|s|m)$/.exec(text);
  if (!match?.[1]) throw new Error(`not a wrk duration: ${text}`);
  const value = Number(match[1]);
  const unit = match[2];
  return unit === 'us' ? value / 1000 : unit === 'ms' ? value : unit === 's' ? value * 1000 : value * 60_000;
}

export function parseWrk(output: string, clients: number, durationS: number): Omit<LoadResult, 'cpu'> {
  const pick = (re: RegExp) => {
    const match = re.exec(output);
    if (!match?.[1]) throw new Error(`wrk output without ${re}:\n${output}`);
    return match[1];
  };
  const completed = Number(pick(/(\d+) requests in/));
  const seconds = durationMs(pick(/requests in ([\d.]+\w+),/)) / 1000;
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  const socketErrors = socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0;
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(output)?.[1] ?? 0);
  // With nothing completed, wrk prints zero latencies: there are none.
  const latency = (re: RegExp) => (completed ? durationMs(pick(re)) : Number.NaN);
  return {
    clients,
    durationS,
    rate: completed / seconds,
    completed,
    errors: socketErrors + non2xx,
    latencyMs: {
      p50: latency(/^\s+50%\s+(\S+)/m),
      p90: latency(/^\s+90%\s+(\S+)/m),
      p99: latency(/^\s+99%\s+(\S+)/m),
      avg: latency(/Latency\s+(\S+)/),
    },
  };
}

export async function runWrk(
  script: string,
  url: string,
  clients: number,
  durationS: number,
  parties: { servicePid: number | undefined; database: string | undefined },
): Promise<LoadResult> {
  const threads = String(Math.min(2, clients));
  const args = ['-t', threads, '-c', String(clients), '-d', `${durationS}s`, '--timeout', '10s', '--latency'];
  const { result, cpu } = await measured(
    () => {
      const running = run('wrk', [...args, '-s', script, url], { timeoutMs: (durationS + 30) * 1000 });
      return { pid: running.child.pid, done: running.done };
    },
    durationS,
    parties,
  );
  if (result.code !== 0) throw new Error(`wrk failed (${result.code ?? result.signal}):\n${result.stderr}`);
  return { ...parseWrk(result.stdout, clients, durationS), cpu };
}

// ---- pgbench: the same SQL, straight from a C client ----

export interface PgbenchTarget {
  /** libpq connection string of the bench database. */
  url: string;
  script: string;
  variables: Record<string, string>;
  /** Where the per-transaction logs go (removed after reading). */
  workDir: string;
}

function percentile(sorted: number[], q: number): number {
  if (!sorted.length) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN;
}

export async function runPgbench(
  target: PgbenchTarget,
  clients: number,
  durationS: number,
  options: { log: boolean; database: string },
): Promise<LoadResult> {
  const prefix = join(target.workDir, `pgbench-${clients}-${Date.now()}`);
  const args = ['-n', '-M', 'prepared', '-f', target.script, '-c', String(clients), '-j', String(Math.min(2, clients))];
  args.push('-T', String(durationS));
  for (const [name, value] of Object.entries(target.variables)) args.push('-D', `${name}=${value}`);
  if (options.log) args.push('--log', `--log-prefix=${prefix}`);
  args.push(target.url);
  const { result, cpu } = await measured(
    () => {
      const running = run('pgbench', args, { timeoutMs: (durationS + 60) * 1000, cwd: target.workDir });
      return { pid: running.child.pid, done: running.done };
    },
    durationS,
    { servicePid: undefined, database: options.database },
  );
  const out = result.stdout + result.stderr;
  if (result.code !== 0) throw new Error(`pgbench failed (${result.code ?? result.signal}):\n${out}`);
  const tps = /tps = ([\d.]+) \(without initial connection time\)/.exec(out)?.[1];
  const processed = /number of transactions actually processed: (\d+)/.exec(out)?.[1];
  const failed = /number of failed transactions: (\d+)/.exec(out)?.[1];
  const average = /latency average = ([\d.]+) ms/.exec(out)?.[1];
  if (!tps || !processed) throw new Error(`unexpected pgbench output:\n${out}`);

  const latencies: number[] = [];
  const base = prefix.slice(target.workDir.length + 1);
  for (const file of readdirSync(target.workDir).filter((f) => f.startsWith(`${base}.`))) {
    const path = join(target.workDir, file);
    for (const line of readFileSync(path, 'utf8').split('\n')) {
      const micros = Number(line.split(' ')[2]);
      if (line && Number.isFinite(micros)) latencies.push(micros / 1000);
    }
    rmSync(path);
  }
  latencies.sort((a, b) => a - b);
  return {
    clients,
    durationS,
    rate: Number(tps),
    completed: Number(processed),
    errors: Number(failed ?? 0),
    latencyMs: {
      p50: percentile(latencies, 0.5),
      p90: percentile(latencies, 0.9),
      p99: percentile(latencies, 0.99),
      avg: Number(average ?? Number.NaN),
    },
    cpu,
  };
}
