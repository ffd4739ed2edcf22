import {
  BlockError,
  checkRange,
  checkRequest,
  checkSeek,
  settled,
  supports,
  type BlockDevice,
  type BlockInfo,
  type Supports,
} from '@blk/core';
import type { ClientConnection } from './client-connection.js';
import type { ExportDetails } from './client-handshake.js';
import { Command, CommandFlag, STATE_ZERO, TransmissionFlag as F } from './constants.js';
import type { BlockSizes } from './option-codec.js';
import { Scatter, splitBuffers } from './scatter.js';
import type { BlockStatusExtent } from './transmission-codec.js';

/** Largest length field of a request, in whole sectors. */
const U32_MAX = 0xffffffff;

export interface NbdDeviceOptions {
  readonly sectorSize: number;
  /** Largest READ/WRITE payload and WRITE_ZEROES length. */
  readonly maxRequestBytes: number;
  /** Send every write with FUA (the server must make it durable before answering). */
  readonly writeThrough: boolean;
}

/** The extents one BLOCK_STATUS reply gave, kept while nothing was written. */
interface StatusCache {
  readonly generation: number;
  readonly offset: number;
  readonly extents: readonly BlockStatusExtent[];
}

/**
 * A BlockDevice over NBD. Requests go to the connections round-robin (more than one only when the
 * server allows multi-conn), are split at the maximum request size, and are checked locally before
 * anything is sent, like libnbd's strict mode.
 */
export class NbdDevice implements BlockDevice {
  readonly supports: Supports;
  /** The export's name on the server. */
  readonly exportName: string;
  /** Size of the export in bytes (a tail shorter than a sector is not addressable). */
  readonly sizeBytes: number;
  /** Transmission flags the server sent. */
  readonly transmissionFlags: number;
  readonly description: string | undefined;
  readonly blockSizes: BlockSizes | undefined;
  /** Whether structured replies and `base:allocation` are in use, and how transmission was entered. */
  readonly protocol: {
    readonly structuredReplies: boolean;
    readonly blockStatus: boolean;
    readonly via: 'GO' | 'EXPORT_NAME';
    readonly tls: boolean;
  };
  readonly #connections: ClientConnection[];
  readonly #info: BlockInfo;
  readonly #options: NbdDeviceOptions;
  #next = 0;
  #closed = false;
  #disconnecting: Promise<void> | undefined;
  /** Bumped when a write-like request starts and when it ends. */
  #generation = 0;
  #writesInFlight = 0;
  #statusCache: StatusCache | undefined;

  constructor(exportName: string, connections: ClientConnection[], options: NbdDeviceOptions) {
    const details: ExportDetails = connections[0]!.details;
    this.exportName = exportName;
    this.#connections = connections;
    this.#options = options;
    this.sizeBytes = details.size;
    this.transmissionFlags = details.flags;
    this.description = details.description;
    this.blockSizes = details.blockSizes;
    const flags = details.flags;
    const readWrite = (flags & F.READ_ONLY) === 0;
    const seek = details.allocationContext !== undefined;
    this.protocol = { structuredReplies: details.structured, blockStatus: seek, via: details.via, tls: details.tls };
    this.#info = Object.freeze({ readWrite, sectorSize: options.sectorSize, sizeSectors: Math.floor(details.size / options.sectorSize) });
    this.supports = supports({
      write: readWrite,
      flush: (flags & F.SEND_FLUSH) !== 0,
      fua: readWrite && options.writeThrough && (flags & F.SEND_FUA) !== 0,
      discard: readWrite && (flags & F.SEND_TRIM) !== 0,
      writeZeroes: readWrite && (flags & F.SEND_WRITE_ZEROES) !== 0,
      seek,
      sparse: seek,
      concurrent: (flags & F.CAN_MULTI_CONN) !== 0,
    });
    // Optional methods exist exactly when their flag is set.
    if (this.supports.flush) this.flush = () => this.#flush();
    if (this.supports.discard) this.discard = (sector, count) => this.#discard(sector, count);
    if (this.supports.writeZeroes) this.writeZeroes = (sector, count) => this.#writeZeroes(sector, count);
    if (seek) {
      this.seekMapped = (sector) => this.#seekMapped(sector);
      this.seekUnmapped = (sector) => this.#seekUnmapped(sector);
    }
  }

  readonly flush?: () => Promise<void>;
  readonly discard?: (sector: number, count: number) => Promise<void>;
  readonly writeZeroes?: (sector: number, count: number) => Promise<void>;
  readonly seekMapped?: (sector: number) => Promise<number>;
  readonly seekUnmapped?: (sector: number) => Promise<number>;

  #live(): BlockInfo {
    if (this.#closed) throw BlockError.disconnected('NBD device');
    return this.#info;
  }

