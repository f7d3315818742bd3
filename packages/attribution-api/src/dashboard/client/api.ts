// The service's admin API, as the dashboard reads it: GET with the API key, JSON back.

/** The key was refused: the dashboard goes back to sign-in. */
export class Unauthorized extends Error {}

export class ApiFailure extends Error {}

export type Query = Record<string, string | number | undefined>;

export async function getJson<T>(apiKey: string, path: string, query: Query = {}): Promise<T> {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value !== undefined) params.set(name, String(value));
  const search = params.toString() ? `?${params}` : '';
  let response: Response;
  try {
    response = await fetch(`${path}${search}`, {
      headers: { authorization: `Bearer ${apiKey}`, accept: 'application/json' },
      cache: 'no-store',
    });
  } catch {
    throw new ApiFailure('The service could not be reached. Check the connection and try again.');
  }
  if (response.status === 401) throw new Unauthorized('The API key was not accepted.');
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const message = body && typeof body.message === 'string' ? body.message : response.statusText;
    throw new ApiFailure(`${path} answered ${response.status}: ${message}`);
  }
  return body as T;
}

// The parts of the API's answers the dashboard shows (see the routes' schemas, /docs).

export interface Site {
  id: string;
  name: string;
  time_zone: string;
}

export interface Call {
  id: string;
  started_at: string;
  caller: string | null;
  tracking_number: string;
  source: string | null;
  source_label: string | null;
  medium: string | null;
  campaign: string | null;
  term: string | null;
  landing_url: string | null;
  duration_s: number | null;
  status: string;
  qualified: boolean;
  confidence: string;
  reason: string;
}

export interface CallPage {
  calls: Call[];
  next_cursor: string | null;
}

export interface DayCounts {
  date: string;
  calls: number;
  answered: number;
  qualified: number;
}

export interface DailyReport {
  days: DayCounts[];
  groups?: ({ days: DayCounts[] } & Record<string, unknown>)[];
}

export interface PoolBucket {
  start: string;
  label: string;
  leases_started: number;
  peak_active_leases: number;
  peak_numbers_held: number;
  exhaustions: number;
  fallback_share: number | null;
}

export interface PoolsReport {
  bucket: string;
  pools: { id: string; name: string; size: number; buckets: PoolBucket[] }[];
}
