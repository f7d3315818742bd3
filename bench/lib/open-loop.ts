// Open-loop HTTP load: requests leave on a fixed schedule, whatever the answers do, over a fixed
// number of keep-alive connections; each latency runs from the request's scheduled moment, so
// time spent queued behind slow answers counts (no coordinated omission). This is the latency a
// visitor sees at a given load, where wrk's closed loop measures the queue at saturation.
// Either the same requests in turn (runOpenLoop), or each its own (runOpenLoopRequests: a webhook
// per call, with its own CallSid, body and signature).
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { HttpRequestSpec } from './load.ts';

export interface OpenLoopResult {
  connections: number;
  /** Requests per second asked for, and completed. */
  rate: number;
  achieved: number;
  completed: number;
  errors: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;

export interface PlannedRequest {
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body?: string;
}

export interface OpenLoopRequestsOptions {
  rate: number;
  connections: number;
  durationS: number;
  warmupS: number;
  /** Whether an answer counts as a success (default: status 200); anything else is an error. */
  accept?: (status: number, body: string) => boolean;
  /** Also count the successful answers at least this slow (e.g. a timeout inside the service). */
  slowMs?: number;
}

export interface OpenLoopRequestsResult extends OpenLoopResult {
  /** Successful answers at least `slowMs` late (0 without `slowMs`). */
  slow: number;
}

/** How many requests a run sends: `request(i)` is asked for i = 0 … count − 1, in order. */
export function plannedCount(options: Pick<OpenLoopRequestsOptions, 'rate' | 'durationS' | 'warmupS'>): number {
  return Math.ceil((options.warmupS + options.durationS) * options.rate);
}

export async function runOpenLoopRequests(
  base: string,
  request: (i: number) => PlannedRequest,
  options: OpenLoopRequestsOptions,
): Promise<OpenLoopRequestsResult> {
  const { rate, connections, durationS, warmupS } = options;
  const accept = options.accept ?? ((status) => status === 200);
  const url = new URL(base);
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const latencies: number[] = [];
  let errors = 0;
  const pending = new Set<Promise<void>>();
  const start = performance.now();
  const measureFrom = start + warmupS * 1000;
  const end = measureFrom + durationS * 1000;

  const send = (planned: PlannedRequest, scheduled: number) => {
    const body = planned.body === undefined ? undefined : Buffer.from(planned.body);
    const done = new Promise<void>((resolve) => {
      const outgoing = http.request(
        {
          host: url.hostname,
          port: url.port,
          path: planned.path,
          method: planned.method,
          agent,
          headers: body ? { ...planned.headers, 'Content-Length': body.length } : planned.headers,
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => {
            if (scheduled >= measureFrom) {
              if (accept(response.statusCode ?? 0, Buffer.concat(chunks).toString())) {
                latencies.push(performance.now() - scheduled);
              } else errors++;
            }
            resolve();
          });
        },
      );
      outgoing.on('error', () => {
        if (scheduled >= measureFrom) errors++;
        resolve();
      });
      outgoing.end(body);
    });
    pending.add(done);
    done.then(() => pending.delete(done));
  };

  for (let i = 0; ; i++) {
    const scheduled = start + (i * 1000) / rate;
    if (scheduled >= end) break;
    const wait = scheduled - performance.now();
    if (wait > 1) await sleep(wait);
    // Timers are coarse: a request that leaves up to 1 ms early counts from when it left, so never below zero.
    send(request(i), Math.min(scheduled, performance.now()));
  }
  // Bounded: answers still missing 30 s after the last request are counted as errors.
  const settled = await Promise.race([Promise.all(pending).then(() => true), sleep(30_000).then(() => false)]);
  if (!settled) errors += pending.size;
  agent.destroy();

  const sorted = latencies.sort((a, b) => a - b);
  return {
    connections,
    rate,
    achieved: sorted.length / durationS,
    completed: sorted.length,
    errors,
    slow: options.slowMs === undefined ? 0 : sorted.filter((ms) => ms >= (options.slowMs ?? 0)).length,
    latencyMs: {
      p50: percentile(sorted, 0.5),
      p90: percentile(sorted, 0.9),
      p99: percentile(sorted, 0.99),
      max: sorted.at(-1) ?? Number.NaN,
    },
  };
}

/** The same request spec over and over, its paths in turn. */
export async function runOpenLoop(
  base: string,
  spec: HttpRequestSpec,
  options: { rate: number; connections: number; durationS: number; warmupS: number },
): Promise<OpenLoopResult> {
  const { slow: _slow, ...result } = await runOpenLoopRequests(
    base,
    (i) => ({ method: 'POST', path: spec.paths[i % spec.paths.length] ?? '/', headers: spec.headers, body: spec.body }),
    options,
  );
  return result;
}
