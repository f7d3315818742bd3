import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * A durable local spool for call events, for when the database is down or slow: the webhook appends
 * the event (fsync'd before `append` returns) and a replayer applies it once the database is back.
 *
 * Layout (one directory, shared by every process of the service on one machine):
 *   <base>.open                           segment being written by its instance
 *   <base>.ndjson                         closed segment, claimable by any replayer
 *   <base>.ndjson.replaying-<pid>-<inst>  segment claimed (atomic rename) by a replayer
 *   <base>.ndjson.tmp-<pid>-<inst>        unapplied remainder being written, published as <base>.ndjson
 * where <base> = <ms since epoch, 13 digits>-<seq, 6 digits>-<writer pid>-<writer instance id>.
 * Every state lives in these names and files; nothing that matters is kept only in memory.
 */

export type SpoolEvent = Record<string, unknown>;

export interface SpoolOptions {
  dir: string;
  /** Torn or unreadable lines, segments taken over, apply failures: the spool never prints. */
  onWarning?: (message: string) => void;
  /** A segment or claim untouched this long is taken over even if its pid looks alive (the pid may be reused). */
  staleAfterMs?: number;
  /** The writer starts a new segment past this size, which bounds re-application after a crash mid-replay. */
  maxSegmentBytes?: number;
}

export interface ReplayResult {
  /** Events applied in this pass (an event applied twice after a crash counts each time). */
  applied: number;
  /** Torn or unparsable lines dropped in this pass. */
  skipped: number;
  /** Events still in the spool when the pass ended, as `pendingCount()` counts them. */
  pending: number;
  /** Why the pass stopped early: what `apply` threw. */
  error?: unknown;
}

export type SpoolFileState = 'open' | 'closed' | 'claimed' | 'tmp';

export interface SpoolFile {
  name: string;
  base: string;
  state: SpoolFileState;
  /** Who wrote the events: `<pid>-<instance>`. */
  writer: string;
  /** The writer for `open` and `closed`, the claimer for `claimed` and `tmp`. */
  pid: number;
  instance: string;
}

export type Owner = 'this-instance' | 'live' | 'dead';

const BASE = String.raw`(\d{13}-\d{6}-(\d+)-([0-9a-f]{16}))`;
const FILE_NAME = new RegExp(String.raw`^${BASE}\.(open|ndjson)(?:\.(replaying|tmp)-(\d+)-([0-9a-f]{16}))?$`);

/** What a file in the spool directory is, from its name alone; undefined for anything else. */
export function parseSpoolFileName(name: string): SpoolFile | undefined {
  const m = FILE_NAME.exec(name);
  if (!m) return undefined;
  const [, base = '', writerPid = '', writerInstance = '', ext, claim, claimPid = '', claimInstance = ''] = m;
  if (claim && ext !== 'ndjson') return undefined;
  const writer = `${writerPid}-${writerInstance}`;
  if (!claim) {
    return {
      name,
      base,
      state: ext === 'open' ? 'open' : 'closed',
      writer,
      pid: Number(writerPid),
      instance: writerInstance,
    };
  }
  const state = claim === 'replaying' ? 'claimed' : 'tmp';
  return { name, base, state, writer, pid: Number(claimPid), instance: claimInstance };
}

/** Whether a replayer may take a file: closed segments always, others only from dead or stale owners. */
export function mayClaim(file: SpoolFile, owner: Owner, idleMs: number, staleAfterMs: number): boolean {
  if (file.state === 'tmp') return false;
  if (file.state === 'closed') return true;
  return owner !== 'live' || idleMs >= staleAfterMs;
}

export interface ParsedSegment {
  entries: { line: string; event: SpoolEvent }[];
  dropped: { lineNumber: number; reason: string }[];
}

/** The events of a segment in file order; a torn last line or an unparsable line is dropped, never fatal. */
export function parseSegment(text: string): ParsedSegment {
  const lines = text.split('\n');
  const torn = lines.pop() ?? '';
  const parsed: ParsedSegment = { entries: [], dropped: [] };
  lines.forEach((line, i) => {
    if (line === '') return;
    let event: unknown;
    try {
      event = JSON.parse(line);
    } catch {
      parsed.dropped.push({ lineNumber: i + 1, reason: 'unparsable line' });
      return;
    }
    if (typeof event !== 'object' || event === null || Array.isArray(event)) {
      parsed.dropped.push({ lineNumber: i + 1, reason: 'line is not a JSON object' });
      return;
    }
    parsed.entries.push({ line, event: event as SpoolEvent });
  });
  if (torn !== '') parsed.dropped.push({ lineNumber: lines.length + 1, reason: 'torn last line (no newline)' });
  return parsed;
}

/** Instances open in this process: files of this pid whose instance is not here were left by a crash. */
const liveInstances = new Set<string>();

interface Segment {
  name: string;
  fd: number;
  dev: number;
  ino: number;
  bytes: number;
}

export class CallSpool {
  readonly dir: string;
  readonly instance = randomBytes(8).toString('hex');
  private readonly onWarning: (message: string) => void;
  private readonly staleAfterMs: number;
  private readonly maxSegmentBytes: number;
  private current: Segment | undefined;
  private seq = 0;
  private closed = false;
  private replaying: Promise<ReplayResult> | undefined;
  private counted = new Map<string, { ino: number; size: number; lines: number }>();

  constructor(options: SpoolOptions) {
    this.dir = path.resolve(options.dir);
    this.onWarning = options.onWarning ?? (() => {});
    this.staleAfterMs = options.staleAfterMs ?? 10 * 60_000;
    this.maxSegmentBytes = options.maxSegmentBytes ?? 1024 * 1024;
    const created = fs.mkdirSync(this.dir, { recursive: true });
    if (created) fsyncDir(path.dirname(created));
    liveInstances.add(this.instance);
  }

  /**
   * Writes the event as one line and fsyncs it: once this returns, the event survives a crash.
   * Throws if it could not be made durable (the event may still be replayed: apply is idempotent).
   */
  append(event: SpoolEvent): void {
    if (this.closed) throw new Error('call spool is closed');
    const json = JSON.stringify(event);
    if (typeof json !== 'string' || !json.startsWith('{')) throw new TypeError('a spooled event must be a JSON object');
    const data = Buffer.from(`${json}\n`);
    for (let attempt = 0; attempt < 3; attempt++) {
      const segment = this.current ?? this.openSegment();
      try {
        writeAll(segment.fd, data);
        fs.fsyncSync(segment.fd);
      } catch (error) {
        // A partial line may be on disk: never write after it.
        this.rotate();
        throw error;
      }
      segment.bytes += data.length;
      if (this.stillLinked(segment)) {
        if (segment.bytes >= this.maxSegmentBytes) this.rotate();
        return;
      }
      // A replayer took this segment as stale, maybe after reading it: write the event again elsewhere.
      this.onWarning(`spool segment ${segment.name} was taken by a replayer; appending to a new segment`);
      closeQuietly(segment.fd);
      this.current = undefined;
    }
    throw new Error('call spool: segments kept being taken during append');
  }

  /**
   * Applies every claimable spooled event, in file order within a segment, oldest segment first.
   * Stops at the first failure of `apply`, keeping that event and the rest. Events appended meanwhile
   * wait for the next pass. A call while a pass runs joins that pass.
   */
  replay(apply: (event: SpoolEvent) => Promise<void>): Promise<ReplayResult> {
    if (this.closed) return Promise.reject(new Error('call spool is closed'));
    this.replaying ??= this.replayPass(apply).finally(() => {
      this.replaying = undefined;
    });
    return this.replaying;
  }

  /** Events waiting in the spool (every process's), for /readyz and logs; torn lines are not counted. */
  pendingCount(): number {
    let total = 0;
    const seen = new Set<string>();
    for (const name of fs.readdirSync(this.dir)) {
      const file = parseSpoolFileName(name);
      if (!file || file.state === 'tmp') continue;
      seen.add(name);
      total += this.countLines(name);
    }
    for (const name of this.counted.keys()) if (!seen.has(name)) this.counted.delete(name);
    return total;
  }

  /** Closes the current segment so that any replayer may take it. */
  close(): void {
    if (this.closed) return;
    this.rotate();
    this.closed = true;
    liveInstances.delete(this.instance);
  }

  private async replayPass(apply: (event: SpoolEvent) => Promise<void>): Promise<ReplayResult> {
    this.rotate();
    const result: ReplayResult = { applied: 0, skipped: 0, pending: 0 };
    // A writer's later segments wait while another replayer holds an earlier one, so its events keep their order.
    const held = new Set<string>();
    for (const name of fs.readdirSync(this.dir).sort()) {
      const file = parseSpoolFileName(name);
      if (!file || name === this.current?.name || held.has(file.writer)) continue;
      const owner = this.ownerOf(file);
      if (file.state === 'tmp') {
        // A remainder is only published by rename before its claim is removed: an orphan is a spare copy.
        if (owner !== 'live') unlinkQuietly(path.join(this.dir, name));
        continue;
      }
      const claimed = mayClaim(file, owner, this.idleMs(name), this.staleAfterMs) && this.claim(file, owner);
      const outcome = claimed ? await this.applySegment(file, claimed, apply, result) : 'held elsewhere';
      if (outcome === 'failed') break;
      if (outcome !== 'done') held.add(file.writer);
    }
    result.pending = this.pendingCount();
    return result;
  }

  /** Renames the file to this instance's claim; undefined if another replayer got there first. */
  private claim(file: SpoolFile, owner: Owner): string | undefined {
    const claimed = `${file.base}.ndjson.replaying-${process.pid}-${this.instance}`;
    try {
      if (file.name !== claimed) fs.renameSync(path.join(this.dir, file.name), path.join(this.dir, claimed));
    } catch (error) {
      if (isCode(error, 'ENOENT')) return undefined;
      throw error;
    }
    // A rename keeps the mtime, and an old one would let another replayer judge this fresh claim stale.
    if (!touch(path.join(this.dir, claimed))) return undefined;
    if (owner === 'live' && file.state !== 'closed') this.onWarning(`took over stale spool file ${file.name}`);
    return claimed;
  }

  /** Applies one claimed segment: `failed` stops the pass, `taken` means a replayer took it over as stale. */
  private async applySegment(
    file: SpoolFile,
    claimed: string,
    apply: (event: SpoolEvent) => Promise<void>,
    result: ReplayResult,
  ): Promise<'done' | 'failed' | 'taken'> {
    const claimPath = path.join(this.dir, claimed);
    const { entries, dropped } = parseSegment(fs.readFileSync(claimPath, 'utf8'));
    for (const { lineNumber, reason } of dropped) this.onWarning(`${file.base} line ${lineNumber}: ${reason}, skipped`);
    result.skipped += dropped.length;
    for (const [i, { event }] of entries.entries()) {
      try {
        await apply(event);
      } catch (error) {
        result.error = error;
        this.onWarning(`replay stopped at ${file.base} event ${i + 1} of ${entries.length}: ${describe(error)}`);
        this.publishRemainder(file.base, claimPath, entries.slice(i));
        return 'failed';
      }
      result.applied++;
      // The claim's mtime is this replayer's sign of life; a missing claim was taken over as stale.
      if (!touch(claimPath)) return 'taken';
    }
    unlinkQuietly(claimPath);
    fsyncDir(this.dir);
    return 'done';
  }

  /** Durably replaces the claim by a closed segment holding only the events not yet applied. */
  private publishRemainder(base: string, claimPath: string, entries: ParsedSegment['entries']): void {
    const tmp = path.join(this.dir, `${base}.ndjson.tmp-${process.pid}-${this.instance}`);
    const fd = fs.openSync(tmp, 'w');
    try {
      writeAll(fd, Buffer.from(entries.map((entry) => `${entry.line}\n`).join('')));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, path.join(this.dir, `${base}.ndjson`));
    fsyncDir(this.dir);
    unlinkQuietly(claimPath);
    fsyncDir(this.dir);
  }

  private openSegment(): Segment {
    const seq = String(this.seq++ % 1_000_000).padStart(6, '0');
    const base = `${String(Date.now()).padStart(13, '0')}-${seq}-${process.pid}-${this.instance}`;
    const name = `${base}.open`;
    const fd = fs.openSync(path.join(this.dir, name), 'ax');
    try {
      fsyncDir(this.dir);
      const { dev, ino } = fs.fstatSync(fd);
      this.current = { name, fd, dev, ino, bytes: 0 };
      return this.current;
    } catch (error) {
      closeQuietly(fd);
      throw error;
    }
  }

  /** Closes the current segment and renames it closed; the next append starts a new one. */
  private rotate(): void {
    const segment = this.current;
    if (!segment) return;
    this.current = undefined;
    closeQuietly(segment.fd);
    const base = segment.name.slice(0, -'.open'.length);
    try {
      fs.renameSync(path.join(this.dir, segment.name), path.join(this.dir, `${base}.ndjson`));
    } catch (error) {
      // Gone: a replayer took it. Otherwise it stays `.open` and is claimed as this instance's leftover.
      if (!isCode(error, 'ENOENT')) this.onWarning(`could not close spool segment ${segment.name}: ${describe(error)}`);
    }
  }

  private stillLinked(segment: Segment): boolean {
    try {
      const stat = fs.statSync(path.join(this.dir, segment.name));
      return stat.ino === segment.ino && stat.dev === segment.dev;
    } catch (error) {
      if (isCode(error, 'ENOENT')) return false;
      throw error;
    }
  }

  private ownerOf(file: SpoolFile): Owner {
    if (file.instance === this.instance) return 'this-instance';
    if (file.pid === process.pid) return liveInstances.has(file.instance) ? 'live' : 'dead';
    return pidAlive(file.pid) ? 'live' : 'dead';
  }

  private idleMs(name: string): number {
    try {
      const stat = fs.statSync(path.join(this.dir, name));
      // ctime also moves on rename, so a claim is fresh from the moment it is made.
      return Date.now() - Math.max(stat.mtimeMs, stat.ctimeMs);
    } catch {
      return 0;
    }
  }

  /** Complete lines in a file, counting only bytes appended since the last look. */
  private countLines(name: string): number {
    let fd: number;
    try {
      fd = fs.openSync(path.join(this.dir, name), 'r');
    } catch (error) {
      if (isCode(error, 'ENOENT')) return 0;
      throw error;
    }
    try {
      const { ino, size } = fs.fstatSync(fd);
      const known = this.counted.get(name);
      const reuse = known && known.ino === ino && known.size <= size;
      let lines = reuse ? known.lines : 0;
      const buffer = Buffer.allocUnsafe(64 * 1024);
      for (let position = reuse ? known.size : 0; position < size; ) {
        const read = fs.readSync(fd, buffer, 0, Math.min(buffer.length, size - position), position);
        if (read === 0) break;
        for (let i = 0; i < read; i++) if (buffer[i] === 0x0a) lines++;
        position += read;
      }
      this.counted.set(name, { ino, size, lines });
      return lines;
    } finally {
      fs.closeSync(fd);
    }
  }
}

function writeAll(fd: number, data: Buffer): void {
  for (let offset = 0; offset < data.length; ) offset += fs.writeSync(fd, data, offset, data.length - offset);
}

/** Makes a created, renamed or removed directory entry durable. */
function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function pidAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return !isCode(error, 'ESRCH');
  }
}

function touch(file: string): boolean {
  try {
    const now = new Date();
    fs.utimesSync(file, now, now);
    return true;
  } catch (error) {
    if (isCode(error, 'ENOENT')) return false;
    throw error;
  }
}

function unlinkQuietly(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch (error) {
    if (!isCode(error, 'ENOENT')) throw error;
  }
}

function closeQuietly(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {}
}

function isCode(error: unknown, code: string): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === code;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
