import type { Kysely } from 'kysely';
import type { Database, TelephonyProvider } from '../db/schema.ts';

/** Where a tracking number forwards: all a webhook needs to answer a call. */
export interface ForwardRoute {
  e164: string;
  forwardTo: string;
  recording: boolean;
  accountId: string;
}

/** A provider account whose webhooks we accept, with the key that checks their signatures. */
export interface TelephonyCredential {
  accountId: string;
  provider: TelephonyProvider;
  providerAccount: string;
  secret: string;
  unknownForwardTo: string | null;
}

export interface DirectoryOptions {
  refreshMs?: number;
  /** How long a webhook waits for the database on a cache miss before answering without it. */
  lookupTimeoutMs?: number;
  onError?: (err: unknown) => void;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  return Promise.race([promise.catch(() => undefined), timeout]).finally(() => clearTimeout(timer));
}

/**
 * Tracking number → forward-to, and provider account → signing key, held in memory: warmed at
 * start and refreshed in the background, so that a call is answered even while the database is away.
 */
export class TelephonyDirectory {
  private routes = new Map<string, ForwardRoute>();
  private credentials = new Map<string, TelephonyCredential>();
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  private readonly refreshMs: number;
  private readonly lookupTimeoutMs: number;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly options: DirectoryOptions = {},
  ) {
    this.refreshMs = options.refreshMs ?? 15_000;
    this.lookupTimeoutMs = options.lookupTimeoutMs ?? 1_000;
  }

  /** Loads everything; until it succeeds, lookups fall through to the database. */
  refresh(): Promise<void> {
    this.refreshing ??= this.load().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.refresh().catch((err) => this.options.onError?.(err)), this.refreshMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  get size(): number {
    return this.routes.size;
  }

  async route(e164: string): Promise<ForwardRoute | undefined> {
    const cached = this.routes.get(e164);
    if (cached) return cached;
    const found = await withTimeout(this.loadRoute(e164), this.lookupTimeoutMs);
    if (found) this.routes.set(e164, found);
    return found;
  }

  async credential(provider: TelephonyProvider, providerAccount: string): Promise<TelephonyCredential | undefined> {
    const key = `${provider}:${providerAccount}`;
    const cached = this.credentials.get(key);
    if (cached) return cached;
    const found = await withTimeout(this.loadCredential(provider, providerAccount), this.lookupTimeoutMs);
    if (found) this.credentials.set(key, found);
    return found;
  }

  /** After a change made through this process's API: the next lookup reads the database. */
  forget(): void {
    this.routes.clear();
    this.credentials.clear();
    this.refresh().catch((err) => this.options.onError?.(err));
  }

  private async load(): Promise<void> {
    const [numbers, accounts] = await Promise.all([
      this.numbers().execute(),
      this.db.selectFrom('telephony_accounts').selectAll().execute(),
    ]);
    this.routes = new Map(numbers.map((row) => [row.e164, toRoute(row)]));
    this.credentials = new Map(accounts.map((row) => [`${row.provider}:${row.provider_account}`, toCredential(row)]));
  }

  // Retired numbers too: a visitor may still hold one, and a call is always forwarded.
  private numbers() {
    return this.db.selectFrom('tracking_numbers').select(['e164', 'forward_to', 'recording', 'account_id']);
  }

  private async loadRoute(e164: string): Promise<ForwardRoute | undefined> {
    const row = await this.numbers().where('e164', '=', e164).executeTakeFirst();
    return row && toRoute(row);
  }

  private async loadCredential(provider: TelephonyProvider, providerAccount: string) {
    const row = await this.db
      .selectFrom('telephony_accounts')
      .selectAll()
      .where('provider', '=', provider)
      .where('provider_account', '=', providerAccount)
      .executeTakeFirst();
    return row && toCredential(row);
  }
}

function toRoute(row: { e164: string; forward_to: string; recording: boolean; account_id: string }): ForwardRoute {
  return { e164: row.e164, forwardTo: row.forward_to, recording: row.recording, accountId: row.account_id };
}

function toCredential(row: {
  account_id: string;
  provider: TelephonyProvider;
  provider_account: string;
  secret: string;
  unknown_forward_to: string | null;
}): TelephonyCredential {
  return {
    accountId: row.account_id,
    provider: row.provider,
    providerAccount: row.provider_account,
    secret: row.secret,
    unknownForwardTo: row.unknown_forward_to,
  };
}
