/**
 * Runs `work` on items pulled from `source` by `concurrency` workers (`worker` is 0 to
 * concurrency - 1, for per-worker buffers). On the first failure (or an abort) the other workers
 * stop taking items; an item already pulled then goes to `dropped` instead of `work` (to give back
 * what it holds). The returned promise settles only after every worker has finished, so nothing is
 * still running when it rejects: with the first failure, else the abort reason.
 */
export async function runPool<T>(
  concurrency: number,
  source: AsyncIterator<T>,
  work: (item: T, worker: number) => Promise<void>,
  signal?: AbortSignal,
  dropped?: (item: T) => void,
): Promise<void> {
  // Shared by the workers and changed while they await, hence an object rather than locals.
  const state: { stopped: boolean; failure?: { error: unknown } } = { stopped: false };
  const stop = (error: unknown): void => {
    state.stopped = true;
    state.failure ??= { error };
  };
  const stopped = (): boolean => state.stopped;
  const worker = async (index: number): Promise<void> => {
    while (!stopped()) {
      if (signal?.aborted) {
        stop(signal.reason);
        return;
      }
      const next = await source.next();
      if (next.done === true) return;
      if (stopped()) {
        dropped?.(next.value);
        return;
      }
      await work(next.value, index);
    }
  };
  const workers = Array.from({ length: Math.max(1, concurrency) }, (_, i) => worker(i).catch(stop));
  await Promise.all(workers);
  await source.return?.();
  if (state.failure) throw state.failure.error;
  signal?.throwIfAborted();
}
