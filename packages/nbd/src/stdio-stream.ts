import { fstatSync } from 'node:fs';
import * as net from 'node:net';
import { Duplex } from 'node:stream';

function sameSocket(a: number, b: number): boolean {
  try {
    const sa = fstatSync(a);
    const sb = fstatSync(b);
    return sa.isSocket() && sa.dev === sb.dev && sa.ino === sb.ino;
  } catch {
    return false;
  }
}

/**
 * Standard input and output as one duplex stream, for serving a client that started us with its
 * end of a connection on fds 0 and 1 (libnbd's nbd_connect_command, `nbdkit -s` style). When both
 * are the same socket it is used directly; otherwise the two streams are joined.
 */
export function stdioStream(): Duplex {
  if (sameSocket(0, 1)) return new net.Socket({ fd: 0, readable: true, writable: true, allowHalfOpen: true });
  return Duplex.from({ readable: process.stdin, writable: process.stdout });
}
