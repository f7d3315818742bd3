/** Runs `f`, swallowing any error: nothing the snippet does may surface in the host page. */
export const safe =
  <A extends unknown[]>(f: (...args: A) => unknown) =>
  (...args: A): void => {
    try {
      f(...args);
    } catch {}
  };
