import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import { badRequest, conflict, notFound } from '../errors.ts';
import { errors, NullableString, Timestamp, Uuid } from '../schemas.ts';
import { InvalidPhoneNumber, toE164 } from '../sites/phone.ts';
import type { TelephonyDirectory } from './directory.ts';
import { telnyxPublicKey } from './providers/telnyx.ts';
import { deleteTelephonyAccount, insertTelephonyAccount, listTelephonyAccounts } from './repository.ts';

const TelephonyAccount = Type.Object({
  id: Uuid,
  provider: Type.Union([Type.Literal('twilio'), Type.Literal('telnyx')]),
  provider_account: Type.String({ description: 'Twilio Account SID, or the AccountSid Telnyx TeXML sends' }),
  unknown_forward_to: NullableString,
  created_at: Timestamp,
});

const NewTelephonyAccount = Type.Object(
  {
    provider: Type.Union([Type.Literal('twilio'), Type.Literal('telnyx')]),
    provider_account: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' }),
    secret: Type.String({
      minLength: 16,
      maxLength: 256,
      pattern: '^[\\x21-\\x7e]+$',
      description: 'Twilio: the auth token. Telnyx: the public key (base64). Write-only: never shown again.',
    }),
    unknown_forward_to: Type.Optional(
      Type.Union([Type.String({ minLength: 1, maxLength: 40 }), Type.Null()], {
        description: 'Where calls to numbers Ringpool does not know go; without it they are rejected',
      }),
    ),
  },
  { additionalProperties: false },
);

/** Provider accounts whose signed webhooks this account receives. Their secrets go in and never come out. */
export const telephonyAccountRoutes: FastifyPluginAsyncTypebox<{ directory: TelephonyDirectory }> = async (
  app,
  options,
) => {
  const tags = ['telephony'];

  app.get(
    '/telephony-accounts',
    {
      schema: {
        tags,
        summary: 'Provider accounts (secrets are write-only)',
        response: { 200: Type.Object({ telephony_accounts: Type.Array(TelephonyAccount) }), ...errors(401) },
      },
    },
    async (request) => ({ telephony_accounts: await listTelephonyAccounts(app.db, request.principal.accountId) }),
  );

  app.post(
    '/telephony-accounts',
    {
      schema: {
        tags,
        summary: 'Connect a Twilio or Telnyx account: its webhooks are then accepted for your numbers',
        body: NewTelephonyAccount,
        response: { 201: TelephonyAccount, ...errors(400, 401, 409) },
      },
    },
    async (request, reply) => {
      const body = request.body;
      if (body.provider === 'twilio' && !/^AC[0-9a-f]{32}$/.test(body.provider_account)) {
        throw badRequest('A Twilio Account SID is "AC" and 32 hexadecimal digits');
      }
      if (body.provider === 'telnyx' && !telnyxPublicKey(body.secret)) {
        throw badRequest('A Telnyx public key is the base64 of 32 bytes, as the Telnyx portal shows it');
      }
      let unknownForwardTo: string | null = null;
      if (body.unknown_forward_to) {
        try {
          unknownForwardTo = toE164(body.unknown_forward_to, 'US');
        } catch (err) {
          if (err instanceof InvalidPhoneNumber) throw badRequest(`unknown_forward_to: ${err.message}`);
          throw err;
        }
      }
      const row = await insertTelephonyAccount(app.db, {
        account_id: request.principal.accountId,
        provider: body.provider,
        provider_account: body.provider_account,
        secret: body.secret,
        unknown_forward_to: unknownForwardTo,
      });
      if (!row) throw conflict('This provider account is already connected');
      options.directory.forget();
      return reply.code(201).send(row);
    },
  );

  app.delete(
    '/telephony-accounts/:id',
    {
      schema: {
        tags,
        summary: 'Disconnect a provider account: its webhooks are refused from then on',
        params: Type.Object({ id: Uuid }),
        response: { 204: Type.Null(), ...errors(400, 401, 404) },
      },
    },
    async (request, reply) => {
      if (!(await deleteTelephonyAccount(app.db, request.principal.accountId, request.params.id))) {
        throw notFound('Telephony account');
      }
      options.directory.forget();
      return reply.code(204).send(null);
    },
  );
};
