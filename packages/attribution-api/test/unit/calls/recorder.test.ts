import { describe, expect, it } from 'vitest';
import { isRefusal } from '../../../src/calls/recorder.ts';

const pgError = (code: string) => Object.assign(new Error(`error ${code}`), { code });

describe('which replay failures set an event aside', () => {
  it('sets aside what the database refuses as data, or what breaks our code', () => {
    expect(isRefusal(pgError('23514'))).toBe(true); // check_violation
    expect(isRefusal(pgError('23505'))).toBe(true); // unique_violation
    expect(isRefusal(pgError('22P02'))).toBe(true); // invalid_text_representation
    expect(isRefusal(new TypeError('x is undefined'))).toBe(true);
  });

  it('retries what passes: lost connections, timeouts, deadlocks, cancellations, missing tables', () => {
    expect(isRefusal(pgError('08006'))).toBe(false); // connection_failure
    expect(isRefusal(pgError('57014'))).toBe(false); // query_canceled (statement timeout, pg_cancel_backend)
    expect(isRefusal(pgError('40P01'))).toBe(false); // deadlock_detected
    expect(isRefusal(pgError('55P03'))).toBe(false); // lock_not_available
    expect(isRefusal(pgError('53300'))).toBe(false); // too_many_connections
    expect(isRefusal(pgError('42P01'))).toBe(false); // undefined_table: a deploy in progress, not this event
    expect(isRefusal(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBe(false);
    expect(isRefusal(new Error('Connection terminated unexpectedly'))).toBe(false);
  });
});
