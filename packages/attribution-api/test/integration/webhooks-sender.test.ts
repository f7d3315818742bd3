/**
 * The HTTP side of a delivery against real sockets on 127.0.0.1: what counts as success, redirects,
 * timeouts, refused connections, shutdown, and the connect-time address check. No database involved.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guardedLookup, SendAborted, sendWebhook } from '../../src/webhooks/sender.ts';

let server: http.Server;
let base = '';
const hits: { path: string; headers: http.IncomingHttpHeaders; body: string }[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      hits.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString() });
      if (req.url === '/ok') return res.writeHead(204).end();
      if (req.url === '/redirect') return res.writeHead(302, { location: `${base}/ok` }).end();
      if (req.url === '/permanent') return res.writeHead(308, { location: `${base}/ok` }).end();
      if (req.url === '/error') return res.writeHead(500).end('boom');
      if (req.url === '/endless') {
        // Answers 200 at once, then a body that never ends: the status is the answer.
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('working');
        return;
      }
      // /hang: never answers.
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const send = (path: string, options: { timeoutMs?: number; signal?: AbortSignal; url?: string } = {}) =>
  sendWebhook({
    url: options.url ?? `${base}${path}`,
    headers: { 'ringpool-event-id': 'evt-1' },
    body: '{"id":"evt-1"}',
    timeoutMs: options.timeoutMs ?? 2_000,
    signal: options.signal,
  });

describe('sending one delivery', () => {
  it('POSTs the body as JSON with the given headers; a 2xx is success', async () => {
    const result = await send('/ok');
    expect(result).toMatchObject({ ok: true, statusCode: 204, error: null });
    const hit = hits.find((h) => h.path === '/ok');
    expect(hit?.body).toBe('{"id":"evt-1"}');
    expect(hit?.headers).toMatchObject({
      'content-type': 'application/json',
      'ringpool-event-id': 'evt-1',
      'user-agent': 'Ringpool-Webhooks/1',
    });
  });

  it('takes a 500 as a failure with its status', async () => {
    expect(await send('/error')).toMatchObject({ ok: false, statusCode: 500, error: 'HTTP 500' });
  });

  it('does not follow redirects', async () => {
    const before = hits.filter((h) => h.path === '/ok').length;
    for (const path of ['/redirect', '/permanent']) {
      const result = await send(path);
      expect(result.ok).toBe(false);
      expect(result.error).toMatch(/redirect \(30[28]\) not followed/);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(hits.filter((h) => h.path === '/ok')).toHaveLength(before);
  });

  it('gives up on a receiver that does not answer in time', async () => {
    const started = performance.now();
    const result = await send('/hang', { timeoutMs: 300 });
    expect(result).toMatchObject({ ok: false, statusCode: null, error: 'no answer within 300 ms' });
    expect(result.durationMs).toBeGreaterThanOrEqual(295);
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('succeeds on a 2xx even if the body never ends', async () => {
    expect(await send('/endless', { timeoutMs: 500 })).toMatchObject({ ok: true, statusCode: 200 });
  });

  it('reports a refused connection', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const result = await send('', { url: `http://127.0.0.1:${port}/` });
    expect(result).toMatchObject({ ok: false, statusCode: null, error: 'connection refused' });
  });

  it('rejects with SendAborted when the service stops mid-request', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    await expect(send('/hang', { signal: controller.signal, timeoutMs: 5_000 })).rejects.toBeInstanceOf(SendAborted);
  });

  it('sends nothing to a URL the policy refuses', async () => {
    const before = hits.length;
    const result = await send('', { url: 'http://169.254.169.254/latest/meta-data' });
    expect(result).toMatchObject({ ok: false, statusCode: null, durationMs: 0 });
    expect(result.error).toMatch(/https/);
    expect(hits).toHaveLength(before);
  });
});

describe('the connect-time address check', () => {
  const resolve = (loopback: boolean, all: boolean) =>
    new Promise<{ err: Error | null; address: unknown }>((done) => {
      guardedLookup(loopback)('localhost', { all }, (err, address) => done({ err, address }));
    });

  it('lets a name resolve to loopback only when the URL named loopback', async () => {
    for (const all of [false, true]) {
      const refused = await resolve(false, all);
      expect(refused.err?.message).toMatch(/resolves only to private or reserved addresses/);
      const allowed = await resolve(true, all);
      expect(allowed.err).toBeNull();
      const addresses = Array.isArray(allowed.address)
        ? allowed.address.map((a: { address: string }) => a.address)
        : [allowed.address];
      for (const address of addresses) expect(['127.0.0.1', '::1']).toContain(address);
    }
  });

  it('is what the request uses: http://localhost reaches this machine', async () => {
    const port = new URL(base).port;
    expect(await send('', { url: `http://localhost:${port}/ok` })).toMatchObject({ ok: true, statusCode: 204 });
  });
});
