import { createHmac, timingSafeEqual } from 'node:crypto';
import { parse as parseQuery, stringify as stringifyQuery } from 'node:querystring';
import type { FormPair } from './form.ts';

/*
 * X-Twilio-Signature, checked by the same rules as twilio-node 6.3.1's validateRequest
 * (lib/webhooks/webhooks.js), which the tests use as the oracle.
 */

/**
 * The string Twilio signs: the URL, then each parameter's name and value with no separator, names in code-unit order;
 * a repeated name contributes each of its distinct values once, values in code-unit order.
 */
export function twilioSigningPayload(url: string, params: readonly FormPair[]): string {
  const valuesByName = new Map<string, Set<string>>();
  for (const [name, value] of params) {
    const values = valuesByName.get(name);
    if (values) values.add(value);
    else valuesByName.set(name, new Set([value]));
  }
  let payload = url;
  for (const name of [...valuesByName.keys()].sort(byCodeUnit)) {
    for (const value of [...(valuesByName.get(name) ?? [])].sort(byCodeUnit)) payload += name + value;
  }
  return payload;
}

/** Base64 HMAC-SHA1 of the signing payload, keyed with the account's auth token. */
export function twilioSignature(authToken: string, url: string, params: readonly FormPair[]): string {
  return createHmac('sha1', authToken).update(twilioSigningPayload(url, params), 'utf8').digest('base64');
}

/**
 * Whether `signatureHeader` is Twilio's signature of this request. `url` is the public URL Twilio called
 * (PUBLIC_BASE_URL + path + query, as received); `params` the POST body's fields. Never throws.
 */
export function isValidTwilioSignature(
  authToken: string,
  signatureHeader: string | undefined,
  url: string,
  params: readonly FormPair[],
): boolean {
  if (!signatureHeader) return false;
  const received = Buffer.from(signatureHeader, 'utf8');
  const matches = (candidate: string) => {
    const expected = Buffer.from(twilioSignature(authToken, candidate, params), 'utf8');
    return received.length === expected.length && timingSafeEqual(received, expected);
  };
  // Twilio signs the URL as configured, so the received form goes first, then forms normalised by new URL().
  if (receivedUrlForms(url).some(matches)) return true;
  return normalisedUrlForms(url).some(matches);
}

/** The received URL without and with its port (twilio-node: removePort, addPort). */
function receivedUrlForms(url: string): string[] {
  return [withoutPort(url), withDefaultPort(url)];
}

/**
 * The URL as WHATWG `new URL()` writes it (lower-case host, default port dropped, unsafe characters escaped),
 * without and with its port, then each with its query re-encoded by Node's legacy querystring module.
 * An unparseable URL has no normalised form (twilio-node would throw here).
 */
function normalisedUrlForms(url: string): string[] {
  let normalised: string;
  try {
    normalised = new URL(url).toString();
  } catch {
    return [];
  }
  const bare = withoutPort(normalised);
  const ported = withDefaultPort(normalised);
  return [bare, ported, withLegacyQuery(bare), withLegacyQuery(ported)];
}

interface UrlParts {
  scheme: string;
  userInfo: string;
  host: string;
  port: string;
  rest: string;
}

/** Splits without normalising, so the path and query keep the exact characters Twilio signed. */
function splitUrl(url: string): UrlParts | null {
  const match = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)/i.exec(url);
  if (!match) return null;
  const [prefix, scheme = '', authority = ''] = match;
  const userInfoEnd = authority.lastIndexOf('@');
  const hostAndPort = authority.slice(userInfoEnd + 1);
  // A colon starts the port only after an IPv6 literal's closing bracket.
  const portStart = hostAndPort.indexOf(':', hostAndPort.lastIndexOf(']') + 1);
  return {
    scheme,
    userInfo: authority.slice(0, userInfoEnd + 1),
    host: portStart === -1 ? hostAndPort : hostAndPort.slice(0, portStart),
    port: portStart === -1 ? '' : hostAndPort.slice(portStart),
    rest: url.slice(prefix.length),
  };
}

/** Adds :443 for https and :80 for any other scheme when the URL names no port; a named port stays. */
function withDefaultPort(url: string): string {
  const parts = splitUrl(url);
  if (!parts || parts.port) return url;
  const port = parts.scheme.toLowerCase() === 'https://' ? ':443' : ':80';
  return parts.scheme + parts.userInfo + parts.host + port + parts.rest;
}

/** Drops whatever port the URL names, default or not. */
function withoutPort(url: string): string {
  const parts = splitUrl(url);
  if (!parts) return url;
  return parts.scheme + parts.userInfo + parts.host + parts.rest;
}

/** For back ends that signed an escaped query value (e.g. %27 for '): decoded then re-encoded by `querystring`. */
function withLegacyQuery(url: string): string {
  const queryStart = url.indexOf('?');
  if (queryStart === -1 || queryStart === url.length - 1) return url;
  return `${url.slice(0, queryStart)}?${stringifyQuery(parseQuery(url.slice(queryStart + 1)))}`;
}

/** Array.prototype.sort's default order for strings, spelled out. */
function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
