import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import { ApiError, badRequest, notFound } from '../errors.ts';
import { requireAdmin } from '../plugins/auth.ts';
import { errors, NullableTimestamp, Timestamp, Uuid } from '../schemas.ts';
import { createAccount, createApiKey, getAccount, listAccounts, listApiKeys, revokeApiKey } from './repository.ts';

const Account = Type.Object({ id: Uuid, name: Type.String(), is_operator: Type.Boolean(), created_at: Timestamp });
const ApiKey = Type.Object({
  id: Uuid,
  account_id: Uuid,
  name: Type.String(),
  prefix: Type.String({ description: 'The first characters of the key, to recognise it' }),
  is_admin: Type.Boolean(),
  created_at: Timestamp,
  revoked_at: NullableTimestamp,
});
const NewApiKey = Type.Object({
  ...ApiKey.properties,
  key: Type.String({ description: 'The secret key. Shown this once: only its hash is stored.' }),
});
const Name = Type.String({ minLength: 1, maxLength: 200 });
const KeyBody = Type.Object(
  { name: Name, admin: Type.Optional(Type.Boolean({ description: 'May manage accounts (admin keys only)' })) },
  { additionalProperties: false },
);

export const accountRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const tags = ['accounts'];

  app.get(
    '/me',
    {
      schema: {
        tags,
        summary: "The calling key's account",
        response: {
          200: Type.Object({
            account: Account,
            key: Type.Object({ id: Type.Union([Uuid, Type.Null()]), is_admin: Type.Boolean() }),
          }),
          ...errors(401),
        },
      },
    },
    async (request) => {
      const account = await getAccount(app.db, request.principal.accountId);
      if (!account) throw notFound('Account');
      return { account, key: { id: request.principal.keyId, is_admin: request.principal.isAdmin } };
    },
  );

  app.post(
    '/accounts',
    {
      schema: {
        tags,
        summary: 'Create an account and its first API key (admin)',
        body: Type.Object({ name: Name }, { additionalProperties: false }),
        response: { 201: Type.Object({ account: Account, api_key: NewApiKey }), ...errors(400, 401, 403) },
      },
    },
    async (request, reply) => {
      requireAdmin(request);
      const { account, apiKey } = await app.db.transaction().execute(async (trx) => {
        const account = await createAccount(trx, request.body.name);
        const apiKey = await createApiKey(trx, account.id, 'first key', false);
        return { account, apiKey };
      });
      return reply.code(201).send({ account, api_key: apiKey });
    },
  );

  app.get(
    '/accounts',
    {
      schema: {
        tags,
        summary: 'List accounts (admin)',
        response: { 200: Type.Object({ accounts: Type.Array(Account) }), ...errors(401, 403) },
      },
    },
    async (request) => {
      requireAdmin(request);
      return { accounts: await listAccounts(app.db) };
    },
  );

  const AccountParams = Type.Object({ accountId: Uuid });

  app.get(
    '/accounts/:accountId',
    {
      schema: {
        tags,
        summary: 'Get an account',
        params: AccountParams,
        response: { 200: Account, ...errors(400, 401, 404) },
      },
    },
    async (request) => {
      const { accountId } = request.params;
      if (!request.principal.isAdmin && accountId !== request.principal.accountId) throw notFound('Account');
      const account = await getAccount(app.db, accountId);
      if (!account) throw notFound('Account');
      return account;
    },
  );

  app.post(
    '/accounts/:accountId/api-keys',
    {
      schema: {
        tags,
        summary: 'Create an API key for any account (admin)',
        params: AccountParams,
        body: KeyBody,
        response: { 201: NewApiKey, ...errors(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      requireAdmin(request);
      const account = await getAccount(app.db, request.params.accountId);
      if (!account) throw notFound('Account');
      // An admin key manages every account, so only the operator's own account may hold one.
      if (request.body.admin && !account.is_operator) throw badRequest('Only the operator account can have admin keys');
      const key = await createApiKey(app.db, account.id, request.body.name, request.body.admin ?? false);
      return reply.code(201).send(key);
    },
  );

  app.get(
    '/api-keys',
    {
      schema: {
        tags,
        summary: "List this account's API keys (never the secrets)",
        response: { 200: Type.Object({ api_keys: Type.Array(ApiKey) }), ...errors(401) },
      },
    },
    async (request) => ({ api_keys: await listApiKeys(app.db, request.principal.accountId) }),
  );

  app.post(
    '/api-keys',
    {
      schema: {
        tags,
        summary: 'Create an API key for this account; the response is the only time the key is shown',
        body: KeyBody,
        response: { 201: NewApiKey, ...errors(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const admin = request.body.admin ?? false;
      if (admin && !request.principal.isAdmin) {
        throw new ApiError(403, 'forbidden', 'Only an admin key can create admin keys');
      }
      const key = await createApiKey(app.db, request.principal.accountId, request.body.name, admin);
      return reply.code(201).send(key);
    },
  );

  app.delete(
    '/api-keys/:keyId',
    {
      schema: {
        tags,
        summary: 'Revoke an API key',
        params: Type.Object({ keyId: Uuid }),
        response: { 200: ApiKey, ...errors(400, 401, 404) },
      },
    },
    async (request) => {
      const key = await revokeApiKey(app.db, request.principal.accountId, request.params.keyId, app.clock());
      if (!key) throw notFound('Active API key');
      return key;
    },
  );
};
