import { lstat, unlink } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { CliError } from './cli-error.js';

function answers(path: string): Promise<boolean> {
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
 * Makes `path` free for a listening Unix socket: a socket file nobody answers on (left by a
 * server that was killed) is removed; a live socket or any other file is refused.
 */
export async function claimSocketPath(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = (await lstat(path)).isSocket();
  } catch {
    return;
  }
  if (!isSocket) throw new CliError(`cannot listen on ${path}: the path exists and is not a socket`);
  if (await answers(path)) throw new CliError(`cannot listen on ${path}: another server is listening there`);
  await unlink(path);
}
