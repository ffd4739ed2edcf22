/** Largest write done on the event loop's thread; bigger ones go to the engine's threads. */
export const MAX_INLINE_WRITE = 256 * 1024;
/** An inline write that slept in the kernel longer than this stops inline writes for a while. */
export const WRITE_STALL_MS = 1;
const FIRST_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5000;

/**
 * When a FileDevice may write on the event loop's thread instead of handing the write to an I/O
 * thread. A write of whole pages into the page cache costs a few microseconds, less than the
 * hand-off, but the kernel cannot promise that a buffered write will not wait (ext4 refuses
 * RWF_NOWAIT writes): dirty-page throttling or a journal commit can hold one for milliseconds.
 * So only whole pages (nothing has to be read from the disk first), at most MAX_INLINE_WRITE
 * bytes, and after a write that slept in the kernel for over WRITE_STALL_MS none for a back-off
 * that doubles while stalls repeat and resets after a run of writes that did not. Time the thread
 * was preempted does not count: on a busy machine that says nothing about the file.
 */
export class InlineWrites {
  readonly #pageSize: number;
  #enabled: boolean;
  #resumeAt = 0;
  #backoffMs = FIRST_BACKOFF_MS;
  #stalls = 0;

  constructor(pageSize: number, enabled: boolean) {
    this.#pageSize = pageSize;
    this.#enabled = enabled && Number.isInteger(pageSize) && pageSize > 0;
  }

  /** Whether a write of `bytes` at byte `position` may run inline now. */
  allows(position: number, bytes: number, now: number): boolean {
    return (
      this.#enabled &&
      bytes > 0 &&
      bytes <= MAX_INLINE_WRITE &&
      position % this.#pageSize === 0 &&
      bytes % this.#pageSize === 0 &&
      now >= this.#resumeAt
    );
  }

  /** Records that an inline write finished at `now` (ms) after sleeping `waitedMs` in the kernel. */
  took(waitedMs: number, now: number): void {
    if (waitedMs <= WRITE_STALL_MS) {
      // a long run of writes that did not wait forgives earlier stalls
      if (this.#stalls > 0 && now >= this.#resumeAt + this.#backoffMs) {
        this.#stalls = 0;
        this.#backoffMs = FIRST_BACKOFF_MS;
      }
      return;
    }
    this.#stalls++;
    if (this.#stalls > 1) this.#backoffMs = Math.min(MAX_BACKOFF_MS, this.#backoffMs * 2);
    this.#resumeAt = now + this.#backoffMs;
  }

  /** The engine cannot write inline: never try again. */
  disable(): void {
    this.#enabled = false;
  }

  /** For tests and diagnostics: when inline writes resume (ms, performance.now()'s clock). */
  get resumeAt(): number {
    return this.#enabled ? this.#resumeAt : Infinity;
  }
}
