import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { bundle, measure } from '../build.ts';

// The README shows the versioned tag with its integrity hash: it must be this code's.
it('the README shows the script tag of the snippet as it builds now', async () => {
  const { version, integrity } = measure(await bundle());
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
  const shown = [...readme.matchAll(/\/v1\/snippet\.([0-9a-f]{12})\.js"\s+integrity="([^"]+)"/g)];
  expect(shown.length, 'README.md has no versioned script tag').toBeGreaterThan(0);
  for (const [, v, i] of shown) {
    expect(
      { version: v, integrity: i },
      'update the tags in README.md from packages/snippet/dist/meta.json (npm run build)',
    ).toEqual({ version, integrity });
  }
}, 30_000);
