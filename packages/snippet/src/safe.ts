/** Runs `f`, swallowing any error: nothing the snippet does may surface in the host page. */
export const attempt = <T>(f: () => T): T | undefined => {
  try {
    return f();
  } catch {}
};

/** `f`, made safe to hand to the page (event listeners, timers, observers): it never throws. */
export const safe =
  <A extends unknown[]>(f: (...args: A) => unknown) =>
  (...args: A): void => {
    attempt(() => f(...args));
  };

/** The clock, in ms (a slice of the scan needs no finer one). */
export const now = Date.now;
