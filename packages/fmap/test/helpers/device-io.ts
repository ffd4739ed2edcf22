import type { DeviceIo, IoDone } from '../../src/device-io.js';

/** A latch the test opens: `wait` resolves once `open` was called. */
export class Gate {
  #open = false;
  #waiters: (() => void)[] = [];
  waiting = 0;

  wait(): Promise<void> {
    if (this.#open) return Promise.resolve();
    this.waiting++;
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  open(): void {
    this.#open = true;
    for (const wake of this.#waiters.splice(0)) wake();
  }
}

export function eio(syscall: string): Error {
  return Object.assign(new Error(`EIO: i/o error, ${syscall}`), { code: 'EIO', errno: -5, syscall });
}

/** Which engine calls fail with EIO while the test says so. */
export type FaultCall = 'readNow' | 'writeNow' | 'read' | 'writev' | 'datasync' | 'truncate';

/**
 * Wraps a real engine: `misses` makes every readNow report "would wait", `gate` holds async reads
 * and `writeGate` writes until opened, `failing` makes calls fail with EIO, `shortBytes` caps each
 * read and write. `started` logs each read and write handed to the engine, as `read@BYTE`, and
 * each inline write as `writeNow@BYTE`. Inline writes are declined (-1) while writes are gated,
 * failing or short, so those go the async way; `writeNowAnswer` forces an answer.
 */
export class ScriptedIo implements DeviceIo {
  readonly kind: DeviceIo['kind'];
  readonly #base: DeviceIo;
  misses = false;
  gate: Gate | undefined;
  readonly failing = new Set<FaultCall>();
  shortBytes = Infinity;
  writeGate: Gate | undefined;
  readNowCalls = 0;
  readNowAnswer: number | undefined;
  writeNowAnswer: number | undefined;
  writeNowCalls = 0;
  /** Reported as each inline write's sleep in the kernel (dirty-page throttling), when set. */
  writeNowWaitMs: number | undefined;
  readonly started: string[] = [];

  constructor(base: DeviceIo) {
    this.#base = base;
    this.kind = base.kind;
  }

  get pageSize(): number {
    return this.#base.pageSize;
  }

  get lastWriteWaitMs(): number {
    return this.writeNowWaitMs ?? this.#base.lastWriteWaitMs;
  }

  writeNow(fd: number, src: readonly Uint8Array[], position: number): number {
    this.writeNowCalls++;
    if (this.failing.has('writeNow')) throw eio('pwritev');
    if (this.writeNowAnswer !== undefined) return this.writeNowAnswer;
    if (this.writeGate || this.failing.has('writev') || this.shortBytes !== Infinity) return -1;
    const written = this.#base.writeNow(fd, src, position);
    if (written >= 0) this.started.push(`writeNow@${position}`);
    return written;
  }

  readNow(fd: number, dst: Uint8Array, position: number): number {
    this.readNowCalls++;
    if (this.failing.has('readNow')) throw eio('preadv2');
    if (this.readNowAnswer !== undefined) return this.readNowAnswer;
    if (this.misses) return -1;
    return this.#base.readNow(fd, dst.subarray(0, Math.min(dst.length, this.shortBytes)), position);
  }

  read(fd: number, dst: Uint8Array, position: number, done: IoDone): void {
    this.started.push(`read@${position}`);
    const go = (): void => {
      if (this.failing.has('read')) {
        done(eio('pread'), 0);
        return;
      }
      this.#base.read(fd, dst.subarray(0, Math.min(dst.length, this.shortBytes)), position, done);
    };
    if (this.gate) void this.gate.wait().then(go);
    else go();
  }

  writev(fd: number, src: readonly Uint8Array[], position: number, done: IoDone): void {
    this.started.push(`write@${position}`);
    if (this.writeGate) void this.writeGate.wait().then(() => this.#writev(fd, src, position, done));
    else this.#writev(fd, src, position, done);
  }

  #writev(fd: number, src: readonly Uint8Array[], position: number, done: IoDone): void {
    if (this.failing.has('writev')) {
      setImmediate(() => done(eio('pwritev'), 0));
      return;
    }
    if (this.shortBytes === Infinity) {
      this.#base.writev(fd, src, position, done);
      return;
    }
    const first = src[0]!;
    this.#base.writev(fd, [first.subarray(0, Math.min(first.length, this.shortBytes))], position, done);
  }

  datasync(fd: number, done: IoDone): void {
    if (this.failing.has('datasync')) setImmediate(() => done(eio('fdatasync'), 0));
    else this.#base.datasync(fd, done);
  }

  truncate(fd: number, length: number, done: IoDone): void {
    if (this.failing.has('truncate')) setImmediate(() => done(eio('ftruncate'), 0));
    else this.#base.truncate(fd, length, done);
  }
}
