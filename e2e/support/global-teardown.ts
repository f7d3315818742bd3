import { findChromium, missingChromium } from './chromium.ts';

/** Repeats the warning at the end of the run, where a reader of the log looks. */
export default function globalTeardown(): void {
  if (!findChromium()) console.warn(missingChromium('END-TO-END TESTS WERE SKIPPED: no Chromium to run them in.'));
}
