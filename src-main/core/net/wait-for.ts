// Runs in: Node. Wait until a condition holds, re-checked on an event target's events.

/** Resolves true once `check()` holds (checked now and on each of `events`), false after `ms` or on abort. */
export function waitFor(
  check: () => boolean,
  target: EventTarget,
  events: string[],
  ms: number,
  signal?: AbortSignal,
): Promise<boolean> {
  return new Promise((resolve) => {
    if (check()) return resolve(true);
    const done = (v: boolean): void => {
      clearTimeout(timer);
      for (const e of events) target.removeEventListener(e, on);
      signal?.removeEventListener('abort', onAbort);
      resolve(v);
    };
    const on = (): void => {
      if (check()) done(true);
    };
    const onAbort = (): void => done(false);
    const timer = setTimeout(() => done(check()), ms);
    for (const e of events) target.addEventListener(e, on);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
