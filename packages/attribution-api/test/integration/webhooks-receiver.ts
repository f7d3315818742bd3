import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadDocumentedCheck } from '../unit/webhooks/documented-check.ts';

export interface Received {
  /** The path the delivery was posted to: one receiver serves several endpoints. */
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** The event as the documented check returned it; undefined when the check threw. */
  event: { id: string; type: string; created_at: string; data: { call: Record<string, unknown> } } | undefined;
  checkError: string | undefined;
  /** What the receiver answered; undefined while it has not (or never did, the connection closed first). */
  status: number | undefined;
}

export interface ReceiverOptions {
  /** The secret of the endpoint at this path, once it is known. */
  secret: (path: string) => string;
  /** The receiver's clock for the 5-minute window: the service's (test) clock. */
  nowMs?: () => number;
  /** The answer to the nth request (0-based); may wait. `aborted` resolves if the sender hangs up. */
  respond: (request: Received, n: number, aborted: Promise<void>) => number | Promise<number>;
}

/** A real HTTP receiver on 127.0.0.1 and a random port that checks each delivery with the snippet from docs/WEBHOOKS.md. */
export class Receiver {
  readonly requests: Received[] = [];
  private server: http.Server | undefined;
  port = 0;

  static async start(options: ReceiverOptions): Promise<Receiver> {
    const receiver = new Receiver();
    const verify = await loadDocumentedCheck();
    receiver.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', async () => {
        const raw = Buffer.concat(chunks);
        const received: Received = {
          path: req.url ?? '',
          headers: req.headers,
          body: raw.toString('utf8'),
          event: undefined,
          checkError: undefined,
          status: undefined,
        };
        try {
          received.event = verify(
            raw,
            req.headers['ringpool-signature'],
            options.secret(received.path),
            options.nowMs?.(),
          );
        } catch (err) {
          received.checkError = (err as Error).message;
        }
        const n = receiver.requests.push(received) - 1;
        const aborted = new Promise<void>((resolve) => res.once('close', () => resolve()));
        const status = received.event ? await options.respond(received, n, aborted) : 400;
        if (res.destroyed || res.writableEnded) return;
        received.status = status;
        res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'no');
      });
    });
    await new Promise<void>((resolve) => receiver.server?.listen(0, '127.0.0.1', resolve));
    receiver.port = (receiver.server.address() as AddressInfo).port;
    return receiver;
  }

  url(path = '/hook'): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/** Polls `check` until it returns something truthy, or throws after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => T | Promise<T>,
  timeoutMs = 10_000,
): Promise<NonNullable<T>> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
