// Runs in: Node. Wait `ms`, or less if `signal` aborts (resolves either way, never rejects):
// the retry and backoff loops of the ledger and net layers check their own state afterwards.
export const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
