import { lstat, unlink } from 'node:fs/promises';
import { createConnection } from 'node:net';

async function connectable(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ path });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      resolve(false);
    });
  });
}

/**
 * Makes `path` free for a listening Unix socket: a socket file nobody answers on (left by a server
 * that was killed) is removed; a live socket or any other file is refused with an EADDRINUSE error.
 */
export async function clearStaleSocket(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = (await lstat(path)).isSocket();
  } catch {
    return;
  }
  const error = (why: string) => Object.assign(new Error(`cannot listen on ${path}: ${why}`), { code: 'EADDRINUSE' });
  if (!isSocket) throw error('the path exists and is not a socket');
  if (await connectable(path)) throw error('another server is listening there');
  await unlink(path);
}
