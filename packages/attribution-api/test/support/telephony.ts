import { generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { SaxesParser } from 'saxes';
import twilio from 'twilio';
import { call } from './app.ts';

/** Form fields as a framework hands them to twilio-node: a repeated name is an array of its values, in body order. */
export type WebhookParams = Record<string, string | string[]>;

export const twilioSid = () => `AC${randomBytes(16).toString('hex')}`;
export const twilioToken = () => randomBytes(16).toString('hex');
export const callSid = () => `CA${randomBytes(16).toString('hex')}`;

/** The body as a carrier sends it: fields in order, repeated names repeated, form-encoded. */
export function formBody(params: WebhookParams): string {
  const pairs: [string, string][] = [];
  for (const [name, value] of Object.entries(params)) {
    for (const one of Array.isArray(value) ? value : [value]) pairs.push([name, one]);
  }
  return new URLSearchParams(pairs).toString();
}

/** The fields Twilio sends with an incoming call. */
export function voiceParams(options: { accountSid: string; callSid: string; from: string; to: string }): WebhookParams {
  return {
    AccountSid: options.accountSid,
    ApiVersion: '2010-04-01',
    CallSid: options.callSid,
    CallStatus: 'ringing',
    Called: options.to,
    Caller: options.from,
    Direction: 'inbound',
    From: options.from,
    FromCountry: 'US',
    To: options.to,
    ToCountry: 'US',
  };
}

export interface TwilioWebhook {
  /** Path and query the request is sent to, e.g. `/v1/telephony/twilio/voice`. */
  path: string;
  params: WebhookParams;
  authToken: string;
  /** The URL Twilio signs (its console's webhook URL). */
  signedUrl: string;
  /** Replaces the body sent (the signature still covers `params`). */
  body?: string;
  /** null: no X-Twilio-Signature header; a string: that header instead of the computed one. */
  signature?: string | null;
}

/** Posts a webhook signed by the official twilio package, exactly as Twilio would. */
export async function postTwilio(app: FastifyInstance, webhook: TwilioWebhook) {
  const signature =
    webhook.signature === undefined
      ? twilio.getExpectedTwilioSignature(webhook.authToken, webhook.signedUrl, webhook.params)
      : webhook.signature;
  return app.inject({
    method: 'POST',
    url: webhook.path,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(signature === null ? {} : { 'x-twilio-signature': signature }),
    },
    payload: webhook.body ?? formBody(webhook.params),
  });
}

/** A Telnyx account's Ed25519 key pair, the public half as the Telnyx portal shows it. */
export function telnyxKeys(): { publicKey: string; privateKey: KeyObject } {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  // The SPKI DER of an Ed25519 key ends with the raw 32 bytes.
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  return { publicKey: raw.toString('base64'), privateKey };
}

/** Posts a TeXML webhook signed as Telnyx signs it: Ed25519 over `${timestamp}|${body}`. */
export async function postTelnyx(
  app: FastifyInstance,
  webhook: {
    path: string;
    params: WebhookParams;
    privateKey: KeyObject;
    /** Unix seconds. */
    timestamp: number;
    /** The body sent, when it differs from the one signed. */
    body?: string;
    /** Headers left out. */
    omit?: ('signature' | 'timestamp')[];
  },
) {
  const signed = formBody(webhook.params);
  const signature = sign(null, Buffer.from(`${webhook.timestamp}|${signed}`), webhook.privateKey).toString('base64');
  const omit = webhook.omit ?? [];
  return app.inject({
    method: 'POST',
    url: webhook.path,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(omit.includes('signature') ? {} : { 'telnyx-signature-ed25519': signature }),
      ...(omit.includes('timestamp') ? {} : { 'telnyx-timestamp': String(webhook.timestamp) }),
    },
    payload: webhook.body ?? signed,
  });
}

/** Connects a provider account to the API key's account, through the API. */
export async function connectTelephonyAccount(
  app: FastifyInstance,
  auth: Record<string, string>,
  payload: { provider: 'twilio' | 'telnyx'; provider_account: string; secret: string; unknown_forward_to?: string },
) {
  const connected = await call(app, auth, { method: 'POST', url: '/v1/telephony-accounts', payload });
  if (connected.status !== 201) throw new Error(`telephony account: ${JSON.stringify(connected.body)}`);
  return connected.body as { id: string; provider: string; provider_account: string };
}

export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  text: string;
}

/** Parses a whole XML document with a conforming parser (saxes): malformed XML throws. */
export function parseXml(xml: string): XmlElement {
  const parser = new SaxesParser({ xmlns: false });
  const root: XmlElement = { name: '#document', attributes: {}, children: [], text: '' };
  const stack: XmlElement[] = [root];
  parser.on('error', (err) => {
    throw err;
  });
  parser.on('opentag', (tag) => {
    const element: XmlElement = { name: tag.name, attributes: { ...tag.attributes }, children: [], text: '' };
    stack.at(-1)?.children.push(element);
    stack.push(element);
  });
  parser.on('text', (text) => {
    const current = stack.at(-1);
    if (current) current.text += text;
  });
  parser.on('closetag', () => {
    stack.pop();
  });
  parser.write(xml).close();
  const [document] = root.children;
  if (!document || root.children.length !== 1) throw new Error('not one root element');
  return document;
}

/** The TwiML verbs of a response, checked to be a `<Response>`. */
export function twimlVerbs(xml: string): XmlElement[] {
  const document = parseXml(xml);
  if (document.name !== 'Response') throw new Error(`TwiML root is <${document.name}>`);
  return document.children;
}
