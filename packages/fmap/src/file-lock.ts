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

function errno(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException).code;
}

/** A holder entry is `<pid>.<token>`: the token makes each acquisition's name unique. */
function holderPid(name: string): number {
  const pid = Number.parseInt(name, 10);
  return Number.isSafeInteger(pid) && pid > 0 ? pid : 0;
}

function removeQuietly(remove: () => void): void {
  try {
    remove();
  } catch {
    // already gone (or, for a directory, taken by someone else meanwhile)
  }
}

/**
 * Takes `${path}.lock` for this process. The lock is a directory holding one empty file named
 * `<pid>.<token>`; it is taken by renaming a prepared, non-empty directory onto that name, which
 * the kernel does atomically and only while the name is free or an empty directory. A holder
 * whose process is gone is removed by unlinking its own uniquely named entry: that can only ever
 * remove that one acquisition, so two processes breaking the same stale lock cannot both win
 * (the rename decides). Node has no flock, so this is advisory between @blk processes.
 * Returns the release function.
 */
export function acquireLock(path: string): () => void {
  const lockPath = `${path}.lock`;
  const name = `${process.pid}.${randomBytes(8).toString('hex')}`;
  const staging = `${lockPath}.${name}`;
  try {
    fs.mkdirSync(staging, { mode: 0o755 });
    fs.writeFileSync(`${staging}/${name}`, '', { flag: 'wx' });
  } catch (error) {
    removeQuietly(() => fs.rmSync(staging, { recursive: true, force: true }));
    throw new FmapError('E_IO', `cannot prepare lock ${lockPath}: ${(error as Error).message}`, { cause: error });
  }
  const abandon = () => {
    removeQuietly(() => fs.unlinkSync(`${staging}/${name}`));
    removeQuietly(() => fs.rmdirSync(staging));
  };
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      fs.renameSync(staging, lockPath);
      return () => {
        removeQuietly(() => fs.unlinkSync(`${lockPath}/${name}`));
        removeQuietly(() => fs.rmdirSync(lockPath));
      };
    } catch (error) {
      const code = errno(error);
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'ENOTDIR') {
        abandon();
        throw new FmapError('E_IO', `cannot take lock ${lockPath}: ${(error as Error).message}`, { cause: error });
      }
    }
    let holders: string[];
    try {
      holders = fs.readdirSync(lockPath);
    } catch (error) {
      if (errno(error) === 'ENOTDIR') {
        breakLegacyFile(path, lockPath, abandon);
        continue;
      }
      continue; // released meanwhile: try again
    }
    for (const holder of holders) {
      const pid = holderPid(holder);
      if (pid !== 0 && alive(pid)) {
        abandon();
        throw new FmapError('E_LOCKED', `${path} is locked by process ${pid}${pid === process.pid ? ' (this one)' : ''}`);
      }
      // Unlinking this exact name can only remove that dead acquisition, never a newer one.
      removeQuietly(() => fs.unlinkSync(`${lockPath}/${holder}`));
    }
  }
  abandon();
  throw new FmapError('E_LOCKED', `${path}: could not take ${lockPath}`);
}

/**
 * A lock file written by an earlier version ("pid token" in a plain file). Removing it is safe
 * against this version's locks: unlink refuses a directory.
 */
function breakLegacyFile(path: string, lockPath: string, abandon: () => void): void {
  let text: string;
  try {
    text = fs.readFileSync(lockPath, 'utf8');
  } catch {
    return;
  }
  const pid = holderPid(text);
  if (pid !== 0 && alive(pid)) {
    abandon();
    throw new FmapError('E_LOCKED', `${path} is locked by process ${pid}${pid === process.pid ? ' (this one)' : ''}`);
  }
  removeQuietly(() => fs.unlinkSync(lockPath));
}
