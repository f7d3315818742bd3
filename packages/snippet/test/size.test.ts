import { expect, it } from 'vitest';
import { BUDGET, bundle, measure } from '../build.ts';

// The budget of PRODUCT.md, on the bundle exactly as `npm run build` makes it (the same function).
it(`bundles to at most ${BUDGET} B gzip (level 9)`, async () => {
  const size = measure(await bundle());
  console.info(`snippet: ${size.bytes} B, ${size.gzip} B gzip, ${size.brotli} B brotli (budget ${BUDGET} B gzip)`);
  expect(size.gzip).toBeLessThanOrEqual(BUDGET);
  // Not in the budget, but a brotli figure above gzip's would mean the measure itself is broken.
  expect(size.brotli).toBeLessThan(size.gzip);
  // esbuild's first start can be slow on a busy machine.
}, 30_000);
