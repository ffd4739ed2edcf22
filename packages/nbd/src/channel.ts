import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { FrameReader } from './frame-reader.js';

/** Raised when the peer closes the stream, or it fails, while bytes are still expected. */
export class ChannelClosedError extends Error {
  override readonly name = 'ChannelClosedError';
}

/**
 * One NBD connection's byte stream, shared by server and client: incoming chunks go to a
 * FrameReader, outgoing writes issued in the same tick are corked into one writev, and the stream
 * can be swapped for a TLS socket after STARTTLS.
 */
export class Channel {
  readonly reader = new FrameReader();
  /** Called after each chunk is buffered (the transmission phase parses from here). */
  onData: (() => void) | undefined;
  /** Called once when the stream ends, fails or closes. */
  onClose: ((error: Error | undefined) => void) | undefined;
  #stream: Duplex;
  readonly #whenClosed: Promise<void>;
  #resolveClosed!: () => void;
  #corked = false;
  #closed = false;
  #paused = false;

  readonly #handleData = (chunk: Buffer | string) => {
    this.received(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  };
  readonly #handleEnd = () => {
    this.#finish(undefined);
  };
  readonly #handleError = (error: Error) => {
    this.#finish(error);
  };
  readonly #handleClose = () => {
    this.#finish(undefined);
    this.#resolveClosed();
  };
  readonly #uncork = () => {
    this.#corked = false;
    this.#stream.uncork();
  };

  constructor(stream: Duplex) {
    this.#stream = stream;
    this.#attach(stream);
    this.#whenClosed = new Promise((resolve) => (this.#resolveClosed = resolve));
    if (stream.destroyed) this.#handleClose();
  }

  /** Bytes arrived: buffer them and let the parser run. */
  received(chunk: Buffer): void {
    this.reader.push(chunk);
    this.onData?.();
  }

  /** Resolves when the underlying connection is closed (the TLS socket closes with it). */
  whenClosed(): Promise<void> {
    return this.#whenClosed;
  }

  get stream(): Duplex {
    return this.#stream;
  }

  /** True once no more input will come (end, error or close). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Bytes queued in the stream, not yet handed to the kernel. */
  get queuedBytes(): number {
    return this.#stream.writableLength;
  }

  #attach(stream: Duplex): void {
    stream.on('data', this.#handleData);
    stream.on('end', this.#handleEnd);
    stream.on('error', this.#handleError);
    stream.on('close', this.#handleClose);
  }

  #detach(stream: Duplex): void {
    stream.off('data', this.#handleData);
    stream.off('end', this.#handleEnd);
    stream.off('error', this.#handleError);
    stream.off('close', this.#handleClose);
  }

  #finish(error: Error | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    this.reader.fail(error ?? new ChannelClosedError('the peer closed the connection'));
    this.onClose?.(error);
  }

  /**
   * Queues bytes, dropped once the stream is ended or destroyed; one tick's writes leave in one
   * writev. `done` runs once the stream no longer needs `bytes` (written, or failed).
   */
  write(bytes: Uint8Array, done?: () => void): void {
    const stream = this.#stream;
    if (stream.writableEnded || stream.destroyed) {
      done?.();
      return;
    }
    if (!this.#corked) {
      this.#corked = true;
      stream.cork();
      process.nextTick(this.#uncork);
    }
    if (done) stream.write(bytes, done);
    else stream.write(bytes);
  }

  /** Stops reading from the stream (what is buffered stays in the reader). */
  pause(): void {
    if (this.#paused) return;
    this.#paused = true;
    this.#stream.pause();
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#stream.resume();
  }

  get paused(): boolean {
    return this.#paused;
  }

  /**
   * Swaps the stream for the TLS socket `wrap` builds on it and waits for the TLS handshake, then
   * runs `check` on the secured socket (a throw fails the handshake). Bytes the peer sent before
   * TLS that were not read yet are a protocol violation (plaintext injection): refused.
   */
  async startTls(
    wrap: (raw: Duplex) => TLSSocket,
    secureEvent: 'secure' | 'secureConnect',
    check?: (secure: TLSSocket) => void,
  ): Promise<void> {
    if (this.reader.length > 0) throw new Error('plaintext bytes arrived after STARTTLS');
    const raw = this.#stream;
    this.#detach(raw);
    // Errors of the raw socket now surface on the TLS socket; keep stray ones from being unhandled.
    raw.on('error', () => undefined);
    if (this.#corked) this.#uncork();
    const secure = wrap(raw);
    this.#stream = secure;
    this.#attach(secure);
    if (secure.destroyed) this.#handleClose();
    await new Promise<void>((resolve, reject) => {
      const fail = (error: Error) => {
        cleanup();
        reject(error);
      };
      const closed = () => {
        fail(new ChannelClosedError('the connection closed during the TLS handshake'));
      };
      const done = () => {
        cleanup();
        resolve();
      };
      const cleanup = () => {
        secure.off(secureEvent, done);
        secure.off('error', fail);
        secure.off('close', closed);
      };
      secure.once(secureEvent, done);
      secure.once('error', fail);
      secure.once('close', closed);
    });
    try {
      check?.(secure);
    } catch (e) {
      secure.destroy();
      throw e;
    }
  }

  /** Ends the stream after queued writes (a soft close). */
  end(): void {
    if (!this.#stream.writableEnded && !this.#stream.destroyed) this.#stream.end();
  }

  /** Sends what is queued, then closes; drops the connection if it is not closed within `graceMs`. */
  close(graceMs: number): void {
    if (this.#corked) this.#uncork();
    this.end();
    const timer = setTimeout(() => {
      this.destroy();
    }, graceMs);
    timer.unref();
    void this.#whenClosed.then(() => {
      clearTimeout(timer);
    });
  }

  /** Drops the connection at once. */
  destroy(): void {
    this.#stream.destroy();
    this.#finish(undefined);
  }
}
