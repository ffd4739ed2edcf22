export * from './blkif-constants.js';
export {
  DISCARD,
  INDIRECT,
  RESPONSE,
  RESPONSE_SIZE,
  RW,
  SEGMENT,
  SEGMENT_SIZE,
  SLOT_SIZE,
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  isKnownRequest,
  readSegment,
  writeDiscard,
  writeIndirectHeader,
  writeRwHeader,
  writeSegment,
  type BlkifRequest,
  type BlkifResponse,
  type BlkifSegment,
  type DiscardRequest,
  type IndirectRequest,
  type KnownRequest,
  type RwOp,
  type RwRequest,
  type UnknownRequest,
} from './blkif-codec.js';
export {
  HEADER_SIZE,
  MAX_RING_PAGE_ORDER,
  REQ_EVENT,
  REQ_PROD,
  RSP_EVENT,
  RSP_PROD,
  SharedRing,
  notifyNeeded,
  ringEntries,
  type RingArea,
} from './shared-ring.js';
export { FrontRing } from './front-ring.js';
export { BackRing } from './back-ring.js';
export { FIRST_GRANT_REF, GrantError, GrantTable } from './grant-table.js';
export { EventChannel, EventChannelTable } from './event-channel.js';
export { FrameAllocator } from './frame-allocator.js';
export { SharedDomain, type SharedDomainDescriptor, type SharedDomainOptions } from './shared-domain.js';
export { Blkback, BlkbackConnectError, type BlkbackOptions, type BlkbackStats } from './blkback.js';
export { Blkfront, type BlkfrontNegotiated, type BlkfrontOptions } from './blkfront.js';
export type { FrontendHandshakeOptions } from './frontend-handshake.js';
export { serveBlkback, type BlkbackService, type BlkbackServiceOptions, type BlkbackTuning } from './backend-handshake.js';
export {
  XenbusState,
  parseXenbusState,
  readState,
  writeState,
  writeStateIfPresent,
  xenbusStateName,
  type XenbusStateValue,
} from './xenbus-state.js';
export { hasXenbusCode, isNotYet, notYet, readOptional, rmIfPresent, type XenbusHandle, type XenbusStore } from './xenbus-store.js';
export {
  readBackendDevice,
  readBackendTransport,
  readFrontendRing,
  writeBackendDevice,
  writeBackendTransport,
  writeFrontendRing,
  type BackendDevice,
  type BackendTransport,
  type FrontendRingKeys,
} from './xenbus-keys.js';
export { MemoryXenbusStore, type MemoryXenbusStoreOptions } from './memory-xenbus-store.js';
export { DEFAULT_DEVID, createVbd, removeVbd, vbdPaths, type CreateVbdOptions, type VbdPaths } from './toolstack.js';
export { PortXenbusStore, serveStoreOverPort } from './store-port.js';
export { loadDevice, resolveDeviceDescription, type DeviceDescription, type ResolvedDeviceDescription } from './device-description.js';
export { connectWorker, type ConnectWorkerOptions } from './connect-worker.js';
