import * as net from 'node:net';
import type { DirectReads } from './direct-reads.js';

interface StreamHandle {
  useUserBuffer?: unknown;
}

/**
 * The connection of `socket`, a socket accepted paused that nothing has read from yet, as a new
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
  holder._handle = null;
  socket.destroy();
  const taken = new net.Socket({ handle, allowHalfOpen: true, readable: true, writable: true, onread: direct.onread } as net.SocketConstructorOpts);
  if (typeof taken.setNoDelay === 'function') taken.setNoDelay(true);
  return taken;
}
