/**
 * Runs `fn` until it has succeeded once; concurrent callers share one attempt; a failed attempt is retried on the
 * next call. Used for start-up work that may meet a storage outage (the KBS and the built-in AS start anyway and
 * finish it when the store answers).
 */
export function retryingOnce(fn: () => Promise<void>): () => Promise<void> {
  let done = false;
  let pending: Promise<void> | undefined;
  return () => {
    if (done) return Promise.resolve();
    pending ??= fn().then(
      () => {
        done = true;
        pending = undefined;
      },
      (e: unknown) => {
        pending = undefined;
        throw e;
      },
    );
    return pending;
  };
}
