/**
 * A bench's clean-up steps (drop its databases, stop its processes), run last-in first-out at the
 * end or on Ctrl-C, each even if another fails.
 */
export const cleanups: (() => Promise<unknown>)[] = [];
let cleaning: Promise<void> | undefined;

export function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    for (const step of cleanups.reverse()) {
      try {
        await step();
      } catch (err) {
        console.error('clean-up:', (err as Error).message);
      }
    }
  })();
  return cleaning;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    console.error(`\n${signal}: stopping and cleaning up`);
    void cleanUp().then(() => process.exit(130));
  });
}
