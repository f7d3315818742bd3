import { Type } from '@fastify/type-provider-typebox';

// The pattern narrows Ajv's "uuid" format, which also takes a "urn:uuid:" prefix that PostgreSQL rejects.
export const Uuid = Type.String({
  format: 'uuid',
  pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$',
});
// Rows carry Dates; the serializer writes them as ISO 8601.
export const Timestamp = Type.Unsafe<Date>({ type: 'string', format: 'date-time' });
export const NullableTimestamp = Type.Union([Timestamp, Type.Null()]);
export const NullableString = Type.Union([Type.String(), Type.Null()]);

export const ErrorResponse = Type.Object(
  {
    error: Type.String({ description: 'Stable machine-readable code' }),
    message: Type.String(),
    details: Type.Optional(Type.Unknown()),
  },
  { $id: 'Error' },
);

const errorRef = Type.Unsafe<{ error: string; message: string; details?: unknown }>({ $ref: 'Error#' });

/** The error responses a route may give, for its OpenAPI description. */
export function errors(...codes: number[]) {
  return Object.fromEntries(codes.map((code) => [code, errorRef]));
}

export const ADMIN_ERRORS = [400, 401, 404] as const;

export const ListQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
  cursor: Type.Optional(Type.String({ maxLength: 200 })),
};
