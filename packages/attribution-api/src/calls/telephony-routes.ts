import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { TelephonyProvider } from '../db/schema.ts';
import { ApiError } from '../errors.ts';
import { E164 } from '../sites/phone.ts';
import type { TelephonyCredential, TelephonyDirectory } from './directory.ts';
import { type CallEvent, callStatusOf } from './events.ts';
import { type FormPair, formValue, parseForm } from './providers/form.ts';
import { verifyTelnyxSignature } from './providers/telnyx.ts';
import { isValidTwilioSignature } from './providers/twilio.ts';
import type { CallRecorder } from './recorder.ts';
import { forwardTwiml, rejectTwiml } from './twiml.ts';

export interface TelephonyOptions {
  directory: TelephonyDirectory;
  recorder: CallRecorder;
  /** The URL the provider calls us at (signatures cover it); else taken from the request. */
  publicBaseUrl: string | undefined;
  /** Seconds the business's phone rings before the caller gives up. */
  ringTimeoutS?: number;
}

interface Webhook {
  raw: string;
  params: FormPair[];
}

declare module 'fastify' {
  interface FastifyRequest {
    webhook: Webhook;
    telephonyAccount: TelephonyCredential;
  }
}

const WEBHOOK_BODY_LIMIT = 64 * 1024;
const EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>';

const forbidden = (message: string) => new ApiError(403, 'bad_signature', message);

/**
 * Twilio's voice webhooks, and Telnyx's TeXML ones (the same form fields). Nothing is read or stored
 * before the provider's signature checks out; a known number is always answered with its forward,
 * from memory, whether or not the database is there.
 */
