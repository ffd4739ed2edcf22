import type { Duplex } from 'node:stream';
import { XenstoreError } from '../errors.js';
import { FrameDecoder, type Frame } from '../codec/frame.js';
import { FrameWriter } from '../codec/frame-writer.js';
import { PAYLOAD_MAX } from '../codec/limits.js';
import { MessageType, messageTypeName } from '../codec/message-type.js';
import { decodeError, decodeWatchEvent, type WatchEvent } from '../codec/replies.js';
import type { Request } from '../codec/requests.js';

interface Pending {
  readonly type: number;
  readonly decode: (payload: Uint8Array) => unknown;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

const identity = (payload: Uint8Array): Uint8Array => payload;

export interface ConnectionEvents {
  onWatchEvent(event: WatchEvent): void;
  onClose(error: XenstoreError): void;
}

/**
 * One transport to a xenstored: requests multiplexed by req_id, replies matched by req_id (in any
 * order), WATCH_EVENTs handed to `onWatchEvent`. Any protocol violation by the peer closes it.
 */
export class Connection {
  readonly #stream: Duplex;
  readonly #events: ConnectionEvents;
  readonly #decoder = new FrameDecoder();
  readonly #pending = new Map<number, Pending>();
  readonly #writer: FrameWriter;
  #nextReqId = 1;
  #closedWith: XenstoreError | undefined;

  constructor(stream: Duplex, events: ConnectionEvents) {
    this.#stream = stream;
    this.#events = events;
    this.#writer = new FrameWriter((bytes) => {
      if (!stream.destroyed) stream.write(bytes);
    });
    stream.on('data', (chunk: Uint8Array) => {
      this.#onData(chunk);
    });
    stream.on('error', (error: Error) => {
      this.#fail(new XenstoreError('ENOTCONN', `connection failed: ${error.message}`, { cause: error }));
    });
    stream.on('close', () => {
      this.#fail(new XenstoreError('ENOTCONN', 'connection closed'));
    });
    stream.on('end', () => {
      this.#fail(new XenstoreError('ENOTCONN', 'connection closed by the server'));
      stream.end();
    });
  }

  get closed(): boolean {
    return this.#closedWith !== undefined;
  }

  /**
   * Sends one request; resolves with `decode(reply payload)` (decoding as the reply arrives saves a
   * promise per request), rejects with the server's error or what `decode` throws.
   */
  request<T = Uint8Array>(
    request: Request,
    txId: number,
    decode: (payload: Uint8Array) => T = identity as (payload: Uint8Array) => T,
  ): Promise<T> {
    if (this.#closedWith) return Promise.reject(this.#closedWith);
    if (request.payload.length > PAYLOAD_MAX) {
      return Promise.reject(new XenstoreError('E2BIG', `payload of ${request.payload.length} bytes exceeds ${PAYLOAD_MAX}`));
    }
    const reqId = this.#allocateReqId();
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(reqId, { type: request.type, decode, resolve, reject });
      // Requests issued in the same tick go out in one write.
      this.#writer.push(request.type, reqId, txId, request.payload);
    });
  }

  /** Ends the transport; pending requests reject with ENOTCONN. */
  close(): Promise<void> {
    const stream = this.#stream;
    this.#fail(new XenstoreError('ENOTCONN', 'connection closed by the client'));
    return new Promise((resolve) => {
      if (stream.destroyed) {
        resolve();
        return;
      }
      stream.once('close', () => {
        resolve();
      });
      stream.end();
      // A peer that never closes its side must not hold us up.
      setTimeout(() => stream.destroy(), 1000).unref();
    });
  }

  #allocateReqId(): number {
    for (;;) {
      const id = this.#nextReqId;
      this.#nextReqId = id === 0xffff_ffff ? 1 : id + 1;
      if (!this.#pending.has(id)) return id;
    }
  }

  #onData(chunk: Uint8Array): void {
    if (this.#closedWith) return;
    const { frames, error } = this.#decoder.push(chunk);
    for (const frame of frames) {
      this.#dispatch(frame);
      if (this.closed) return;
    }
    if (error) this.#protocolError(`the server sent an oversize frame: ${error.message}`);
  }

  #dispatch(frame: Frame): void {
    if (frame.type === MessageType.WATCH_EVENT) {
      let event: WatchEvent;
      try {
        event = decodeWatchEvent(frame.payload);
      } catch (error) {
        this.#protocolError((error as Error).message);
        return;
      }
      this.#events.onWatchEvent(event);
      return;
    }
    const pending = this.#pending.get(frame.reqId);
    if (!pending) {
      this.#protocolError(`reply ${messageTypeName(frame.type)} for unknown req_id ${frame.reqId}`);
      return;
    }
    this.#pending.delete(frame.reqId);
    if (frame.type === MessageType.ERROR) {
      pending.reject(decodeError(frame.payload));
    } else if (frame.type === pending.type) {
      let value: unknown;
      try {
        value = pending.decode(frame.payload);
      } catch (error) {
        pending.reject(error);
        return;
      }
      pending.resolve(value);
    } else {
      const error = new XenstoreError('EPROTO', `sent ${messageTypeName(pending.type)}, got ${messageTypeName(frame.type)}`);
      pending.reject(error);
      this.#protocolError(error.message);
    }
  }

  #protocolError(message: string): void {
    this.#fail(new XenstoreError('EPROTO', message));
    this.#stream.destroy();
  }

  #fail(error: XenstoreError): void {
    if (this.#closedWith) return;
    this.#closedWith = error;
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) p.reject(error);
    this.#events.onClose(error);
  }
}
