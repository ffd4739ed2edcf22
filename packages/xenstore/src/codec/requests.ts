import { formatPermission, type Permission } from '../permissions.js';
import { MessageType } from './message-type.js';
import { nulTerminated, withRawTail, type Bytes } from './payload.js';

/** A request before it gets its req_id and tx_id. */
export interface Request {
  readonly type: number;
  readonly payload: Uint8Array;
}

function decimal(n: number): string {
  return String(n);
}

/** Payload builders with the exact shapes of the Xen tree's docs/misc/xenstore.txt ("Message types"). */
export const requests = {
  control: (args: readonly Bytes[]): Request => ({ type: MessageType.CONTROL, payload: nulTerminated(...args) }),
  directory: (path: string): Request => ({ type: MessageType.DIRECTORY, payload: nulTerminated(path) }),
  directoryPart: (path: string, offset: number): Request => ({
    type: MessageType.DIRECTORY_PART,
    payload: nulTerminated(path, decimal(offset)),
  }),
  read: (path: string): Request => ({ type: MessageType.READ, payload: nulTerminated(path) }),
  getPerms: (path: string): Request => ({ type: MessageType.GET_PERMS, payload: nulTerminated(path) }),
  watch: (path: string, token: string, depth?: number): Request => ({
    type: MessageType.WATCH,
    payload: depth === undefined ? nulTerminated(path, token) : nulTerminated(path, token, decimal(depth)),
  }),
  unwatch: (path: string, token: string): Request => ({ type: MessageType.UNWATCH, payload: nulTerminated(path, token) }),
  transactionStart: (): Request => ({ type: MessageType.TRANSACTION_START, payload: nulTerminated('') }),
  transactionEnd: (commit: boolean): Request => ({
    type: MessageType.TRANSACTION_END,
    payload: nulTerminated(commit ? 'T' : 'F'),
  }),
  introduce: (domid: number, gfn: number, eventChannel: number): Request => ({
    type: MessageType.INTRODUCE,
    payload: nulTerminated(decimal(domid), decimal(gfn), decimal(eventChannel)),
  }),
  release: (domid: number): Request => ({ type: MessageType.RELEASE, payload: nulTerminated(decimal(domid)) }),
  getDomainPath: (domid: number): Request => ({ type: MessageType.GET_DOMAIN_PATH, payload: nulTerminated(decimal(domid)) }),
  /** WRITE's value travels without a terminator. */
  write: (path: string, value: Bytes): Request => ({ type: MessageType.WRITE, payload: withRawTail([path], value) }),
  mkdir: (path: string): Request => ({ type: MessageType.MKDIR, payload: nulTerminated(path) }),
  rm: (path: string): Request => ({ type: MessageType.RM, payload: nulTerminated(path) }),
  setPerms: (path: string, permissions: readonly Permission[]): Request => ({
    type: MessageType.SET_PERMS,
    payload: nulTerminated(path, ...permissions.map(formatPermission)),
  }),
  isDomainIntroduced: (domid: number): Request => ({
    type: MessageType.IS_DOMAIN_INTRODUCED,
    payload: nulTerminated(decimal(domid)),
  }),
  resume: (domid: number): Request => ({ type: MessageType.RESUME, payload: nulTerminated(decimal(domid)) }),
  setTarget: (domid: number, target: number): Request => ({
    type: MessageType.SET_TARGET,
    payload: nulTerminated(decimal(domid), decimal(target)),
  }),
  /** Type 20 is gone since Xen 4.9; kept for API parity, servers answer ENOSYS. */
  restrict: (domid: number): Request => ({ type: MessageType.RESTRICT, payload: nulTerminated(decimal(domid)) }),
  resetWatches: (): Request => ({ type: MessageType.RESET_WATCHES, payload: nulTerminated('') }),
} as const;
