/**
 * Waits `ms` milliseconds, or less if `signal` aborts first: it then resolves early, and callers
 * check `signal.aborted`. Its abort listener is removed either way, so a long-lived signal does not
 * collect one per wait.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
