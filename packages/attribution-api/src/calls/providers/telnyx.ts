import { createPublicKey, type KeyObject, verify } from 'node:crypto';

/** How far `telnyx-timestamp` may be from our clock, either way, before a webhook counts as a replay. */
export const TELNYX_TOLERANCE_S = 300;

/** DER header of an Ed25519 SubjectPublicKeyInfo; the raw 32-byte key follows it. */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const ED25519_KEY_BYTES = 32;
const ED25519_SIGNATURE_BYTES = 64;

/** `missing` → the route answers 400; `bad-key` is our own misconfiguration (500); the rest → 403. */
export type TelnyxVerification =
  | { ok: true }
  | { ok: false; reason: 'missing' | 'malformed' | 'stale' | 'mismatch' | 'bad-key' };

export interface TelnyxSignedRequest {
  /** The `telnyx-signature-ed25519` header: base64 of a 64-byte Ed25519 signature. */
  signature: string | undefined;
  /** The `telnyx-timestamp` header: Unix seconds. */
  timestamp: string | undefined;
  /** The body exactly as received; Telnyx signs its bytes, not a re-serialisation. */
  rawBody: string | Uint8Array;
}

/** The account's public key as the Telnyx portal shows it (base64 of the raw 32 bytes), or null if it is not one. */
export function telnyxPublicKey(base64: string): KeyObject | null {
  const raw = decodeBase64(base64.trim(), ED25519_KEY_BYTES);
  if (!raw) return null;
  try {
    return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
  } catch {
    return null;
  }
}

/** Checks Telnyx's Ed25519 signature over `${timestamp}|${rawBody}` and the timestamp's freshness. Never throws. */
export function verifyTelnyxSignature(
  publicKey: KeyObject | string,
  request: TelnyxSignedRequest,
  now: Date,
): TelnyxVerification {
  const { signature, timestamp, rawBody } = request;
  if (!signature || !timestamp) return { ok: false, reason: 'missing' };
  // Checked before the request's own faults, so a misconfigured key shows on every request.
  const key = typeof publicKey === 'string' ? telnyxPublicKey(publicKey) : publicKey;
  if (key?.asymmetricKeyType !== 'ed25519') return { ok: false, reason: 'bad-key' };
  const signatureBytes = decodeBase64(signature, ED25519_SIGNATURE_BYTES);
  if (!signatureBytes || !/^\d{1,15}$/.test(timestamp)) return { ok: false, reason: 'malformed' };
  if (Math.abs(now.getTime() - Number(timestamp) * 1000) > TELNYX_TOLERANCE_S * 1000) {
    return { ok: false, reason: 'stale' };
  }
  const signed = Buffer.concat([Buffer.from(`${timestamp}|`, 'utf8'), Buffer.from(rawBody)]);
  return verify(null, signed, key, signatureBytes) ? { ok: true } : { ok: false, reason: 'mismatch' };
}

/** Strict standard base64 of exactly `bytes` bytes; Buffer.from alone would skip junk characters silently. */
function decodeBase64(text: string, bytes: number): Buffer | null {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return null;
  const decoded = Buffer.from(text, 'base64');
  return decoded.length === bytes ? decoded : null;
}
