import { HEADER_SIZE, REQ_EVENT, REQ_PROD, RSP_EVENT, RSP_PROD, SharedRing, notifyNeeded, type RingArea } from './shared-ring.js';

/**
 * The frontend's end of a shared ring: it produces requests and consumes responses. Private
 * indices `reqProdPvt` and `rspCons` (ring.h's `req_prod_pvt`, `rsp_cons`).
 */
export class FrontRing extends SharedRing {
  reqProdPvt: number;
  rspCons: number;
  /** Set when the backend published more responses than there are requests outstanding. */
  broken: string | undefined;

  /** A method rather than a property test, so that callers re-read it after ring operations. */
  isBroken(): boolean {
    return this.broken !== undefined;
  }

  /** Attaches to a ring that `initialise` has set up (the producers give the starting index). */
  constructor(area: RingArea) {
    super(area);
    this.reqProdPvt = this.load(REQ_PROD);
    this.rspCons = this.load(RSP_PROD);
  }

  /**
   * Only the frontend initialises the header: both producers at `start` (0 normally; tests start
   * near 2^32 to cross the wrap), both event indices one past it, padding zeroed.
   */
  static initialise(area: RingArea, start = 0): FrontRing {
    const header = new Int32Array(area.buffer, area.byteOffset, HEADER_SIZE / 4);
    header.fill(0);
    Atomics.store(header, REQ_PROD, start | 0);
    Atomics.store(header, REQ_EVENT, (start + 1) | 0);
    Atomics.store(header, RSP_PROD, start | 0);
    Atomics.store(header, RSP_EVENT, (start + 1) | 0);
    return new FrontRing(area);
  }

  /** Requests sent and not yet answered. */
  get outstanding(): number {
    return (this.reqProdPvt - this.rspCons) >>> 0;
  }

  /** Slots the frontend may fill now: never more than `entries` requests outstanding. */
  get freeSlots(): number {
    return this.entries - this.outstanding;
  }

  /** Claims the next request slot (the caller checked `freeSlots`) and returns its byte offset. */
  claimRequestSlot(): number {
    const at = this.slotOffset(this.reqProdPvt);
    this.reqProdPvt = (this.reqProdPvt + 1) >>> 0;
    return at;
  }

  /** RING_PUSH_REQUESTS_AND_CHECK_NOTIFY: publishes the claimed slots; true if the backend needs a kick. */
  pushRequests(): boolean {
    const oldProd = this.load(REQ_PROD);
    const newProd = this.reqProdPvt;
    if (oldProd === newProd) return false;
    this.store(REQ_PROD, newProd);
    return notifyNeeded(oldProd, newProd, this.load(REQ_EVENT));
  }

  /** Responses published and not yet consumed; 0 (and `broken` set) if the backend misbehaves. */
  pendingResponses(): number {
    if (this.broken !== undefined) return 0;
    const available = (this.load(RSP_PROD) - this.rspCons) >>> 0;
    if (available > this.outstanding) {
      this.broken = `backend published ${available} responses with ${this.outstanding} requests outstanding`;
      return 0;
    }
    return available;
  }

  /** Takes the next response slot (the caller checked `pendingResponses`) and returns its byte offset. */
  takeResponseSlot(): number {
    const at = this.slotOffset(this.rspCons);
    this.rspCons = (this.rspCons + 1) >>> 0;
    return at;
  }

  /**
   * RING_FINAL_CHECK_FOR_RESPONSES: before sleeping, ask to be woken by the very next response
   * and look again, so that a response published meanwhile is not missed.
   */
  finalCheckForResponses(): boolean {
    if (this.pendingResponses() > 0) return true;
    this.store(RSP_EVENT, (this.rspCons + 1) >>> 0);
    return this.pendingResponses() > 0;
  }
}
