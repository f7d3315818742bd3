import type { FastifyInstance, FastifyRequest } from 'fastify';
import { findActiveKeyByHash, findOperatorAccountId } from '../accounts/repository.ts';
import { ApiError } from '../errors.ts';
import { sameSecret, sha256 } from '../secrets.ts';

export interface Principal {
  accountId: string;
  /** null when the key came from ADMIN_API_KEY rather than the database. */
  keyId: string | null;
  isAdmin: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal;
  }
}

const unauthorized = () => new ApiError(401, 'unauthorized', 'Send an API key as "Authorization: Bearer <key>"');

/** Admin routes: every request names its account through an API key (stored hashed). */
export function requireApiKey(app: FastifyInstance, adminApiKey: string | undefined): void {
  app.decorateRequest('principal', null as unknown as Principal);
  app.addHook('onRequest', async (request: FastifyRequest) => {
    const header = request.headers.authorization;
    const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (!match?.[1]) throw unauthorized();
    const token = match[1];
    if (adminApiKey && sameSecret(token, adminApiKey)) {
      const accountId = await findOperatorAccountId(app.db);
      if (!accountId) throw new ApiError(503, 'not_ready', 'The operator account does not exist yet');
      request.principal = { accountId, keyId: null, isAdmin: true };
      return;
    }
    const key = await findActiveKeyByHash(app.db, sha256(token));
    if (!key) throw unauthorized();
    request.principal = { accountId: key.account_id, keyId: key.id, isAdmin: key.is_admin };
  });
}

export function requireAdmin(request: FastifyRequest): void {
  if (!request.principal.isAdmin) throw new ApiError(403, 'forbidden', 'This route needs an admin API key');
}
