import { describe, expect, it } from 'vitest';
import { checkEndpointUrl, isAllowedAddress } from '../../../src/webhooks/url-policy.ts';

describe('endpoint URLs', () => {
  it.each([
    ['https://crm.example.com/hooks/ringpool?x=1', 'https://crm.example.com/hooks/ringpool?x=1'],
    ['https://crm.example.com:8443/h', 'https://crm.example.com:8443/h'],
    ['HTTPS://CRM.Example.com/h', 'https://crm.example.com/h'],
    ['http://localhost:3000/h', 'http://localhost:3000/h'],
    ['http://127.0.0.1:9/h', 'http://127.0.0.1:9/h'],
    ['http://[::1]:9/h', 'http://[::1]:9/h'],
    ['https://8.8.8.8/h', 'https://8.8.8.8/h'],
    ['https://[2606:4700::1111]/h', 'https://[2606:4700::1111]/h'],
    // 127.0.0.1 in decimal and in octal: the URL parser's reading is the one checked and sent.
    ['http://2130706433/h', 'http://127.0.0.1/h'],
    ['http://0177.0.0.1/h', 'http://127.0.0.1/h'],
  ])('accepts %s', (raw, normalized) => {
    expect(checkEndpointUrl(raw)).toEqual({ ok: true, url: normalized });
  });

  it.each([
    ['not a url', /absolute URL/],
    ['/relative', /absolute URL/],
    ['ftp://example.com/h', /https/],
    ['javascript:alert(1)', /https/],
    ['file:///etc/passwd', /https/],
    ['http://example.com/h', /https/],
    ['http://[::ffff:127.0.0.1]/h', /https/],
    ['http://0x0a.0.0.1/h', /https/],
    ['https://0x0a.0.0.1/h', /private/],
    ['https://167772161/h', /private/],
    ['https://user:secret@example.com/h', /credentials/],
    ['https://user@example.com/h', /credentials/],
    ['https://example.com/h#frag', /fragment/],
    ['https://10.1.2.3/h', /private/],
    ['https://172.20.0.1/h', /private/],
    ['https://192.168.1.10/h', /private/],
    ['https://169.254.169.254/latest/meta-data', /private/],
    ['https://100.64.0.1/h', /private/],
    ['https://0.0.0.0/h', /private/],
    ['https://[fd00::1]/h', /private/],
    ['https://[fe80::1]/h', /private/],
    ['https://[::ffff:10.0.0.1]/h', /private/],
    ['https://[::ffff:7f00:1]/h', /private/],
    [`https://example.com/${'a'.repeat(2048)}`, /longer/],
  ])('refuses %s', (raw, reason) => {
    const verdict = checkEndpointUrl(raw);
    expect(verdict.ok).toBe(false);
    if (!verdict.ok) expect(verdict.reason).toMatch(reason);
  });
});

describe('addresses a delivery may connect to', () => {
  it('allows public addresses, and loopback only when the URL named it', () => {
    expect(isAllowedAddress('93.184.215.14', { loopback: false })).toBe(true);
    expect(isAllowedAddress('2606:4700::1111', { loopback: false })).toBe(true);
    expect(isAllowedAddress('127.0.0.1', { loopback: false })).toBe(false);
    expect(isAllowedAddress('::1', { loopback: false })).toBe(false);
    expect(isAllowedAddress('127.0.0.1', { loopback: true })).toBe(true);
    expect(isAllowedAddress('::1', { loopback: true })).toBe(true);
  });

  it('refuses private, link-local, mapped and reserved addresses even when loopback is allowed', () => {
    for (const address of [
      '10.0.0.1',
      '192.168.0.1',
      '169.254.169.254',
      '::ffff:10.0.0.1',
      'fd12::1',
      'fe80::1',
      '224.0.0.1',
      '255.255.255.255',
      '64:ff9b::a00:1',
      'not-an-ip',
    ]) {
      expect(isAllowedAddress(address, { loopback: true }), address).toBe(false);
    }
  });
});
