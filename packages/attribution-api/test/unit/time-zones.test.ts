import { describe, expect, it } from 'vitest';
import { formatOffset, formatZoned, startOfDay } from '../../src/time-zones.ts';

const at = (iso: string) => new Date(iso);

describe('formatZoned: local time with the offset in force at that instant', () => {
  it('follows New York across both daylight-saving changes', () => {
    // 8 March 2026: 02:00 EST becomes 03:00 EDT.
    expect(formatZoned(at('2026-03-08T06:59:59Z'), 'America/New_York')).toBe('2026-03-08 01:59:59-05:00');
    expect(formatZoned(at('2026-03-08T07:00:00Z'), 'America/New_York')).toBe('2026-03-08 03:00:00-04:00');
    // 1 November 2026: 01:30 happens twice, first in EDT, then in EST.
    expect(formatZoned(at('2026-11-01T05:30:00Z'), 'America/New_York')).toBe('2026-11-01 01:30:00-04:00');
    expect(formatZoned(at('2026-11-01T06:30:00Z'), 'America/New_York')).toBe('2026-11-01 01:30:00-05:00');
  });

  it('follows Berlin across both daylight-saving changes', () => {
    expect(formatZoned(at('2026-03-29T00:59:59Z'), 'Europe/Berlin')).toBe('2026-03-29 01:59:59+01:00');
    expect(formatZoned(at('2026-03-29T01:00:00Z'), 'Europe/Berlin')).toBe('2026-03-29 03:00:00+02:00');
    expect(formatZoned(at('2026-10-25T00:30:00Z'), 'Europe/Berlin')).toBe('2026-10-25 02:30:00+02:00');
    expect(formatZoned(at('2026-10-25T01:30:00Z'), 'Europe/Berlin')).toBe('2026-10-25 02:30:00+01:00');
  });

  it('writes half-hour offsets and the local date, which may differ from UTC’s', () => {
    expect(formatZoned(at('2026-06-01T12:00:00Z'), 'Asia/Kolkata')).toBe('2026-06-01 17:30:00+05:30');
    expect(formatZoned(at('2026-06-01T20:00:00Z'), 'Asia/Kolkata')).toBe('2026-06-02 01:30:00+05:30');
    expect(formatZoned(at('2026-01-15T12:00:00Z'), 'America/St_Johns')).toBe('2026-01-15 08:30:00-03:30');
    expect(formatZoned(at('2026-01-01T02:00:00Z'), 'America/Los_Angeles')).toBe('2025-12-31 18:00:00-08:00');
  });

  it('writes UTC as +00:00 and drops fractions of a second', () => {
    expect(formatZoned(at('2026-06-01T12:00:00.999Z'), 'UTC')).toBe('2026-06-01 12:00:00+00:00');
    expect(formatZoned(at('2026-06-01T23:59:59.500Z'), 'Europe/London')).toBe('2026-06-02 00:59:59+01:00');
  });

  it('formats offsets with sign, hours and minutes', () => {
    expect([0, 330, -210, -300, 765].map(formatOffset)).toEqual(['+00:00', '+05:30', '-03:30', '-05:00', '+12:45']);
  });
});

describe('startOfDay', () => {
  it('is local midnight, whatever the offset that day', () => {
    expect(startOfDay('2026-03-08', 'America/New_York').toISOString()).toBe('2026-03-08T05:00:00.000Z');
    expect(startOfDay('2026-03-09', 'America/New_York').toISOString()).toBe('2026-03-09T04:00:00.000Z');
    expect(startOfDay('2026-10-25', 'Europe/Berlin').toISOString()).toBe('2026-10-24T22:00:00.000Z');
    expect(startOfDay('2026-10-26', 'Europe/Berlin').toISOString()).toBe('2026-10-25T23:00:00.000Z');
    expect(startOfDay('2026-06-02', 'Asia/Kolkata').toISOString()).toBe('2026-06-01T18:30:00.000Z');
  });

  it('is the first moment of the day where a daylight-saving jump skips midnight', () => {
    // Chile moves from 00:00 -04 to 01:00 -03 on 6 September 2026.
    expect(startOfDay('2026-09-06', 'America/Santiago').toISOString()).toBe('2026-09-06T04:00:00.000Z');
    expect(formatZoned(startOfDay('2026-09-06', 'America/Santiago'), 'America/Santiago')).toBe(
      '2026-09-06 01:00:00-03:00',
    );
  });
});
