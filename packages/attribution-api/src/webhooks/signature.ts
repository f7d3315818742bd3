import { createHmac } from 'node:crypto';

// Pure: what a delivery's signature is. The receiver's side of it is in docs/WEBHOOKS.md.

export const SIGNATURE_HEADER = 'ringpool-signature';
export const EVENT_ID_HEADER = 'ringpool-event-id';
export const EVENT_TYPE_HEADER = 'ringpool-event-type';
export const DELIVERY_ID_HEADER = 'ringpool-delivery-id';

/** HMAC-SHA256, keyed with the endpoint's secret (the whole `whsec_…` text), of `${timestamp}.${body}`, in hex. */
export function signatureOf(secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

/**
 * The `Ringpool-Signature` value: `t=<unix seconds>,v1=<hex>`, with one `v1` per secret that signs
 * (two during a rotation's overlap, so a receiver that still has the old secret keeps accepting).
 */
export function signatureHeader(secrets: readonly string[], timestamp: number, body: string): string {
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) throw new Error('the timestamp is whole unix seconds');
  if (secrets.length === 0) throw new Error('a delivery is signed with at least one secret');
  return [`t=${timestamp}`, ...secrets.map((secret) => `v1=${signatureOf(secret, timestamp, body)}`)].join(',');
}
