import { toBlockError } from './block-error.js';

/**
 * Runs synchronous device work and returns its outcome as a settled promise: what it returns
 * resolves, what it throws rejects (non-Error throws wrapped as IO). For in-memory backends whose
 * methods never wait, without an async function's extra turn. Work that returns a promise gives
 * that promise's outcome.
 */
export function settled<T>(work: () => T): Promise<Awaited<T>> {
  try {
    return Promise.resolve(work());
  } catch (e) {
    return Promise.reject(e instanceof Error ? e : toBlockError(e, 'device operation failed'));
  }
}
