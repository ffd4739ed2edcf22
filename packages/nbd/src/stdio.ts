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

/**
 * The listening sockets passed by systemd-style socket activation (LISTEN_PID = our pid,
 * LISTEN_FDS = n → fds 3 … 3 + n − 1), as libnbd's `[ CMD ]` and systemd pass them; empty when
 * none were. Serve them with `server.listen({ fd })`.
 */
export function inheritedSocketFds(env: NodeJS.ProcessEnv = process.env): number[] {
  if (env.LISTEN_PID !== String(process.pid)) return [];
  const count = Number(env.LISTEN_FDS);
  if (!Number.isSafeInteger(count) || count < 1) return [];
  return Array.from({ length: count }, (_, i) => 3 + i);
}
