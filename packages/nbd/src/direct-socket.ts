import * as net from 'node:net';
import type { DirectReads } from './direct-reads.js';

interface StreamHandle {
  useUserBuffer?: unknown;
  reading?: boolean;
  readStop?: () => number;
}

/**
 * The connection of `socket`, an accepted socket that nothing has read from yet, as a new
 * socket whose reads land where `direct` says (Node's `onread`, which Node 20 only offers to
 * sockets it is given a handle for). Node's server sockets otherwise read into a fresh 64 KiB
 * buffer per read, and at gigabytes a second those allocations, their page faults and the
 * collections they cause cost more than the rest of a WRITE. `socket` is destroyed without
 * closing the connection. Undefined (nothing changed) when the handle cannot be taken over.
 */
export function withDirectReads(socket: net.Socket, direct: DirectReads): net.Socket | undefined {
  const holder = socket as unknown as { _handle: StreamHandle | null };
  const handle = holder._handle;
  if (!handle || typeof handle.useUserBuffer !== 'function' || socket.bytesRead > 0 || socket.readableLength > 0) return undefined;
  // A socket received from another process starts reading when it is made: stop that first, so
  // the new socket starts it again with its own buffer (nothing was read yet: same tick).
  if (handle.reading === true && typeof handle.readStop === 'function') {
    handle.readStop();
    handle.reading = false;
  }
  holder._handle = null;
  socket.destroy();
  const taken = new net.Socket({
    handle,
    allowHalfOpen: true,
    readable: true,
    writable: true,
    onread: direct.onread,
  } as net.SocketConstructorOpts);
  if (typeof taken.setNoDelay === 'function') taken.setNoDelay(true);
  return taken;
}
