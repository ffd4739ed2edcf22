import { thrownMessage } from '@blk/core';
import { clearStaleSocket } from '@blk/xenstore';
import { CliError } from './cli-error.js';

/**
 * Makes `path` free for a listening Unix socket: a socket file nobody answers on (left by a
 * server that was killed) is removed; a live socket or any other file is refused.
 */
export async function claimSocketPath(path: string): Promise<void> {
  try {
    await clearStaleSocket(path);
  } catch (error) {
    throw new CliError(thrownMessage(error));
  }
}
