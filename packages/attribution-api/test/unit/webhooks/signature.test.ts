import { beforeAll, describe, expect, it } from 'vitest';
import { signatureHeader, signatureOf } from '../../../src/webhooks/signature.ts';
import { loadDocumentedCheck, type VerifyRingpoolWebhook } from './documented-check.ts';

const BODY = '{"id":"evt","type":"call.started"}';
const T = 1_700_000_000;
const atT = (offsetS = 0) => (T + offsetS) * 1000;

describe('the webhook signature', () => {
  it('is HMAC-SHA256 of "<t>.<body>" keyed with the whole secret text (vectors from openssl dgst -hmac)', () => {
    expect(signatureOf('whsec_known-vector', T, BODY)).toBe(
      '39c4ba181d9c261e70bb6d81d39719a1445f81494de7cee00f0a26a655e5f36c',
    );
    expect(signatureHeader(['whsec_known-vector', 'whsec_previous'], T, BODY)).toBe(
      `t=${T},v1=39c4ba181d9c261e70bb6d81d39719a1445f81494de7cee00f0a26a655e5f36c,` +
        'v1=415b32edbf1f47b72f8d6d59956bff662eca09846e7f880aa660aae5838622cd',
    );
  });

  it('refuses to sign without a secret or with a fractional time', () => {
    expect(() => signatureHeader([], T, BODY)).toThrow();
    expect(() => signatureHeader(['s'], 1.5, BODY)).toThrow();
  });
});

describe('the receiver-side check in docs/WEBHOOKS.md, run against our signer', () => {
  let verify: VerifyRingpoolWebhook;
  beforeAll(async () => {
    verify = await loadDocumentedCheck();
  });

  it('accepts a delivery we signed, as a Buffer or a string, and returns the event', () => {
    const header = signatureHeader(['whsec_a'], T, BODY);
    expect(verify(Buffer.from(BODY), header, 'whsec_a', atT(10))).toEqual({ id: 'evt', type: 'call.started' });
    expect(verify(BODY, header, 'whsec_a', atT(-10)).id).toBe('evt');
  });

  it('accepts either secret during a rotation', () => {
    const header = signatureHeader(['whsec_new', 'whsec_old'], T, BODY);
    expect(verify(BODY, header, 'whsec_new', atT()).id).toBe('evt');
    expect(verify(BODY, header, 'whsec_old', atT()).id).toBe('evt');
    expect(() => verify(BODY, header, 'whsec_other', atT())).toThrow(/mismatch/);
  });

  it('rejects another secret, a changed body, and a changed timestamp', () => {
    const header = signatureHeader(['whsec_a'], T, BODY);
    expect(() => verify(BODY, header, 'whsec_b', atT())).toThrow(/mismatch/);
    expect(() => verify(BODY.replace('started', 'completed'), header, 'whsec_a', atT())).toThrow(/mismatch/);
    expect(() => verify(BODY, header.replace(`t=${T}`, `t=${T + 1}`), 'whsec_a', atT())).toThrow(/mismatch/);
  });

  it('rejects a timestamp more than five minutes from now, either way', () => {
    const header = signatureHeader(['whsec_a'], T, BODY);
    expect(verify(BODY, header, 'whsec_a', atT(300)).id).toBe('evt');
    expect(() => verify(BODY, header, 'whsec_a', atT(301))).toThrow(/tolerance/);
    expect(() => verify(BODY, header, 'whsec_a', atT(-301))).toThrow(/tolerance/);
  });

  it('rejects missing and malformed headers', () => {
    const good = signatureOf('whsec_a', T, BODY);
    for (const header of [
      undefined,
      '',
      `v1=${good}`,
      `t=${T}`,
      `t=${T},v1=`,
      `t=x,v1=${good}`,
      `t=${T},v1=${good.slice(2)}`,
    ]) {
      expect(() => verify(BODY, header, 'whsec_a', atT()), String(header)).toThrow();
    }
  });
});
