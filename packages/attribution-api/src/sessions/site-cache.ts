import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import { loadSiteConfig } from '../sites/repository.ts';

export type SiteConfig = NonNullable<Awaited<ReturnType<typeof loadSiteConfig>>>;

/**
 * Site settings for the public endpoints, kept a few seconds per process. Only configuration
 * is cached here; who holds which number is always decided by the database.
 */
export class SiteCache {
  private entries = new Map<string, { at: number; config: Promise<SiteConfig | undefined> }>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly ttlMs = 5_000,
  ) {}

  get(publicKey: string): Promise<SiteConfig | undefined> {
    const now = Date.now();
    const entry = this.entries.get(publicKey);
    if (entry && now - entry.at < this.ttlMs) return entry.config;
    const config = loadSiteConfig(this.db, publicKey);
    // A failed load is not kept: the next request tries again.
    config.catch(() => this.entries.delete(publicKey));
    if (this.entries.size > 10_000) this.entries.clear();
    this.entries.set(publicKey, { at: now, config });
    return config;
  }

  forget(publicKey: string): void {
    this.entries.delete(publicKey);
  }

  clear(): void {
    this.entries.clear();
  }
}
