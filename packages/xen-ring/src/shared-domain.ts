import { PAGE_SIZE } from './blkif-constants.js';
import { EventChannelTable } from './event-channel.js';
import { FrameAllocator } from './frame-allocator.js';
import { GrantTable } from './grant-table.js';

/** What another thread needs to reach a domain's memory: send it with postMessage or workerData. */
export interface SharedDomainDescriptor {
  readonly domid: number;
  readonly memory: SharedArrayBuffer;
  readonly grants: SharedArrayBuffer;
  readonly events: SharedArrayBuffer;
}

export interface SharedDomainOptions {
  readonly domid: number;
  /** Pages of memory (ring, data and indirect pages). */
  readonly frames: number;
  /** Grant table entries (default frames + 64). */
  readonly grantEntries?: number;
  /** Event channel ports (default 64). */
  readonly ports?: number;
}

/**
 * Stands in for a guest domain as the hypervisor sees it: its page frames, its grant table and its
 * event channels, all in SharedArrayBuffers. The instance that creates the domain is its owner
 * (it allocates frames and grant references); other threads `attach` to map its grants and bind
 * its ports.
 */
export class SharedDomain {
  readonly domid: number;
  readonly memory: SharedArrayBuffer;
  /** All of the domain's memory as bytes. */
  readonly bytes: Uint8Array;
  /** The same memory for little-endian field access (indirect descriptor pages). */
  readonly view: DataView;
  readonly grants: GrantTable;
  readonly events: EventChannelTable;
  readonly frames: FrameAllocator;
  readonly #descriptor: SharedDomainDescriptor;

  constructor(descriptor: SharedDomainDescriptor) {
    this.#descriptor = descriptor;
    this.domid = descriptor.domid;
    this.memory = descriptor.memory;
    this.bytes = new Uint8Array(descriptor.memory);
    this.view = new DataView(descriptor.memory);
    this.grants = new GrantTable(descriptor.grants, descriptor.memory);
    this.events = new EventChannelTable(descriptor.events);
    this.frames = new FrameAllocator(Math.floor(descriptor.memory.byteLength / PAGE_SIZE));
  }

  static create(options: SharedDomainOptions): SharedDomain {
    const { domid, frames } = options;
    if (!Number.isInteger(domid) || domid < 0 || domid > 0x7fef) throw new RangeError(`invalid domid ${domid}`);
    if (!Number.isInteger(frames) || frames < 1) throw new RangeError(`invalid frame count ${frames}`);
    return new SharedDomain({
      domid,
      memory: new SharedArrayBuffer(frames * PAGE_SIZE),
      grants: GrantTable.allocate(options.grantEntries ?? frames + 64),
      events: EventChannelTable.allocate(options.ports ?? 64),
    });
  }

  /** Another thread's view of a domain created elsewhere. */
  static attach(descriptor: SharedDomainDescriptor): SharedDomain {
    return new SharedDomain(descriptor);
  }

  get descriptor(): SharedDomainDescriptor {
    return this.#descriptor;
  }

  /** The bytes of one frame. */
  frame(frame: number): Uint8Array {
    return new Uint8Array(this.memory, frame * PAGE_SIZE, PAGE_SIZE);
  }
}
