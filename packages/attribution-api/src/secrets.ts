import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

export function sameSecret(a: string, b: string): boolean {
  const x = createHash('sha256').update(a).digest();
  const y = createHash('sha256').update(b).digest();
  return timingSafeEqual(x, y);
}

/** A new API key. Only its SHA-256 is stored: the key is random enough that a slow hash adds nothing. */
export function newApiKey(): { key: string; prefix: string; hash: string } {
  const key = `rp_${randomBytes(24).toString('base64url')}`;
  return { key, prefix: key.slice(0, 10), hash: sha256(key) };
}

export function randomToken(bytes: number): string {
  return randomBytes(bytes).toString('base64url');
}
