import type { FastifyError, FastifyInstance } from 'fastify';

/** An error whose message is safe to show the caller, with a stable machine-readable code. */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export const notFound = (what: string) => new ApiError(404, 'not_found', `${what} not found`);
export const badRequest = (message: string, details?: unknown) => new ApiError(400, 'bad_request', message, details);
export const conflict = (message: string) => new ApiError(409, 'conflict', message);

/** Every error leaves as `{ error, message, details? }` JSON; internal details stay in the log. */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | ApiError, request, reply) => {
    if (err instanceof ApiError) {
      return reply
        .code(err.statusCode)
        .send({ error: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) });
    }
    if (err.validation) {
      const where = err.validationContext ?? 'request';
      const details = err.validation.map((v) => ({
        field: `${where}${v.instancePath || ''}`,
        message: v.message ?? 'is invalid',
        ...(v.params && 'additionalProperty' in v.params ? { property: v.params.additionalProperty } : {}),
      }));
      return reply.code(400).send({ error: 'validation_failed', message: err.message, details });
    }
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) {
      request.log.error({ err }, 'request failed');
      return reply.code(500).send({ error: 'internal', message: 'Internal server error' });
    }
    const code = (err.code ?? 'bad_request').replace(/^FST_ERR_/, '').toLowerCase();
    return reply.code(status).send({ error: code, message: err.message });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: 'not_found', message: `No route ${request.method} ${request.url.split('?')[0]}` }),
  );
}
