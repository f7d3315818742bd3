import { badRequest } from './errors.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A page boundary of a newest-first list: the last row's time and id, opaque to the client. */
export interface Cursor {
  at: Date;
  id: string;
}

export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(`${cursor.at.toISOString()}|${cursor.id}`).toString('base64url');
}

export function decodeCursor(cursor: string): Cursor {
  const [at, id] = Buffer.from(cursor, 'base64url').toString().split('|');
  const time = new Date(at ?? '');
  const year = time.getUTCFullYear();
  if (!id || !UUID.test(id) || Number.isNaN(year) || year < 2000 || year > 9999) {
    throw badRequest('cursor is not one this API gave');
  }
  return { at: time, id };
}
