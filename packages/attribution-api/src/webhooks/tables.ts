import type { ColumnType, Generated } from 'kysely';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type DefaultedTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;

/** What an endpoint can subscribe to. `call.completed` is sent for every ending (see docs/WEBHOOKS.md). */
export const WEBHOOK_EVENT_TYPES = ['call.started', 'call.attributed', 'call.completed'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export const DELIVERY_STATES = ['pending', 'delivered', 'failed'] as const;
export type DeliveryState = (typeof DELIVERY_STATES)[number];

export interface WebhookEndpointTable {
  id: Generated<string>;
  account_id: string;
  url: string;
  description: string | null;
  events: WebhookEventType[];
  enabled: Generated<boolean>;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: Timestamp | null;
  created_at: CreatedAt;
  updated_at: DefaultedTimestamp;
}

export interface WebhookEventTable {
  id: string;
  account_id: string;
  type: WebhookEventType;
  call_id: string | null;
  body: string;
  created_at: Timestamp;
}

export interface WebhookDeliveryTable {
  id: Generated<string>;
  account_id: string;
  endpoint_id: string;
  event_id: string;
  event_type: WebhookEventType;
  state: Generated<DeliveryState>;
  attempts: Generated<number>;
  run_started_at: Timestamp;
  next_attempt_at: Timestamp;
  locked_until: Timestamp | null;
  claim_id: string | null;
  last_status_code: number | null;
  last_error: string | null;
  delivered_at: Timestamp | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface WebhookAttemptTable {
  id: Generated<string>;
  delivery_id: string;
  at: Timestamp;
  succeeded: boolean;
  status_code: number | null;
  duration_ms: number;
  error: string | null;
}

declare module '../db/schema.ts' {
  interface Database {
    webhook_endpoints: WebhookEndpointTable;
    webhook_events: WebhookEventTable;
    webhook_deliveries: WebhookDeliveryTable;
    webhook_attempts: WebhookAttemptTable;
  }
}
