import type { FileIo } from '../../src/file-io.js';
import { NATIVE_ABI_VERSION, type FmapNative, type NativeMapping } from '../../src/native-binding.js';

export const SECTOR = 512;
const PAGE = 4096;
/** Largest file the model holds (the page cache is one resizable ArrayBuffer). */
const MAX_BYTES = 16 << 20;

/** One change the disk may or may not have kept: bytes at a position, or a new file size. */
export type DiskRecord =
  { readonly kind: 'data'; readonly position: number; readonly bytes: Uint8Array } | { readonly kind: 'size'; readonly size: number };

/** What a power cut at one moment may leave: the durable image plus any part of `unsynced`. */
export interface CrashPoint<T> {
  readonly index: number;
  /** What happened just before (for messages). */
  readonly after: string;
  readonly durable: Uint8Array;
  readonly durableSize: number;
  readonly unsynced: readonly DiskRecord[];
  /** What the caller expects a recovery to find (its model's candidates, taken at this moment). */
  readonly expected: T;
}

export class InjectedEio extends Error {
  readonly code = 'EIO';
}

/** Node 20 has resizable ArrayBuffers (ES2024); this TypeScript lib does not know them yet. */
interface ResizableBuffer extends ArrayBuffer {
  resize(bytes: number): void;
}
const ResizableBuffer = ArrayBuffer as unknown as new (bytes: number, options: { maxByteLength: number }) => ResizableBuffer;

function grow(buffer: ResizableBuffer, bytes: number): void {
  if (bytes > MAX_BYTES) throw new Error(`the simulated disk holds at most ${MAX_BYTES} bytes`);
  if (bytes > buffer.byteLength) buffer.resize(bytes);
}

/**
 * A simulated file with a page cache in front of a disk, for power-loss tests. It is the FileIo
 * of a BlockFile (the real file descriptor is ignored: all bytes live here) and, through
 * `native`, the mapping of its mmap engine: mapped views alias the page cache, as MAP_SHARED
 * does. It records every change since the last sync — pwrite calls as they are made; stores
 * through the mapping as the pages they dirtied, found by comparing the page cache with what the
 * records explain at each observation (every io or msync call, and `observe()`) — and at each
 * such moment hands a CrashPoint to `onCrashPoint`: durable bytes plus the unsynced records, of
 * which a real disk may have kept any subset, each possibly torn at 512-byte sectors.
 * `fdatasync` makes everything durable; `msync(MS_SYNC)` the records' sectors inside its range.
 */
export class SimDisk<T = unknown> implements FileIo {
  /** The page cache: what the process reads and what the mapping shows. */
  readonly #cache: ResizableBuffer;
  #size: number;
  /** The page cache as the records explain it: the mapping's stores are what differs. */
  #known: Uint8Array;
  #durable: Uint8Array;
  #durableSize: number;
  #unsynced: DiskRecord[] = [];
  #mapped = false;
  #points = 0;
  /** Called at every moment a crash may happen, with what the disk may hold then. */
  onCrashPoint: ((point: CrashPoint<T>) => void) | undefined;
  /** What each crash point expects (read when the point is taken). */
  expected: () => T = () => undefined as T;
  /** Fails the call of this kind after `skip` more such calls with EIO, once (the failed call has no effect). */
  failAt: { kind: 'write' | 'datasync'; skip: number } | undefined;
  /** Writes into the header slots (the first 8 KiB) so far. */
  headerWrites = 0;

