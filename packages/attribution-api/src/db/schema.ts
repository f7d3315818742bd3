import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';
import type { Confidence } from '../calls/attribution.ts';

export type { Confidence };

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type DefaultedTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;

export interface AccountTable {
  id: Generated<string>;
  name: string;
  is_operator: Generated<boolean>;
  created_at: CreatedAt;
}

export interface ApiKeyTable {
  id: Generated<string>;
  account_id: string;
  name: string;
  prefix: string;
  key_hash: string;
  is_admin: Generated<boolean>;
  created_at: CreatedAt;
  revoked_at: Timestamp | null;
}

export interface SettingTable {
  key: string;
  value: string;
}

export type ExhaustionPolicy = 'fallback' | 'recycle';

export interface SiteTable {
  id: Generated<string>;
  account_id: string;
  public_key: string;
  name: string;
  allowed_origins: string[];
  swap_targets: string[];
  default_country: string;
  time_zone: string;
  idle_timeout_s: Generated<number>;
  cooldown_s: Generated<number>;
  exhaustion_policy: Generated<ExhaustionPolicy>;
  qualified_call_s: Generated<number>;
  max_leases_per_ip: Generated<number | null>;
  is_demo: Generated<boolean>;
  created_at: CreatedAt;
  updated_at: DefaultedTimestamp;
}

export interface PoolTable {
  id: Generated<string>;
  account_id: string;
  site_id: string;
  name: string;
  swap_target: string;
  created_at: CreatedAt;
}

export interface TrackingNumberTable {
  id: Generated<string>;
  account_id: string;
  site_id: string;
  pool_id: string | null;
  e164: string;
  swap_target: string;
  forward_to: string;
  provider: Generated<string>;
  recording: Generated<boolean>;
  source: string | null;
  source_label: string | null;
  available_at: DefaultedTimestamp;
  retired_at: Timestamp | null;
  created_at: CreatedAt;
}

export interface VisitorTable {
  site_id: string;
  id: string;
  first_seen_at: Timestamp;
  first_touch: ColumnType<Attribution, string, string>;
}

/** How a visit arrived: the fields a session and a visitor's first touch share. */
export interface Attribution {
  landing_url: string;
  referrer: string | null;
  source: string;
  medium: string;
  utm_source: string | null;
  utm_medium: string | null;
  utm_campaign: string | null;
  utm_term: string | null;
  utm_content: string | null;
  gclid: string | null;
  gbraid: string | null;
  wbraid: string | null;
  fbclid: string | null;
  msclkid: string | null;
  ttclid: string | null;
}

export interface SessionTable extends Attribution {
  id: Generated<string>;
  account_id: string;
  site_id: string;
  visitor_id: string;
  created_at: Timestamp;
  last_seen_at: Timestamp;
  page_views: Generated<number>;
  pages: string[];
  user_agent: string | null;
  device_type: string;
  browser: string | null;
  os: string | null;
  is_bot: boolean;
  ip_hash: string;
}

export interface LeaseTable {
  id: Generated<string>;
  tracking_number_id: string;
  session_id: string;
  pool_id: string;
  ip_hash: string;
  started_at: Timestamp;
  last_seen_at: Timestamp;
  expires_at: Timestamp;
  cooldown_s: number;
  ended_at: Timestamp | null;
  released_at: Timestamp | null;
  end_reason: 'recycled' | null;
}

export interface PoolExhaustionTable {
  id: Generated<string>;
  pool_id: string;
  session_id: string;
  at: Timestamp;
  outcome: 'fallback' | 'recycled';
}

export interface CallIntentTable {
  id: Generated<string>;
  session_id: string;
  site_id: string;
  tracking_number: string;
  at: Timestamp;
}

export type TelephonyProvider = 'twilio' | 'telnyx';

export interface TelephonyAccountTable {
  id: Generated<string>;
  account_id: string;
  provider: TelephonyProvider;
  provider_account: string;
  secret: string;
  unknown_forward_to: string | null;
  created_at: CreatedAt;
}

export type CallStatus = 'ringing' | 'in-progress' | 'completed' | 'busy' | 'no-answer' | 'failed' | 'canceled';

export interface CallTable {
  id: Generated<string>;
  account_id: string;
  site_id: string;
  tracking_number_id: string | null;
  tracking_number: string;
  provider: string;
  provider_call_id: string;
  caller: string | null;
  forwarded_to: string | null;
  started_at: Timestamp;
  answered_at: Timestamp | null;
  ended_at: Timestamp | null;
  status: CallStatus;
  duration_s: number | null;
  qualified: Generated<boolean>;
  recording_url: string | null;
  recording_duration_s: number | null;
  session_id: string | null;
  confidence: Confidence;
  reason: string;
  candidates: ColumnType<unknown[], string, string>;
  source: string | null;
  medium: string | null;
  campaign: string | null;
  term: string | null;
  content: string | null;
  source_label: string | null;
  landing_url: string | null;
  device_type: string | null;
  is_first_call: boolean;
  first_call_id: string | null;
  created_at: CreatedAt;
  updated_at: DefaultedTimestamp;
}

export interface CallOrphanEventTable {
  id: Generated<string>;
  account_id: string;
  provider: string;
  provider_call_id: string;
  event: ColumnType<unknown, string, string>;
  received_at: CreatedAt;
}

export interface Database {
  accounts: AccountTable;
  api_keys: ApiKeyTable;
  settings: SettingTable;
  sites: SiteTable;
  pools: PoolTable;
  tracking_numbers: TrackingNumberTable;
  visitors: VisitorTable;
  sessions: SessionTable;
  leases: LeaseTable;
  pool_exhaustions: PoolExhaustionTable;
  call_intents: CallIntentTable;
  telephony_accounts: TelephonyAccountTable;
  calls: CallTable;
  call_orphan_events: CallOrphanEventTable;
}

export type Site = Selectable<SiteTable>;
export type NewSite = Insertable<SiteTable>;
export type Pool = Selectable<PoolTable>;
export type TrackingNumber = Selectable<TrackingNumberTable>;
export type Session = Selectable<SessionTable>;
export type Lease = Selectable<LeaseTable>;
export type Call = Selectable<CallTable>;
