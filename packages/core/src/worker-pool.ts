/**
 * Runs `work` on items pulled from `source` by `concurrency` workers. On the first failure (or an
 * abort) the other workers stop taking items; the returned promise settles only after every
 * worker has finished, so nothing is still running when it rejects.
 */
export async function runPool<T>(
  concurrency: number,
  source: AsyncIterator<T>,
  work: (item: T, worker: number) => Promise<void>,
  signal?: AbortSignal,
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
      if (next.done === true || stopped()) return;
      await work(next.value, index);
    }
  };
  const workers = Array.from({ length: Math.max(1, concurrency) }, (_, i) => worker(i).catch(stop));
  await Promise.all(workers);
  await source.return?.();
  if (state.failure) throw state.failure.error;
  signal?.throwIfAborted();
}
