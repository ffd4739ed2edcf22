import { REQ_EVENT, REQ_PROD, RSP_EVENT, RSP_PROD, SharedRing, notifyNeeded, type RingArea } from './shared-ring.js';

/**
 * The backend's end of a shared ring: it consumes requests and produces responses. It attaches
 * without writing the header (re-initialising a live ring breaks the frontend). Private indices
 * `reqCons` and `rspProdPvt` (ring.h's `req_cons`, `rsp_prod_pvt`).
 */
export class BackRing extends SharedRing {
  reqCons: number;
  rspProdPvt: number;
  /** Set when the frontend's producer index is impossible; the ring must not be served further. */
  broken: string | undefined;

  /** A method rather than a property test, so that callers re-read it after ring operations. */
  isBroken(): boolean {
    return this.broken !== undefined;
  }

  constructor(area: RingArea) {
    super(area);
    this.rspProdPvt = this.load(RSP_PROD);
    this.reqCons = this.rspProdPvt;
  }

  /**
   * Requests that may be consumed now: min(req_prod − req_cons, entries − (req_cons −
   * rsp_prod_pvt)). Returns 0 and sets `broken` when the frontend claims more than `entries`
   * requests outstanding or moves its producer backwards.
   */
  pendingRequests(): number {
    if (this.broken !== undefined) return 0;
    const reqProd = this.load(REQ_PROD);
    const outstanding = (reqProd - this.rspProdPvt) >>> 0;
    const available = (reqProd - this.reqCons) >>> 0;
    if (outstanding > this.entries || available > outstanding) {
      this.broken = `frontend request producer ${reqProd} is impossible (consumer ${this.reqCons}, responses ${this.rspProdPvt})`;
      return 0;
    }
    const room = this.entries - ((this.reqCons - this.rspProdPvt) >>> 0);
    return Math.min(available, room);
  }

  /** Takes the next request slot (the caller checked `pendingRequests`) and returns its byte offset. */
  takeRequestSlot(): number {
    const at = this.slotOffset(this.reqCons);
    this.reqCons = (this.reqCons + 1) >>> 0;
    return at;
  }

  /** Requests consumed and not yet answered. */
  get unanswered(): number {
    return (this.reqCons - this.rspProdPvt) >>> 0;
  }

  /** Claims the next response slot and returns its byte offset. Only for a consumed request. */
  claimResponseSlot(): number {
    const at = this.slotOffset(this.rspProdPvt);
    this.rspProdPvt = (this.rspProdPvt + 1) >>> 0;
    return at;
  }

  /** RING_PUSH_RESPONSES_AND_CHECK_NOTIFY: true if the frontend needs a kick. */
  pushResponses(): boolean {
    const oldProd = this.load(RSP_PROD);
    const newProd = this.rspProdPvt;
    if (oldProd === newProd) return false;
    this.store(RSP_PROD, newProd);
    return notifyNeeded(oldProd, newProd, this.load(RSP_EVENT));
  }

  /** RING_FINAL_CHECK_FOR_REQUESTS: ask to be woken by the next request, then look again. */
  finalCheckForRequests(): boolean {
    if (this.pendingRequests() > 0) return true;
    if (this.broken !== undefined) return false;
    this.store(REQ_EVENT, (this.reqCons + 1) >>> 0);
    return this.pendingRequests() > 0;
  }
}