  /** A disk holding `image` (durable; the caller must not change it afterwards). */
  constructor(image: Uint8Array = new Uint8Array(0)) {
    this.#cache = new ResizableBuffer(image.length, { maxByteLength: MAX_BYTES });
    new Uint8Array(this.#cache).set(image);
    this.#size = image.length;
    this.#known = image.slice();
    this.#durable = image;
    this.#durableSize = image.length;
  }

  /**
   * Makes this disk hold `image` afresh, as a new SimDisk would, reusing its memory (making a
   * resizable buffer costs milliseconds). Whatever used it before must be closed, and `image` must
   * stay as it is while this disk is in use.
   */
  reset(image: Uint8Array): void {
    // never shrunk: giving pages back and faulting them in again is what costs
    grow(this.#cache, image.length);
    const cache = new Uint8Array(this.#cache);
    cache.set(image);
    cache.fill(0, image.length);
    this.#size = image.length;
    if (this.#known.length < image.length) this.#known = new Uint8Array(image.length);
    this.#known.set(image);
    this.#known.fill(0, image.length);
    // by reference: a reset disk's durable bytes are read only while it is in use
    this.#durable = image;
    this.#durableSize = image.length;
    this.#unsynced = [];
    this.#mapped = false;
    this.#points = 0;
    this.onCrashPoint = undefined;
    this.failAt = undefined;
    this.headerWrites = 0;
  }

  get crashPoints(): number {
    return this.#points;
  }

  #view(): Uint8Array {
    return new Uint8Array(this.#cache, 0, this.#size);
  }

  #setKnown(position: number, bytes: Uint8Array): void {
    const end = position + bytes.length;
    if (end > this.#known.length) {
      const bigger = new Uint8Array(Math.max(end, this.#known.length * 2));
      bigger.set(this.#known);
      this.#known = bigger;
    }
    this.#known.set(bytes, position);
  }

  /** Turns stores through the mapping into records: one per dirtied page, its content now. */
  #collectStores(): void {
    if (!this.#mapped) return;
    const cache = this.#view();
    for (let at = 0; at < this.#size; at += PAGE) {
      const end = Math.min(this.#size, at + PAGE);
      const now = cache.subarray(at, end);
      if (Buffer.compare(now, this.#known.subarray(at, end)) === 0) continue;
      const bytes = now.slice();
      this.#unsynced.push({ kind: 'data', position: at, bytes });
      this.#setKnown(at, bytes);
    }
  }

  #point(after: string): void {
    const index = this.#points++;
    this.onCrashPoint?.({
      index,
      after,
      durable: this.#durable,
      durableSize: this.#durableSize,
      unsynced: this.#unsynced.slice(),
      expected: this.expected(),
    });
  }

  /**
   * A moment between two operations of the program: stores through the mapping so far become
   * records, and when there were any, a crash may happen here (io calls are crash points anyway).
   */
  observe(after: string): void {
    const before = this.#unsynced.length;
    this.#collectStores();
    if (this.#unsynced.length !== before) this.#point(after);
  }

  #fail(kind: 'write' | 'datasync'): void {
    const fail = this.failAt;
    if (fail?.kind !== kind) return;
    if (fail.skip > 0) {
      this.failAt = { kind, skip: fail.skip - 1 };
      return;
    }
    this.failAt = undefined;
    throw new InjectedEio(`EIO: injected into ${kind}`);
  }

  read(_fd: number, dst: Uint8Array, position: number): number {
    const n = Math.max(0, Math.min(dst.length, this.#size - position));
    if (n === 0) return 0;
    dst.set(new Uint8Array(this.#cache, position, n));
    return n;
  }

  write(_fd: number, src: Uint8Array, position: number): void {
    this.#collectStores();
    this.#fail('write');
    const end = position + src.length;
    if (end > this.#size) {
      grow(this.#cache, end);
      this.#size = end;
    }
    new Uint8Array(this.#cache).set(src, position);
    const bytes = src.slice();
    this.#unsynced.push({ kind: 'data', position, bytes });
    this.#setKnown(position, bytes);
    if (position < 2 * PAGE) this.headerWrites++;
    this.#point(`write ${src.length} at ${position}`);
  }

  datasync(): void {
    this.#collectStores();
    this.#fail('datasync');
    this.#durable = this.#view().slice();
    this.#durableSize = this.#size;
    this.#unsynced = [];
    this.#point('fdatasync');
  }

  truncate(_fd: number, length: number): void {
    this.#collectStores();
    if (length > this.#size) grow(this.#cache, length);
    else {
      new Uint8Array(this.#cache).fill(0, length, this.#size);
      if (this.#known.length > length) this.#known.fill(0, length);
    }
    this.#size = length;
    this.#unsynced.push({ kind: 'size', size: length });
    this.#point(`truncate to ${length}`);
  }

  size(): number {
    return this.#size;
  }

  /** msync of [offset, offset + length): MS_SYNC makes the records' sectors in that range durable. */
  #msync(offset: number, length: number, blocking: boolean): void {
    this.#collectStores();
    if (blocking) {
      const end = offset + length;
      const durable = new Uint8Array(Math.max(this.#durable.length, this.#size));
      durable.set(this.#durable);
      const left: DiskRecord[] = [];
      for (const record of this.#unsynced) {
        if (record.kind === 'size') {
          left.push(record);
          continue;
        }
        const from = Math.max(offset, record.position);
        const to = Math.min(end, record.position + record.bytes.length);
        if (from >= to) {
          left.push(record);
          continue;
        }
        durable.set(record.bytes.subarray(from - record.position, to - record.position), from);
        if (record.position < from)
          left.push({ kind: 'data', position: record.position, bytes: record.bytes.subarray(0, from - record.position) });
        if (to < record.position + record.bytes.length)
          left.push({ kind: 'data', position: to, bytes: record.bytes.subarray(to - record.position) });
      }
      this.#durable = durable.subarray(0, Math.max(this.#durableSize, Math.min(end, this.#size)));
      this.#durableSize = this.#durable.length;
      this.#unsynced = left;
    }
    this.#point(blocking ? `msync(MS_SYNC) of ${length} at ${offset}` : `msync(MS_ASYNC)`);
  }

  /**
   * A stand-in for @blk/fmap-native over this disk: one shared mapping whose view is the page
   * cache itself (length-tracking, so it grows with the file). `unmap` cannot detach that view
   * (the io shares it); the engine never touches a view after unmapping, which the real addon
   * enforces. Hole seeking and punching, and the file device's I/O engine, are not modelled.
   */
  get native(): FmapNative {
    const mapping: NativeMapping = {};
    return {
      abiVersion: NATIVE_ABI_VERSION,
      map: () => {
        this.#mapped = true;
        return mapping;
      },
      view: (_mapping, offset) => {
        if (offset !== 0) throw new Error('the simulated mapping has one window');
        return this.#cache;
      },
      sync: (_mapping, offset, length, blocking) => {
        this.#msync(offset, length, blocking);
      },
      unmap: () => {
        this.#collectStores();
      },
      seekData: () => {
        throw new Error('not modelled');
      },
      seekHole: () => {
        throw new Error('not modelled');
      },
      punchHole: () => false,
      // The file device's I/O engine: BlockFile never uses it, so the model does not either.
      readNow: () => {
        throw new Error('not modelled');
      },
      writeNow: () => {
        throw new Error('not modelled');
      },
      pageSize: 4096,
      ioOpen: () => {
        throw new Error('not modelled');
      },
      ioSubmit: () => {
        throw new Error('not modelled');
      },
      ioClose: () => {
        throw new Error('not modelled');
      },
    };
  }
}

/** A deterministic generator (xorshift32), so every state a test checks can be named by its seed. */
export function randomFrom(seed: number): () => number {
  let x = seed | 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

/** How a disk state was made from a crash point: which records landed, and which sectors of a torn one. */
export interface DiskChoice {
  readonly landed: readonly boolean[];
  /** Record index → the sectors of it that landed (the others did not). */
  readonly torn: ReadonlyMap<number, readonly boolean[]>;
  readonly what: string;
}

export interface EnumerationLimits {
  /** All subsets of the unsynced records when there are at most this many. */
  readonly exhaustiveUpTo: number;
  /** Random subsets beyond that. */
  readonly samples: number;
  /** Torn variants per record with more than one sector. */
  readonly tearsPerRecord: number;
}

const sectorsOf = (record: DiskRecord) => (record.kind === 'data' ? Math.ceil(record.bytes.length / SECTOR) : 1);

/**
 * The disk states to check at a crash point: every subset of the unsynced records when there are
 * few, else none/all/each alone/all but each/random subsets; then for each record of several
 * sectors, torn versions of it (a prefix of its sectors, and random sectors) on top of every
 * record before it (writeback in order) or of a random subset.
 */
export function* diskChoices(records: readonly DiskRecord[], limits: EnumerationLimits, random: () => number): Generator<DiskChoice> {
  const n = records.length;
  const none = new Map<number, readonly boolean[]>();
  if (n <= limits.exhaustiveUpTo) {
    for (let mask = 0; mask < 2 ** n; mask++) {
      yield { landed: records.map((_, i) => ((mask >>> i) & 1) === 1), torn: none, what: `subset ${mask.toString(2).padStart(n, '0')}` };
    }
  } else {
    yield { landed: records.map(() => false), torn: none, what: 'nothing unsynced' };
    yield { landed: records.map(() => true), torn: none, what: 'everything' };
    for (let i = 0; i < n; i++) {
      yield { landed: records.map((_, j) => j === i), torn: none, what: `record ${i} alone` };
      yield { landed: records.map((_, j) => j !== i), torn: none, what: `all but record ${i}` };
      yield { landed: records.map((_, j) => j < i), torn: none, what: `the first ${i} records` };
    }
    for (let s = 0; s < limits.samples; s++) yield { landed: records.map(() => random() < 0.5), torn: none, what: `random subset ${s}` };
  }
  for (let i = 0; i < n; i++) {
    const sectors = sectorsOf(records[i]!);
    if (sectors < 2) continue;
    for (let t = 0; t < limits.tearsPerRecord; t++) {
      const cut = 1 + Math.floor(random() * (sectors - 1));
      const mask = t % 2 === 0 ? Array.from({ length: sectors }, (_, s) => s < cut) : Array.from({ length: sectors }, () => random() < 0.5);
      const inOrder = t % 3 !== 2;
      const landed = records.map((_, j) => (j === i ? true : inOrder ? j < i : random() < 0.5));
      yield {
        landed,
        torn: new Map([[i, mask]]),
        what: `record ${i} torn (${t % 2 === 0 ? `first ${cut} of ${sectors} sectors` : 'random sectors'}), ${inOrder ? 'earlier records landed' : 'random others'}`,
      };
    }
  }
}

/**
 * Builds the file a crash leaves: the durable bytes, then the chosen records (sectors) in the
 * order they were made. Fresh memory is slow to fault in, so one buffer is reused: the image
 * returned is valid until the next `build`.
 */
export class ImageBuilder {
  #bytes = new Uint8Array(0);

  build(point: CrashPoint<unknown>, choice: DiskChoice): Uint8Array {
    let size = point.durableSize;
    this.#ensure(size);
    this.#bytes.set(point.durable.subarray(0, size));
    const resize = (to: number) => {
      this.#ensure(to);
      if (to > size) this.#bytes.fill(0, size, to);
      size = to;
    };
    point.unsynced.forEach((record, i) => {
      if (!choice.landed[i]) return;
      if (record.kind === 'size') {
        resize(record.size);
        return;
      }
      const end = record.position + record.bytes.length;
      if (end > size) resize(end);
      const torn = choice.torn.get(i);
      if (!torn) {
        this.#bytes.set(record.bytes, record.position);
        return;
      }
      for (let s = 0; s < torn.length; s++) {
        if (torn[s]) this.#bytes.set(record.bytes.subarray(s * SECTOR, (s + 1) * SECTOR), record.position + s * SECTOR);
      }
    });
    return this.#bytes.subarray(0, size);
  }

  #ensure(bytes: number): void {
    if (bytes <= this.#bytes.length) return;
    const bigger = new Uint8Array(Math.max(bytes, 2 * this.#bytes.length));
    bigger.set(this.#bytes);
    this.#bytes = bigger;
  }
}
