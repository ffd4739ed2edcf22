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
  resolve(payload: Uint8Array): void;
  reject(error: Error): void;
}

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

  /** Requests awaiting their reply. */
  get inFlight(): number {
    return this.#pending.size;
  }

  /** Sends one request; resolves with the reply payload, rejects with the server's error. */
  request(request: Request, txId: number): Promise<Uint8Array> {
    if (this.#closedWith) return Promise.reject(this.#closedWith);
    if (request.payload.length > PAYLOAD_MAX) {
      return Promise.reject(new XenstoreError('E2BIG', `payload of ${request.payload.length} bytes exceeds ${PAYLOAD_MAX}`));
    }
    const reqId = this.#allocateReqId();
    return new Promise<Uint8Array>((resolve, reject) => {
      this.#pending.set(reqId, { type: request.type, resolve, reject });
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
      pending.resolve(frame.payload);
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
