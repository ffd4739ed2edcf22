export { MessageType, messageTypeName, type MessageTypeName } from './codec/message-type.js';
export { ABS_PATH_MAX, HEADER_SIZE, PAYLOAD_MAX, REL_PATH_MAX } from './codec/limits.js';
export { encodeFrame, FrameDecoder, type DecodeResult, type Frame } from './codec/frame.js';
export { requests, type Request } from './codec/requests.js';
export {
  decodeBoolean,
  decodeDirectory,
  decodeDirectoryPart,
  decodeError,
  decodeOk,
  decodePermissions,
  decodeString,
  decodeTransactionId,
  decodeWatchEvent,
  type DirectoryPart,
  type WatchEvent,
} from './codec/replies.js';
export { nulTerminated, splitStrings, type Bytes, type SplitPayload } from './codec/payload.js';
export {
  Eagain,
  hasCode,
  isEagain,
  isWireErrorCode,
  isXenstoreError,
  WIRE_ERROR_CODES,
  XenstoreError,
  type LocalErrorCode,
  type WireErrorCode,
  type XenstoreErrorCode,
} from './errors.js';
export { formatPermission, parsePermission, toPermission, type Access, type Permission } from './permissions.js';
export { canonicalize, domainPath, isValidPath } from './paths.js';
export { Client, connect, type ConnectOptions, type TransactionOptions, type WaitOptions, type WatchListener } from './client/client.js';
export { Handle } from './client/handle.js';
export { createServer, Server, type NodeInfo, type ServerOptions, type ServerStats } from './server/server.js';
export { DEFAULT_QUOTAS, type Quotas } from './server/quotas.js';
export { DEFAULT_LIMITS, type ServerLimits } from './server/limits.js';
export { clearStaleSocket } from './server/stale-socket.js';
