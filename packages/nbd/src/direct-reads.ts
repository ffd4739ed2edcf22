import type { Channel } from './channel.js';

/**
 * For sockets created with Node's `onread` option: reads land in a reused scratch buffer, or
 * straight in the place the parser says the next bytes belong (a READ's destination), instead of
 * a fresh buffer per read that is then copied again.
 */
export class DirectReads {
  readonly #scratch = Buffer.allocUnsafe(256 << 10);
  #channel: Channel | undefined;
  #direct: Uint8Array | undefined;
  /** Where the next bytes may go directly; undefined means "into the reader". */
  target: (() => Uint8Array | undefined) | undefined;
  /** `n` bytes arrived in the last direct target. */
  onDirect: ((n: number) => void) | undefined;

  /** The `onread` option for `net.connect`. */
  readonly onread = {
    buffer: (): Uint8Array => {
      this.#direct = this.target?.();
      return this.#direct ?? this.#scratch;
    },
    callback: (n: number, buffer: Uint8Array): boolean => {
      const direct = this.#direct;
      this.#direct = undefined;
      if (direct !== undefined && buffer === direct) {
        this.onDirect?.(n);
        return true;
      }
      const chunk = this.#scratch.subarray(0, n);
      this.#channel?.received(chunk);
      this.#channel?.reader.adopt(chunk);
      return true;
    },
  };

  /** The channel that parses what lands in the scratch buffer. */
  attach(channel: Channel): void {
    this.#channel = channel;
  }
}
