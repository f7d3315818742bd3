import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import { loadSiteConfig } from '../sites/repository.ts';

export type SiteConfig = NonNullable<Awaited<ReturnType<typeof loadSiteConfig>>>;

/**
 * Site settings for the public endpoints, kept a few seconds per process. Only configuration
 * is cached here; who holds which number is always decided by the database.
 */
export class SiteCache {
  private entries = new Map<string, { at: number; config: Promise<SiteConfig | undefined>; reloading?: boolean }>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly ttlMs = 5_000,
  ) {}

  get(publicKey: string): Promise<SiteConfig | undefined> {
    const entry = this.entries.get(publicKey);
    if (!entry) return this.load(publicKey);
    if (Date.now() - entry.at >= this.ttlMs && !entry.reloading) {
      // Requests keep the settings they have while one reload runs in the background.
      entry.reloading = true;
      this.load(publicKey).catch(() => {});
    }
    return entry.config;
  }

  private load(publicKey: string): Promise<SiteConfig | undefined> {
    const config = loadSiteConfig(this.db, publicKey);
    const loaded = config.then(() => {
      if (this.entries.size > 10_000) this.entries.clear();
      this.entries.set(publicKey, { at: Date.now(), config });
    });
    // A failed load is not kept: the next request tries again.
    loaded.catch(() => this.entries.delete(publicKey));
    if (!this.entries.has(publicKey)) this.entries.set(publicKey, { at: Date.now(), config, reloading: true });
    return config;
  }

  forget(publicKey: string): void {
    this.entries.delete(publicKey);
  }

  clear(): void {
    this.entries.clear();
  }
}
