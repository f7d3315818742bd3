import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { telnyxPublicKey, verifyTelnyxSignature } from '../../../src/calls/providers/telnyx.ts';

const { publicKey, privateKey } = generateKeyPairSync('ed25519');
/** The key as the Telnyx portal shows it: base64 of the raw 32 bytes, the tail of the SPKI DER. */
const PORTAL_KEY = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32).toString('base64');

const SENT_AT = 1_780_000_000; // Unix seconds
const BODY =
  'AccountSid=acc_1&CallSid=v3%3Aabc&CallStatus=ringing&From=%2B14155550199&To=%2B12015550100&CallerName=Jane+Doe';

function signed(body: string, timestamp = String(SENT_AT), key: KeyObject = privateKey) {
  const signature = sign(null, Buffer.from(`${timestamp}|${body}`), key).toString('base64');
  return { signature, timestamp, rawBody: body };
}

const at = (seconds: number) => new Date(seconds * 1000);

describe('verifyTelnyxSignature', () => {
  it('accepts a good signature, with the portal key as text or parsed', () => {
    expect(verifyTelnyxSignature(PORTAL_KEY, signed(BODY), at(SENT_AT))).toEqual({ ok: true });
    const parsed = telnyxPublicKey(PORTAL_KEY);
    expect(parsed).not.toBeNull();
    if (parsed) expect(verifyTelnyxSignature(parsed, signed(BODY), at(SENT_AT))).toEqual({ ok: true });
  });

  it('verifies the raw bytes, as a string or a buffer', () => {
    const body = 'CallerName=Z%C3%BCrich+%E2%82%AC&x=ü€';
    const request = signed(body);
    expect(verifyTelnyxSignature(PORTAL_KEY, request, at(SENT_AT))).toEqual({ ok: true });
    expect(verifyTelnyxSignature(PORTAL_KEY, { ...request, rawBody: Buffer.from(body) }, at(SENT_AT))).toEqual({
      ok: true,
    });
  });

  it.each([
    ['a changed body', { rawBody: BODY.replace('ringing', 'completed') }],
    ['a body with a byte added', { rawBody: `${BODY}&` }],
    ['a changed timestamp', { timestamp: String(SENT_AT + 1) }],
  ])('rejects %s', (_, change) => {
    expect(verifyTelnyxSignature(PORTAL_KEY, { ...signed(BODY), ...change }, at(SENT_AT))).toEqual({
      ok: false,
      reason: 'mismatch',
    });
  });

  it("rejects another account's signature", () => {
    const other = generateKeyPairSync('ed25519').privateKey;
    expect(verifyTelnyxSignature(PORTAL_KEY, signed(BODY, String(SENT_AT), other), at(SENT_AT))).toEqual({
      ok: false,
      reason: 'mismatch',
    });
  });

  it('accepts a timestamp up to 300 s away from now, either way, and rejects one further', () => {
    const request = signed(BODY);
    const verdict = (offsetS: number) => verifyTelnyxSignature(PORTAL_KEY, request, at(SENT_AT + offsetS));
    expect(verdict(299)).toEqual({ ok: true });
    expect(verdict(300)).toEqual({ ok: true });
    expect(verdict(301)).toEqual({ ok: false, reason: 'stale' });
    expect(verdict(-299)).toEqual({ ok: true });
    expect(verdict(-301)).toEqual({ ok: false, reason: 'stale' });
  });

  it.each([
    ['no signature', { signature: undefined }],
    ['no timestamp', { timestamp: undefined }],
    ['an empty signature', { signature: '' }],
  ])('reports %s as missing', (_, change) => {
    expect(verifyTelnyxSignature(PORTAL_KEY, { ...signed(BODY), ...change }, at(SENT_AT))).toEqual({
      ok: false,
      reason: 'missing',
    });
  });

  it.each([
    ['garbage', { signature: 'not a signature' }],
    ['base64 of the wrong length', { signature: Buffer.alloc(63).toString('base64') }],
    ['base64url', { signature: Buffer.alloc(64, 0xfb).toString('base64url') }],
    [
      'base64 with junk inside',
      { signature: `${signed(BODY).signature.slice(0, 40)}!${signed(BODY).signature.slice(40)}` },
    ],
    ['a timestamp in milliseconds', { timestamp: `${SENT_AT}000.5` }],
    ['a timestamp that is not a number', { timestamp: 'yesterday' }],
    ['a negative timestamp', { timestamp: `-${SENT_AT}` }],
  ])('rejects %s without throwing', (_, change) => {
    expect(verifyTelnyxSignature(PORTAL_KEY, { ...signed(BODY), ...change }, at(SENT_AT))).toEqual({
      ok: false,
      reason: 'malformed',
    });
  });

  it('rejects every request when the configured key is not an Ed25519 public key', () => {
    for (const key of ['', 'garbage', Buffer.alloc(31).toString('base64'), Buffer.alloc(33).toString('base64')]) {
      expect(telnyxPublicKey(key)).toBeNull();
      expect(verifyTelnyxSignature(key, signed(BODY), at(SENT_AT))).toEqual({ ok: false, reason: 'bad-key' });
    }
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey;
    expect(verifyTelnyxSignature(rsa, signed(BODY), at(SENT_AT))).toEqual({ ok: false, reason: 'bad-key' });
  });
});
