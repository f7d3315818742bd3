import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

/** The repository root (bench/lib/ is two levels down). */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface Running {
  child: ChildProcess;
  done: Promise<Finished>;
}

/** Starts a command with a hard time limit; its output is collected. */
export function run(
  command: string,
  args: string[],
  options: { timeoutMs: number; cwd?: string; env?: NodeJS.ProcessEnv },
): Running {
  const child = spawn(command, args, {
    cwd: options.cwd ?? ROOT,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
  const done = new Promise<Finished>((resolve, reject) => {
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return { child, done };
}

/** Runs a command to its end and fails unless it exits with 0. */
export async function runOk(
  command: string,
  args: string[],
  options: { timeoutMs: number; cwd?: string; env?: NodeJS.ProcessEnv },
): Promise<Finished> {
  const result = await run(command, args, options).done;
  if (result.code !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} exited with ${result.code ?? result.signal}\n${result.stderr}${result.stdout}`,
    );
  }
  return result;
}

export function which(command: string): boolean {
  const dirs = (process.env.PATH ?? '').split(':').filter(Boolean);
  return dirs.some((dir) => {
    try {
      accessSync(`${dir}/${command}`, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** The service as a child process in its own process group, so stopping it ends its whole tree. */
export interface Service {
  pid: number;
  port: number;
  base: string;
  /** Time from spawn until GET /readyz answered 200. */
  readyMs: number;
  /** The start time the service prints in its banner (its own process, after Node and tsx booted). */
  bannerMs: number | undefined;
  output(): string;
  stop(): Promise<void>;
}

/** Variables that would change which database or port the service uses, unless the bench sets them. */
const SERVICE_VARIABLES = [
  'DATABASE_URL',
  'DATA_DIR',
  'PORT',
  'HOST',
  'PUBLIC_BASE_URL',
  'TRUST_PROXY',
  'NODE_OPTIONS',
];

export async function startService(
  command: string[],
  env: Record<string, string>,
  options: { port: number; timeoutMs: number; cwd?: string },
): Promise<Service> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  for (const name of SERVICE_VARIABLES) delete childEnv[name];
  Object.assign(childEnv, env, { PORT: String(options.port), HOST: '127.0.0.1' });
  const [program, ...args] = command;
  if (!program) throw new Error('no command');
  const started = performance.now();
  const child = spawn(program, args, {
    cwd: options.cwd ?? ROOT,
    env: childEnv,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-64 * 1024);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    child.on('exit', () => {
      exited = true;
      resolve();
    });
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${command.join(' ')}`);

  const stop = async () => {
    if (exited) return;
    try {
      process.kill(-pid, 'SIGTERM');
    } catch {
      return;
    }
    const stopped = await Promise.race([exit.then(() => true), sleep(10_000).then(() => false)]);
    if (!stopped) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {}
      await exit;
    }
  };

  const base = `http://127.0.0.1:${options.port}`;
  const deadline = started + options.timeoutMs;
  for (;;) {
    if (exited) throw new Error(`the service exited before it was ready:\n${output}`);
    if (performance.now() > deadline) {
      await stop();
      throw new Error(`the service was not ready within ${options.timeoutMs} ms:\n${output}`);
    }
    const ok = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(1_000) }).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) break;
    await sleep(5);
  }
  const readyMs = performance.now() - started;
  // The banner is written right after listen; give it a moment to arrive.
  await sleep(50);
  const banner = /is ready on .* in (\d+) ms/.exec(output);
  return {
    pid,
    port: options.port,
    base,
    readyMs,
    bannerMs: banner?.[1] ? Number(banner[1]) : undefined,
    output: () => output,
    stop,
  };
}

// ---- CPU accounting from /proc: who used the machine during a measured run ----

const TICKS_PER_SECOND = 100;

interface ProcessTicks {
  ppid: number;
  comm: string;
  ticks: number;
  cmdline: string;
}

export interface CpuSnapshot {
  at: number;
  processes: Map<number, ProcessTicks>;
  busyTicks: number;
}

function readStat(pid: number): ProcessTicks | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const rest = stat.slice(close + 2).split(' ');
    const ticks = Number(rest[11]) + Number(rest[12]);
    const cmdline = comm === 'postgres' ? readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ') : '';
    return { ppid: Number(rest[1]), comm, ticks, cmdline };
  } catch {
    return undefined; // gone meanwhile
  }
}

export function cpuSnapshot(): CpuSnapshot {
  const processes = new Map<number, ProcessTicks>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const info = readStat(Number(entry));
    if (info) processes.set(Number(entry), info);
  }
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]?.trim().split(/\s+/).slice(1).map(Number) ?? [];
  const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0);
  const total = cpu.slice(0, 8).reduce((a, b) => a + b, 0);
  return { at: performance.now(), processes, busyTicks: total - idle };
}

function descendants(snapshot: CpuSnapshot, root: number): Set<number> {
  const found = new Set([root]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, info] of snapshot.processes) {
      if (!found.has(pid) && found.has(info.ppid)) {
        found.add(pid);
        grew = true;
      }
    }
  }
  return found;
}

/** Share of one core each party used between two snapshots (1.0 = one core busy all the time). */
export interface CpuUse {
  service: number;
  postgres: number;
  loadGenerator: number;
  /** Everything else on the machine: other people's work, the bench itself, the kernel. */
  other: number;
  machine: number;
}

export function cpuUse(
  before: CpuSnapshot,
  after: CpuSnapshot,
  parties: { servicePid: number | undefined; loadPid: number | undefined; database: string | undefined },
): CpuUse {
  const seconds = (after.at - before.at) / 1000;
  const used = (pids: Iterable<number>) => {
    let ticks = 0;
    for (const pid of pids) {
      const a = before.processes.get(pid);
      const b = after.processes.get(pid);
      if (a && b) ticks += b.ticks - a.ticks;
    }
    return ticks / TICKS_PER_SECOND / seconds;
  };
  const service = parties.servicePid ? used(descendants(after, parties.servicePid)) : 0;
  const loadGenerator = parties.loadPid ? used(descendants(after, parties.loadPid)) : 0;
  const database = parties.database;
  // The backends of the bench database, and the server's own processes (WAL writer, checkpointer...).
  const ours = (p: ProcessTicks) =>
    (database !== undefined && p.cmdline.includes(` ${database} `)) ||
    !/^postgres: \S+: \S+ \S+ (\S+\(|\[local\])/.test(p.cmdline);
  const postgres = database
    ? used([...after.processes].filter(([, p]) => p.comm === 'postgres' && ours(p)).map(([pid]) => pid))
    : 0;
  const machine = (after.busyTicks - before.busyTicks) / TICKS_PER_SECOND / seconds;
  return {
    service,
    postgres,
    loadGenerator,
    other: Math.max(0, machine - service - postgres - loadGenerator),
    machine,
  };
}
