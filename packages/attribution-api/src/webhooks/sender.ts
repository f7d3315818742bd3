import { type LookupAddress, type LookupOptions, lookup } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { checkEndpointUrl, isAllowedAddress, isLoopbackHost } from './url-policy.ts';

export interface SendResult {
  /** A 2xx answer within the timeout. */
  ok: boolean;
  statusCode: number | null;
  durationMs: number;
  error: string | null;
}

export interface SendRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
  /** Aborts the request (the service is shutting down). */
  signal?: AbortSignal | undefined;
}

/** Aborted by `signal`: not an attempt, the claim is released for another worker. */
export class SendAborted extends Error {}

class Refused extends Error {}

type AllAddressesCallback = (err: null, addresses: LookupAddress[]) => void;

/** DNS lookup that refuses private addresses at connect time: the address checked is the one connected to. */
export function guardedLookup(loopback: boolean): LookupFunction {
  return (hostname, options, callback) => {
    const asked = options as LookupOptions;
    lookup(hostname, { ...asked, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, '', 4);
      const allowed = addresses.filter((a) => isAllowedAddress(a.address, { loopback }));
      if (allowed.length === 0) {
        return callback(new Refused(`${hostname} resolves only to private or reserved addresses`), '', 4);
      }
      // Node asks for every address when it races IPv4 and IPv6 (autoSelectFamily), else for one.
      if (asked.all) return (callback as unknown as AllAddressesCallback)(null, allowed);
      const [first] = allowed as [LookupAddress];
      callback(null, first.address, first.family);
    });
  };
}

const MAX_RESPONSE_BYTES = 64 * 1024;
const ERROR_CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host not found (DNS lookup failed)',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
};

function errorText(err: unknown): string {
  if (err instanceof Refused) return err.message;
  const code = (err as { code?: string }).code;
  const message = (code && ERROR_CODES[code]) ?? (err instanceof Error ? err.message : String(err));
  return message.slice(0, 500);
}

/**
 * POSTs one delivery. Success is a 2xx status within `timeoutMs`; redirects are not followed (a 3xx
 * is a failure); the answer's body is read up to 64 KiB and ignored. Never throws, except SendAborted.
 */
export async function sendWebhook(request: SendRequest): Promise<SendResult> {
  const started = performance.now();
  const elapsed = () => Math.max(0, Math.round(performance.now() - started));
  const verdict = checkEndpointUrl(request.url);
  if (!verdict.ok) return { ok: false, statusCode: null, durationMs: 0, error: `the URL ${verdict.reason}` };
  const url = new URL(verdict.url);
  const client = url.protocol === 'https:' ? https : http;

  return new Promise<SendResult>((resolve, reject) => {
    let settled = false;
    const finish = (result: SendResult | SendAborted) => {
      if (settled) return;
      settled = true;
      request.signal?.removeEventListener('abort', onAbort);
      if (result instanceof SendAborted) reject(result);
      else resolve(result);
    };
    const req = client.request(url, {
      method: 'POST',
      agent: false,
      lookup: guardedLookup(isLoopbackHost(url.hostname)),
      headers: {
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(request.body)),
        'user-agent': 'Ringpool-Webhooks/1',
        ...request.headers,
      },
    });
    const timer = setTimeout(() => {
      finish({ ok: false, statusCode: null, durationMs: elapsed(), error: `no answer within ${request.timeoutMs} ms` });
      req.destroy();
    }, request.timeoutMs);
    // Kept past the answer: a body that never ends is cut at the same deadline.
    req.on('close', () => clearTimeout(timer));
    const onAbort = () => {
      finish(new SendAborted('the service is shutting down'));
      req.destroy();
    };
    if (request.signal?.aborted) return onAbort();
    request.signal?.addEventListener('abort', onAbort, { once: true });

    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes > MAX_RESPONSE_BYTES) res.destroy();
      });
      res.on('error', () => {});
      // The status is the receiver's answer; its body is drained in the background and ignored.
      const durationMs = elapsed();
      if (status >= 200 && status < 300) return finish({ ok: true, statusCode: status, durationMs, error: null });
      const error =
        status >= 300 && status < 400
          ? `redirect (${status}) not followed: an endpoint URL must answer itself`
          : `HTTP ${status}`;
      finish({ ok: false, statusCode: status, durationMs, error });
    });
    req.on('error', (err) => finish({ ok: false, statusCode: null, durationMs: elapsed(), error: errorText(err) }));
    req.end(request.body);
  });
}
