import { type ChildProcessByStdio, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CallSpool,
  mayClaim,
  parseSegment,
  parseSpoolFileName,
  type SpoolEvent,
  type SpoolFile,
} from '../../../src/calls/spool.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../../../../..');
const writerFixture = path.join(here, 'spool-writer.fixture.ts');
const INSTANCE = '0123456789abcdef';

let dir: string;
let spools: CallSpool[];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringpool-spool-'));
  spools = [];
});

afterEach(() => {
  for (const spool of spools) spool.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function open(options: { staleAfterMs?: number; maxSegmentBytes?: number } = {}) {
  const warnings: string[] = [];
  const spool = new CallSpool({ dir, onWarning: (message) => warnings.push(message), ...options });
  spools.push(spool);
  return { spool, warnings };
}

/** An apply that records events and yields to the event loop, as a database call would. */
function recorder() {
  const applied: SpoolEvent[] = [];
  const apply = async (event: SpoolEvent) => {
    await new Promise((resolve) => setImmediate(resolve));
    applied.push(event);
  };
  return { applied, apply };
}

function files(): string[] {
  return fs.readdirSync(dir).sort();
}

function seqs(events: SpoolEvent[]): unknown[] {
  return events.map((event) => event.seq);
}

/** A pid that certainly belonged to a process that has exited. */
function deadPid(): number {
  const { pid } = spawnSync(process.execPath, ['-e', '']);
  if (!pid) throw new Error('could not spawn a short-lived process');
  return pid;
}

interface Writer {
  child: ChildProcessByStdio<Writable, Readable, null>;
  acks: number[];
  /** Resolves once `count` acks are in, or when the child's output ends. */
  acked(count: number): Promise<void>;
  /** Resolves when the child has exited and been reaped, and its output is fully read. */
  closed: Promise<void>;
}

function startWriter(count: number, mode: 'run' | 'hold' = 'run'): Writer {
  const child = spawn(process.execPath, ['--import', 'tsx', writerFixture, dir, String(count), mode], {
    cwd: repoRoot,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const acks: number[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  let held = false;
  let buffered = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      if (line === 'held') held = true;
      else if (line.startsWith('ack ')) acks.push(Number(line.slice(4)));
    }
    for (const waiter of waiters) if (acks.length >= waiter.count || held) waiter.resolve();
  });
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
  const acked = (n: number) =>
    Promise.race([closed, new Promise<void>((resolve) => waiters.push({ count: n, resolve }))]).then(() => {});
  return { child, acks, acked, closed };
}

describe('spool file names', () => {
  it('reads the writer of open and closed segments and the claimer of claims', () => {
    const base = `1767225600000-000007-4242-${INSTANCE}`;
    expect(parseSpoolFileName(`${base}.open`)).toEqual({
      name: `${base}.open`,
      base,
      state: 'open',
      writer: `4242-${INSTANCE}`,
      pid: 4242,
      instance: INSTANCE,
    });
    expect(parseSpoolFileName(`${base}.ndjson`)).toMatchObject({ state: 'closed', pid: 4242 });
    expect(parseSpoolFileName(`${base}.ndjson.replaying-99-fedcba9876543210`)).toMatchObject({
      base,
      state: 'claimed',
      writer: `4242-${INSTANCE}`,
      pid: 99,
      instance: 'fedcba9876543210',
    });
    expect(parseSpoolFileName(`${base}.ndjson.tmp-99-fedcba9876543210`)).toMatchObject({ state: 'tmp', pid: 99 });
    expect(parseSpoolFileName(`${base}.open.replaying-99-fedcba9876543210`)).toBeUndefined();
    expect(parseSpoolFileName('notes.txt')).toBeUndefined();
  });

  it('claims closed segments always, others only from dead, own or stale owners, tmp files never', () => {
    const file = (state: SpoolFile['state']): SpoolFile => ({
      name: '',
      base: '',
      state,
      writer: `1-${INSTANCE}`,
      pid: 1,
      instance: INSTANCE,
    });
    expect(mayClaim(file('closed'), 'live', 0, 1000)).toBe(true);
    expect(mayClaim(file('open'), 'live', 999, 1000)).toBe(false);
    expect(mayClaim(file('open'), 'live', 1000, 1000)).toBe(true);
    expect(mayClaim(file('open'), 'dead', 0, 1000)).toBe(true);
    expect(mayClaim(file('claimed'), 'live', 0, 1000)).toBe(false);
    expect(mayClaim(file('claimed'), 'dead', 0, 1000)).toBe(true);
    expect(mayClaim(file('claimed'), 'this-instance', 0, 1000)).toBe(true);
    expect(mayClaim(file('tmp'), 'dead', 1e9, 1000)).toBe(false);
  });
});

describe('parseSegment', () => {
  it('keeps complete lines in order and drops a torn last line', () => {
    const { entries, dropped } = parseSegment('{"seq":1}\n{"seq":2}\n{"seq":3,"ca');
    expect(entries.map((entry) => entry.event)).toEqual([{ seq: 1 }, { seq: 2 }]);
    expect(dropped).toEqual([{ lineNumber: 3, reason: 'torn last line (no newline)' }]);
  });

  it('drops a last line without its newline even if it parses', () => {
    expect(parseSegment('{"seq":1}\n{"seq":2}').dropped).toHaveLength(1);
  });

  it('drops unparsable or non-object lines without blocking the ones after them', () => {
    const { entries, dropped } = parseSegment('{"seq":1}\n{"se\n[1]\n{"seq":4}\n');
    expect(entries.map((entry) => entry.event)).toEqual([{ seq: 1 }, { seq: 4 }]);
    expect(dropped.map((drop) => drop.lineNumber)).toEqual([2, 3]);
  });
});

describe('CallSpool', () => {
  it('replays appended events in order and leaves the spool empty', async () => {
    const { spool, warnings } = open();
    for (let seq = 0; seq < 20; seq++) spool.append({ seq, call_sid: `CA${seq}` });
    expect(spool.pendingCount()).toBe(20);

    const { applied, apply } = recorder();
    const result = await spool.replay(apply);

    expect(seqs(applied)).toEqual([...Array(20).keys()]);
    expect(applied[3]).toEqual({ seq: 3, call_sid: 'CA3' });
    expect(result).toEqual({ applied: 20, skipped: 0, pending: 0 });
    expect(files()).toEqual([]);
    expect(warnings).toEqual([]);
  });

  it('writes each event as one line of its segment before append returns', () => {
    const { spool } = open();
    spool.append({ seq: 1 });
    const [name = ''] = files();
    expect(parseSpoolFileName(name)).toMatchObject({ state: 'open', pid: process.pid, instance: spool.instance });
    expect(fs.readFileSync(path.join(dir, name), 'utf8')).toBe('{"seq":1}\n');
  });

  it('refuses what is not a JSON object', () => {
    const { spool } = open();
    expect(() => spool.append([] as unknown as SpoolEvent)).toThrow(TypeError);
    expect(() => spool.append({ n: 1n })).toThrow(TypeError);
  });

  it('starts a new segment past the size limit and replays across segments in order', async () => {
    const { spool } = open({ maxSegmentBytes: 100 });
    for (let seq = 0; seq < 30; seq++) spool.append({ seq, pad: 'x'.repeat(20) });
    expect(files().length).toBeGreaterThan(5);

    const { applied, apply } = recorder();
    await spool.replay(apply);
    expect(seqs(applied)).toEqual([...Array(30).keys()]);
    expect(files()).toEqual([]);
  });

  it('stops at the first failure, keeps that event and the rest, and applies them on the next pass', async () => {
    const { spool, warnings } = open({ maxSegmentBytes: 60 });
    for (let seq = 0; seq < 10; seq++) spool.append({ seq });
    const { applied, apply } = recorder();
    let down = true;
    const failing = async (event: SpoolEvent) => {
      if (down && event.seq === 5) throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
      await apply(event);
    };

    const first = await spool.replay(failing);
    expect(first).toMatchObject({ applied: 5, pending: 5 });
    expect(first.error).toBeInstanceOf(Error);
    expect(warnings.some((warning) => warning.includes('ECONNREFUSED'))).toBe(true);
    expect(spool.pendingCount()).toBe(5);

    down = false;
    const second = await spool.replay(failing);
    expect(second).toEqual({ applied: 5, skipped: 0, pending: 0 });
    // Events applied before the failure are not applied again.
    expect(seqs(applied)).toEqual([...Array(10).keys()]);
    expect(files()).toEqual([]);
  });

  it('keeps the remainder across a restart of the process (a new instance on the same directory)', async () => {
    const { spool } = open();
    for (let seq = 0; seq < 4; seq++) spool.append({ seq });
    await spool.replay(async (event) => {
      if (event.seq === 2) throw new Error('database down');
    });
    spool.close();

    const { spool: restarted } = open();
    const { applied, apply } = recorder();
    expect(await restarted.replay(apply)).toMatchObject({ applied: 2, pending: 0 });
    expect(seqs(applied)).toEqual([2, 3]);
  });

  it('skips a torn last line with a warning and applies everything else', async () => {
    const { spool: writer } = open();
    for (let seq = 0; seq < 3; seq++) writer.append({ seq });
    writer.close();
    const [segment = ''] = files();
    fs.appendFileSync(path.join(dir, segment), '{"seq":3,"call_s');

    const { spool, warnings } = open();
    const { applied, apply } = recorder();
    const result = await spool.replay(apply);
    expect(seqs(applied)).toEqual([0, 1, 2]);
    expect(result).toEqual({ applied: 3, skipped: 1, pending: 0 });
    expect(warnings).toEqual([expect.stringContaining('torn last line')]);
    expect(files()).toEqual([]);
  });

  it('does not lose events appended while a replay is running', async () => {
    const { spool } = open({ maxSegmentBytes: 50 });
    for (let seq = 0; seq < 10; seq++) spool.append({ seq });
    const applied: unknown[] = [];
    let next = 100;
    const result = await spool.replay(async (event) => {
      spool.append({ seq: next++ });
      await new Promise((resolve) => setImmediate(resolve));
      applied.push(event.seq);
    });
    expect(result).toMatchObject({ applied: 10, pending: 10 });
    expect(applied).toEqual([...Array(10).keys()]);

    const { applied: later, apply } = recorder();
    expect(await spool.replay(apply)).toMatchObject({ applied: 10, pending: 0 });
    expect(seqs(later)).toEqual([100, 101, 102, 103, 104, 105, 106, 107, 108, 109]);
  });

  it('joins a replay already running in the same instance', async () => {
    const { spool } = open();
    spool.append({ seq: 0 });
    const { applied, apply } = recorder();
    const [a, b] = await Promise.all([spool.replay(apply), spool.replay(apply)]);
    expect(a).toBe(b);
    expect(seqs(applied)).toEqual([0]);
  });

  it('applies each event once when two instances replay the same directory concurrently', async () => {
    const { spool: gone } = open({ maxSegmentBytes: 200 });
    for (let seq = 0; seq < 200; seq++) gone.append({ seq, from: 'gone' });
    gone.close();
    const { spool: a, warnings: aWarnings } = open({ maxSegmentBytes: 200 });
    const { spool: b, warnings: bWarnings } = open({ maxSegmentBytes: 200 });
    for (let seq = 0; seq < 50; seq++) {
      a.append({ seq, from: 'a' });
      b.append({ seq, from: 'b' });
    }

    const counts = new Map<string, number>();
    const apply = async (event: SpoolEvent) => {
      await new Promise((resolve) => setImmediate(resolve));
      const key = `${event.from}:${event.seq}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    };
    const [ra, rb] = await Promise.all([a.replay(apply), b.replay(apply)]);

    expect(counts.size).toBe(300);
    expect([...counts.values()].every((count) => count === 1)).toBe(true);
    expect(ra.applied + rb.applied).toBe(300);
    expect(ra.applied).toBeGreaterThan(0);
    expect(rb.applied).toBeGreaterThan(0);
    expect(files()).toEqual([]);
    expect([...aWarnings, ...bWarnings]).toEqual([]);
  });

  it("leaves a writer's later segments while another live replayer holds an earlier one", async () => {
    const { spool: writer } = open({ maxSegmentBytes: 20 });
    for (let seq = 0; seq < 6; seq++) writer.append({ seq });
    writer.close();
    const { spool: holder } = open();
    const [first = ''] = files();
    fs.renameSync(path.join(dir, first), path.join(dir, `${first}.replaying-${process.pid}-${holder.instance}`));

    const { spool } = open();
    const { applied, apply } = recorder();
    expect(await spool.replay(apply)).toEqual({ applied: 0, skipped: 0, pending: 6 });
    expect(await holder.replay(apply)).toEqual({ applied: 6, skipped: 0, pending: 0 });
    expect(seqs(applied)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('leaves the open segment of another live instance alone', async () => {
    const { spool: other } = open();
    other.append({ seq: 1 });
    const { spool } = open();
    const { applied, apply } = recorder();
    expect(await spool.replay(apply)).toEqual({ applied: 0, skipped: 0, pending: 1 });
    expect(applied).toEqual([]);

    other.close();
    expect(await spool.replay(apply)).toMatchObject({ applied: 1, pending: 0 });
  });

  it('takes an open segment of its own pid left by an instance that no longer runs (a restarted container)', async () => {
    const left = `${String(Date.now() - 60_000).padStart(13, '0')}-000000-${process.pid}-${INSTANCE}.open`;
    fs.writeFileSync(path.join(dir, left), '{"seq":0}\n{"seq":1}\n');

    const { spool } = open();
    const { applied, apply } = recorder();
    expect(await spool.replay(apply)).toMatchObject({ applied: 2, pending: 0 });
    expect(seqs(applied)).toEqual([0, 1]);
  });

  it('takes over a claim left by a dead replayer', async () => {
    const { spool: writer } = open();
    for (let seq = 0; seq < 3; seq++) writer.append({ seq });
    writer.close();
    const [segment = ''] = files();
    fs.renameSync(path.join(dir, segment), path.join(dir, `${segment}.replaying-${deadPid()}-${INSTANCE}`));
    fs.writeFileSync(path.join(dir, `${segment}.tmp-${deadPid()}-${INSTANCE}`), '{"seq":2}\n');

    const { spool } = open();
    const { applied, apply } = recorder();
    expect(await spool.replay(apply)).toMatchObject({ applied: 3, pending: 0 });
    expect(seqs(applied)).toEqual([0, 1, 2]);
    expect(files()).toEqual([]);
  });

  it('takes over a stale segment of a live-looking writer, whose next append goes to a new segment', async () => {
    const { spool: writer, warnings: writerWarnings } = open();
    writer.append({ seq: 0 });
    writer.append({ seq: 1 });
    const { spool: replayer, warnings } = open({ staleAfterMs: 50 });
    await new Promise((resolve) => setTimeout(resolve, 80));

    const { applied, apply } = recorder();
    expect(await replayer.replay(apply)).toMatchObject({ applied: 2, pending: 0 });
    expect(warnings).toEqual([expect.stringContaining('took over stale spool file')]);

    writer.append({ seq: 2 });
    expect(writerWarnings).toEqual([expect.stringContaining('was taken by a replayer')]);
    expect(writer.pendingCount()).toBe(1);
    await writer.replay(apply);
    expect(seqs(applied)).toEqual([0, 1, 2]);
  });

  it('refuses appends once closed', () => {
    const { spool } = open();
    spool.close();
    expect(() => spool.append({ seq: 0 })).toThrow('closed');
  });
});

describe('CallSpool across processes', () => {
  it('replays every event a SIGKILLed writer acknowledged', { timeout: 60_000 }, async () => {
    const writer = startWriter(1_000_000);
    await writer.acked(300);
    writer.child.kill('SIGKILL');
    await writer.closed;
    expect(writer.child.signalCode).toBe('SIGKILL');
    expect(writer.acks.length).toBeGreaterThanOrEqual(300);
    expect(writer.acks.length).toBeLessThan(1_000_000);

    const { spool } = open();
    const { applied, apply } = recorder();
    const result = await spool.replay(apply);
    const replayed = seqs(applied);
    // Every acknowledged event, in order; at most one more (written, killed before its ack) and one torn line.
    expect(replayed.slice(0, writer.acks.length)).toEqual(writer.acks);
    expect(replayed.length - writer.acks.length).toBeLessThanOrEqual(1);
    expect(result.skipped).toBeLessThanOrEqual(1);
    expect(applied.every((event) => event.pid === writer.child.pid)).toBe(true);
    expect(files()).toEqual([]);
  });

  it('leaves a live writer process its segment and takes it once the process is gone', {
    timeout: 60_000,
  }, async () => {
    const writer = startWriter(5, 'hold');
    await writer.acked(Number.POSITIVE_INFINITY);
    expect(writer.acks).toEqual([0, 1, 2, 3, 4]);

    const { spool } = open();
    const { applied, apply } = recorder();
    expect(await spool.replay(apply)).toEqual({ applied: 0, skipped: 0, pending: 5 });

    // The writer exits without closing its spool: its segment stays `.open` under a dead pid.
    writer.child.stdin.end();
    await writer.closed;
    expect(files()).toEqual([expect.stringMatching(/\.open$/)]);
    expect(await spool.replay(apply)).toEqual({ applied: 5, skipped: 0, pending: 0 });
    expect(seqs(applied)).toEqual([0, 1, 2, 3, 4]);
  });
});
