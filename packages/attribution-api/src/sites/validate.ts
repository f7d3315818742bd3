import { badRequest } from '../errors.ts';
import { sessionWindowProblem } from '../retention/policy.ts';
import { InvalidPhoneNumber, isCountry, toE164 } from './phone.ts';

/** An allowed origin as the browser sends it: scheme, host and port, nothing else. */
export function normalizeOrigin(input: string): string {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw badRequest(`"${input}" is not an origin such as https://www.example.com`);
  }
  if (
    (url.protocol !== 'https:' && url.protocol !== 'http:') ||
    url.pathname !== '/' ||
    url.search ||
    url.hash ||
    url.username ||
    url.password ||
    url.hostname.includes('*')
  ) {
    throw badRequest(
      `"${input}" is not an origin such as https://www.example.com (no path, query, credentials or wildcard)`,
    );
  }
  return url.origin;
}

export function validCountry(code: string): string {
  if (!isCountry(code)) throw badRequest(`"${code}" is not a supported ISO 3166 country code`);
  return code;
}

export function validTimeZone(zone: string): string {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return zone;
  } catch {
    throw badRequest(`"${zone}" is not an IANA time zone such as America/New_York`);
  }
}

/** Normalises a phone number to E.164, with a 400 that names the field on failure. */
export function phoneField(field: string, input: string, country: string): string {
  try {
    return toE164(input, country);
  } catch (err) {
    if (err instanceof InvalidPhoneNumber) throw badRequest(`${field}: ${err.message}`);
    throw err;
  }
}

export function unique<T>(values: T[]): T[] {
  return [...new Set(values)];
}

// The sites table's defaults, for a site created without its lease timings.
const DEFAULT_LEASE = { idle_timeout_s: 1800, cooldown_s: 900 };

/** Refuses a visit retention window too short for a call to be attributed under these lease timings. */
export function validSessionWindow(site: {
  retention_session_days?: number | null | undefined;
  idle_timeout_s?: number | undefined;
  cooldown_s?: number | undefined;
}): void {
  const problem = sessionWindowProblem(
    site.retention_session_days ?? null,
    site.idle_timeout_s ?? DEFAULT_LEASE.idle_timeout_s,
    site.cooldown_s ?? DEFAULT_LEASE.cooldown_s,
  );
  if (problem) throw badRequest(problem, { field: 'retention_session_days' });
}
