import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { FmapError } from './fmap-error.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes `${path}.lock` for this process: created exclusively, holding "pid token". A lock whose
 * process is gone is taken over. Node has no flock, so this is advisory between @blk processes.
 * Returns the release function.
 */
export function acquireLock(path: string): () => void {
  const lockPath = `${path}.lock`;
  const mine = `${process.pid} ${randomBytes(8).toString('hex')}\n`;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      fs.writeFileSync(lockPath, mine, { flag: 'wx' });
      return () => {
        try {
          if (fs.readFileSync(lockPath, 'utf8') === mine) fs.unlinkSync(lockPath);
        } catch {
          // already gone
        }
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new FmapError('E_IO', `cannot create lock ${lockPath}: ${(error as Error).message}`, { cause: error });
      }
    }
    let holder: string;
    try {
      holder = fs.readFileSync(lockPath, 'utf8');
    } catch {
      continue; // released meanwhile: try again
    }
    const pid = Number.parseInt(holder, 10);
    if (Number.isSafeInteger(pid) && pid > 0 && alive(pid)) {
      throw new FmapError('E_LOCKED', `${path} is locked by process ${pid}${pid === process.pid ? ' (this one)' : ''}`);
    }
    try {
      if (fs.readFileSync(lockPath, 'utf8') === holder) fs.unlinkSync(lockPath);
    } catch {
      // someone else cleared it
    }
  }
  throw new FmapError('E_LOCKED', `${path}: could not take ${lockPath}`);
}
