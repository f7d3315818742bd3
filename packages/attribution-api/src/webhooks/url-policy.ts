import { BlockList, isIP } from 'node:net';

// Pure: which URLs an endpoint may have, and which addresses a delivery may connect to (SSRF guard).
// A delivery checks again at connect time, on the address DNS gave, so a name cannot be re-pointed inside.

const blocked = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8], // loopback: only when the URL names it (below)
  ['169.254.0.0', 16], // link-local, cloud metadata services
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) {
  blocked.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96], // NAT64: could reach any IPv4 address, private ones too
  ['100::', 64],
  ['2001::', 32], // Teredo
  ['2001:db8::', 32],
  ['2002::', 16], // 6to4
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['ff00::', 8], // multicast
] as const) {
  blocked.addSubnet(network, prefix, 'ipv6');
}
// IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are checked against the IPv4 rules by BlockList itself.

const LOOPBACK_NAMES = new Set(['localhost', '[::1]']);

/** The URL's host is this machine, written as such: `localhost`, `127.x.x.x` or `[::1]`. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  return LOOPBACK_NAMES.has(host) || (isIP(host) === 4 && host.startsWith('127.'));
}

/** May a delivery connect to this address? Loopback only when the endpoint's URL names loopback. */
export function isAllowedAddress(address: string, options: { loopback: boolean }): boolean {
  const bare = address.replace(/^\[|\]$/g, '');
  const family = isIP(bare);
  if (family === 0) return false;
  if (options.loopback && (bare === '::1' || (family === 4 && bare.startsWith('127.')))) return true;
  return !blocked.check(bare, family === 4 ? 'ipv4' : 'ipv6');
}

export type UrlVerdict = { ok: true; url: string } | { ok: false; reason: string };

export const MAX_URL_LENGTH = 2048;

/**
 * An endpoint URL: https, or http to this machine (for development); no credentials, no fragment,
 * and no address in a private, link-local or reserved range. Names are checked when delivering.
 */
export function checkEndpointUrl(raw: string): UrlVerdict {
  if (raw.length > MAX_URL_LENGTH) return { ok: false, reason: `is longer than ${MAX_URL_LENGTH} characters` };
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: 'is not an absolute URL' };
  }
  const loopback = isLoopbackHost(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    return { ok: false, reason: 'must be https (http only to localhost, 127.0.0.1 or [::1])' };
  }
  if (url.username || url.password) return { ok: false, reason: 'must not carry credentials' };
  if (url.hash || raw.includes('#')) return { ok: false, reason: 'must not have a fragment' };
  if (!url.hostname) return { ok: false, reason: 'has no host' };
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) !== 0 && !isAllowedAddress(host, { loopback })) {
    return { ok: false, reason: 'points into a private, link-local or reserved network' };
  }
  return { ok: true, url: url.href };
}
