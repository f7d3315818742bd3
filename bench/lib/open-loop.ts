// Open-loop HTTP load: requests leave on a fixed schedule, whatever the answers do, over a fixed
// number of keep-alive connections; each latency runs from the request's scheduled moment, so
// time spent queued behind slow answers counts (no coordinated omission). This is the latency a
// visitor sees at a given load, where wrk's closed loop measures the queue at saturation.
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

export async function runOpenLoop(
  base: string,
  spec: HttpRequestSpec,
  options: { rate: number; connections: number; durationS: number; warmupS: number },
): Promise<OpenLoopResult> {
  const { rate, connections, durationS, warmupS } = options;
  const url = new URL(base);
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const body = Buffer.from(spec.body);
  const latencies: number[] = [];
  let errors = 0;
  const pending = new Set<Promise<void>>();
  const start = performance.now();
  const measureFrom = start + warmupS * 1000;
  const end = measureFrom + durationS * 1000;

  const send = (path: string, scheduled: number) => {
    const done = new Promise<void>((resolve) => {
      const request = http.request(
        {
          host: url.hostname,
          port: url.port,
          path,
          method: 'POST',
          agent,
          headers: { ...spec.headers, 'Content-Length': body.length },
        },
        (response) => {
          response.resume();
          response.on('end', () => {
            if (scheduled >= measureFrom) {
              if (response.statusCode === 200) latencies.push(performance.now() - scheduled);
              else errors++;
            }
            resolve();
          });
        },
      );
      request.on('error', () => {
        if (scheduled >= measureFrom) errors++;
        resolve();
      });
      request.end(body);
    });
    pending.add(done);
    done.then(() => pending.delete(done));
  };

  for (let i = 0; ; i++) {
    const scheduled = start + (i * 1000) / rate;
    if (scheduled >= end) break;
    const wait = scheduled - performance.now();
    if (wait > 1) await sleep(wait);
    // A request sent a little early is timed from when it left, never from a later moment.
    send(spec.paths[i % spec.paths.length] ?? '/', Math.min(scheduled, performance.now()));
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
    latencyMs: {
      p50: percentile(sorted, 0.5),
      p90: percentile(sorted, 0.9),
      p99: percentile(sorted, 0.99),
      max: sorted.at(-1) ?? Number.NaN,
    },
  };
}