export const telephonyRoutes: FastifyPluginAsync<TelephonyOptions> = async (app, options) => {
  const { directory, recorder } = options;
  app.decorateRequest('webhook', null as unknown as Webhook);
  app.decorateRequest('telephonyAccount', null as unknown as TelephonyCredential);

  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: WEBHOOK_BODY_LIMIT },
    (_request, body, done) => {
      const parsed = parseForm(body as string);
      if (!parsed.ok) done(new ApiError(400, 'bad_form', parsed.error), undefined);
      else done(null, { raw: body as string, params: parsed.pairs } satisfies Webhook);
    },
  );

  const publicUrl = (request: FastifyRequest) =>
    options.publicBaseUrl
      ? `${options.publicBaseUrl.replace(/\/+$/, '')}${request.url}`
      : `${request.protocol}://${request.host}${request.url}`;

  async function authenticate(provider: TelephonyProvider, request: FastifyRequest) {
    const webhook = request.body as Webhook | undefined;
    if (!webhook || !Array.isArray(webhook.params)) {
      throw new ApiError(415, 'unsupported_media_type', 'Send the webhook as application/x-www-form-urlencoded');
    }
    const header = (name: string) => {
      const value = request.headers[name];
      return typeof value === 'string' ? value : undefined;
    };
    const signature = header(provider === 'twilio' ? 'x-twilio-signature' : 'telnyx-signature-ed25519');
    if (!signature || (provider === 'telnyx' && !header('telnyx-timestamp'))) {
      throw new ApiError(400, 'missing_signature', `The ${provider} signature header is missing`);
    }
    const accountSid = formValue(webhook.params, 'AccountSid');
    if (!accountSid) throw new ApiError(400, 'bad_request', 'AccountSid is missing');
    const account = await directory.credential(provider, accountSid);
    // The same answer for an unknown account and a wrong signature: neither says which it was.
    if (!account) throw forbidden('The signature does not match');
    const valid =
      provider === 'twilio'
        ? isValidTwilioSignature(account.secret, signature, publicUrl(request), webhook.params)
        : verifyTelnyxSignature(
            account.secret,
            { signature, timestamp: header('telnyx-timestamp'), rawBody: webhook.raw },
            app.clock(),
          ).ok;
    if (!valid) throw forbidden('The signature does not match');
    request.webhook = webhook;
    request.telephonyAccount = account;
  }

  const field = (request: FastifyRequest, name: string) => formValue(request.webhook.params, name)?.trim() || undefined;
  const required = (request: FastifyRequest, name: string) => {
    const value = field(request, name);
    if (!value) throw new ApiError(400, 'bad_request', `${name} is missing`);
    if (value.length > 256) throw new ApiError(400, 'bad_request', `${name} is too long`);
    return value;
  };
  const seconds = (request: FastifyRequest, name: string) => {
    const value = field(request, name);
    if (value === undefined) return null;
    if (!/^\d{1,9}$/.test(value)) throw new ApiError(400, 'bad_request', `${name} must be a whole number of seconds`);
    return Number(value);
  };
  const twiml = (reply: FastifyReply, body: string) => reply.type('text/xml; charset=utf-8').send(body);

  for (const provider of ['twilio', 'telnyx'] as const) {
    const base = `/${provider}`;
    const preHandler = (request: FastifyRequest) => authenticate(provider, request);
    const schema = { tags: ['telephony'], consumes: ['application/x-www-form-urlencoded'] };

    app.post(
      `${base}/voice`,
      { preHandler, schema: { ...schema, summary: `${provider}: an incoming call (answers TwiML)` } },
      async (request, reply) => {
        const callId = required(request, 'CallSid');
        const to = required(request, 'To');
        const from = field(request, 'From') ?? null;
        const found = E164.test(to) ? await directory.route(to) : undefined;
        // A provider account forwards only its own tenant's numbers.
        const route = found?.accountId === request.telephonyAccount.accountId ? found : undefined;
        const forwardTo = route?.forwardTo ?? request.telephonyAccount.unknownForwardTo;
        if (!forwardTo) {
          request.log.warn({ provider, callId, to }, 'call to a number Ringpool does not know: rejected');
          return twiml(reply, rejectTwiml());
        }
        const callbackBase = publicUrl(request).replace(/\/voice(\?.*)?$/, '');
        const answer = forwardTwiml({
          forwardTo,
          caller: from ?? '',
          trackingNumber: to,
          ringTimeoutS: options.ringTimeoutS ?? 30,
          dialAction: `${callbackBase}/status`,
          recordingStatusCallback: route?.recording ? `${callbackBase}/recording` : null,
        });
        if (!route) {
          request.log.warn({ provider, callId, to }, 'call to a number Ringpool does not know: sent to the default');
          return twiml(reply, answer);
        }
        const event: CallEvent = {
          type: 'call.started',
          accountId: request.telephonyAccount.accountId,
          provider,
          callId,
          to,
          from,
          forwardedTo: forwardTo,
          at: app.clock().toISOString(),
        };
        const outcome = await recorder.record(event);
        request.log.info({ provider, callId, outcome }, 'call forwarded');
        return twiml(reply, answer);
      },
    );

    app.post(
      `${base}/status`,
      {
        preHandler,
        schema: { ...schema, summary: `${provider}: call status and the <Dial> outcome (DialCallStatus)` },
      },
      async (request, reply) => {
        const callId = required(request, 'CallSid');
        // The <Dial> action reports how the forward went; a status callback reports the call itself.
        const reported = field(request, 'DialCallStatus') ?? required(request, 'CallStatus');
        const status = callStatusOf(reported);
        if (!status) throw new ApiError(400, 'bad_request', `Unknown call status "${reported.slice(0, 40)}"`);
        const durationS = seconds(request, 'DialCallDuration') ?? seconds(request, 'CallDuration');
        const outcome = await recorder.record({
          type: 'call.status',
          accountId: request.telephonyAccount.accountId,
          provider,
          callId,
          status,
          durationS,
          at: app.clock().toISOString(),
        });
        request.log.info({ provider, callId, status, outcome }, 'call status');
        return twiml(reply, EMPTY_TWIML);
      },
    );

    app.post(
      `${base}/recording`,
      { preHandler, schema: { ...schema, summary: `${provider}: a finished recording` } },
      async (request, reply) => {
        const callId = required(request, 'CallSid');
        const state = field(request, 'RecordingStatus') ?? 'completed';
        if (state !== 'completed') return reply.code(204).send();
        const url = required(request, 'RecordingUrl');
        if (!/^https:\/\//.test(url)) throw new ApiError(400, 'bad_request', 'RecordingUrl must be an https URL');
        const outcome = await recorder.record({
          type: 'call.recording',
          accountId: request.telephonyAccount.accountId,
          provider,
          callId,
          url,
          durationS: seconds(request, 'RecordingDuration'),
          at: app.clock().toISOString(),
        });
        request.log.info({ provider, callId, outcome }, 'call recording');
        return reply.code(204).send();
      },
    );
  }
};