  #connection(): ClientConnection {
    const count = this.#connections.length;
    for (let i = 0; i < count; i++) {
      const connection = this.#connections[this.#next++ % count]!;
      if (connection.usable) return connection;
    }
    throw this.#connections[0]!.failure ?? BlockError.io('no NBD connection is usable');
  }

  async #writeLike<T>(work: () => Promise<T>): Promise<T> {
    this.#generation++;
    this.#writesInFlight++;
    try {
      return await work();
    } finally {
      this.#writesInFlight--;
      this.#generation++;
    }
  }

  getInfo(): Promise<BlockInfo> {
    return settled(() => ({ ...this.#live() }));
  }

  async read(sector: number, buffers: readonly Uint8Array[]): Promise<void> {
    const info = this.#live();
    checkRequest(info, sector, buffers);
    const base = sector * info.sectorSize;
    await Promise.all(
      splitBuffers(buffers, this.#options.maxRequestBytes).map((piece) =>
        this.#connection().request(Command.READ, 0, base + piece.offset, piece.length, `read of sector ${sector}`, {
          into: new Scatter(piece.parts),
        }),
      ),
    );
  }

  async write(sector: number, buffers: readonly Uint8Array[]): Promise<void> {
    const info = this.#live();
    if (!info.readWrite) throw BlockError.readOnly('NBD export');
    checkRequest(info, sector, buffers);
    const base = sector * info.sectorSize;
    const flags = this.supports.fua ? CommandFlag.FUA : 0;
    await this.#writeLike(() =>
      Promise.all(
        splitBuffers(buffers, this.#options.maxRequestBytes).map((piece) =>
          this.#connection().request(Command.WRITE, flags, base + piece.offset, piece.length, `write at sector ${sector}`, {
            payload: piece.parts,
          }),
        ),
      ),
    );
  }

  async #flush(): Promise<void> {
    this.#live();
    await this.#connection().request(Command.FLUSH, 0, 0, 0, 'flush');
  }

  async #discard(sector: number, count: number): Promise<void> {
    const info = this.#live();
    if (!info.readWrite) throw BlockError.readOnly('NBD export');
    checkRange(info, sector, count);
    await this.#writeLike(() => this.#ranges(Command.TRIM, 0, sector, count, U32_MAX, 'discard'));
  }

  async #writeZeroes(sector: number, count: number): Promise<void> {
    const info = this.#live();
    if (!info.readWrite) throw BlockError.readOnly('NBD export');
    checkRange(info, sector, count);
    const flags = this.supports.fua ? CommandFlag.FUA : 0;
    await this.#writeLike(() => this.#ranges(Command.WRITE_ZEROES, flags, sector, count, this.#options.maxRequestBytes, 'writeZeroes'));
  }

  /** A payload-free request over `count` sectors, split into lengths of at most `maxBytes`. */
  async #ranges(type: number, flags: number, sector: number, count: number, maxBytes: number, what: string): Promise<void> {
    const { sectorSize } = this.#info;
    const perRequest = Math.max(1, Math.floor(maxBytes / sectorSize));
    const requests: Promise<unknown>[] = [];
    for (let done = 0; done < count; done += perRequest) {
      const n = Math.min(perRequest, count - done);
      requests.push(
        this.#connection().request(type, flags, (sector + done) * sectorSize, n * sectorSize, `${what} at sector ${sector + done}`),
      );
    }
    await Promise.all(requests);
  }

  /**
   * base:allocation extents from byte `offset`, never empty, clipped to the export. Answers from
   * the last reply when nothing was written since.
   */
  async #extentsAt(offset: number): Promise<{ offset: number; extents: readonly BlockStatusExtent[] }> {
    const cache = this.#statusCache;
    if (cache?.generation === this.#generation) {
      let pos = cache.offset;
      for (const [i, extent] of cache.extents.entries()) {
        if (offset < pos + extent.length && offset >= pos) return { offset: pos, extents: cache.extents.slice(i) };
        pos += extent.length;
      }
    }
    const { sectorSize } = this.#info;
    const end = this.#info.sizeSectors * sectorSize;
    const length = Math.min(end - offset, Math.floor(U32_MAX / sectorSize) * sectorSize);
    const generation = this.#generation;
    const idle = this.#writesInFlight === 0;
    const extents = (await this.#connection().request(Command.BLOCK_STATUS, 0, offset, length, `block status at ${offset}`))!;
    if (idle && generation === this.#generation) this.#statusCache = { generation, offset, extents };
    return { offset, extents };
  }

  /** Walks extents from sector `from` until `stop` says where to stop (a sector), or the end. */
  async #walk(from: number, stop: (start: number, end: number, zero: boolean) => number | undefined): Promise<number> {
    const { sectorSize, sizeSectors } = this.#info;
    const end = sizeSectors * sectorSize;
    let pos = from * sectorSize;
    while (pos < end) {
      const { offset, extents } = await this.#extentsAt(pos);
      let start = offset;
      for (const extent of extents) {
        const extentEnd = Math.min(end, start + extent.length);
        if (extentEnd > pos) {
          const found = stop(Math.max(start, pos), extentEnd, (extent.flags & STATE_ZERO) !== 0);
          if (found !== undefined) return Math.min(found, sizeSectors);
        }
        start = extentEnd;
        if (start >= end) break;
      }
      pos = start;
    }
    return sizeSectors;
  }

  async #seekMapped(sector: number): Promise<number> {
    const info = this.#live();
    checkSeek(info, sector);
    return this.#walk(sector, (start, _end, zero) => (zero ? undefined : Math.floor(start / info.sectorSize)));
  }

  async #seekUnmapped(sector: number): Promise<number> {
    const info = this.#live();
    checkSeek(info, sector);
    const { sectorSize } = info;
    let zeroFrom: number | undefined;
    return this.#walk(sector, (start, end, zero) => {
      if (!zero) {
        zeroFrom = undefined;
        return undefined;
      }
      zeroFrom ??= start;
      // The first whole sector inside the zero run.
      const candidate = Math.ceil(zeroFrom / sectorSize);
      return (candidate + 1) * sectorSize <= end ? candidate : undefined;
    });
  }

  disconnect(): Promise<void> {
    this.#closed = true;
    this.#disconnecting ??= Promise.all(this.#connections.map((c) => c.disconnect())).then(() => undefined);
    return this.#disconnecting;
  }
}
