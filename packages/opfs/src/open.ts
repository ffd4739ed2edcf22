import { BlockError, checkResize, checkSectorSize, readOnlyView, type BlockDevice } from '@blk/core';
import { opfsError, opfsRoot, type OpfsDirectoryHandle } from './opfs-api.js';
import { OpfsDevice } from './opfs-device.js';

export interface OpfsOptions {
  /**
   * The size of a new file, in sectors. An existing file keeps its size; given here, it must
   * match. Opening a file that does not exist without it is refused.
   */
  readonly sizeSectors?: number;
  /** Bytes per sector: a power of two from 512 to 65536 (default 512). */
  readonly sectorSize?: number;
  /** Opens a shared read-only handle (other read-only opens may coexist); never creates. */
  readonly readOnly?: boolean;
  /** The directory holding the file (default: the origin's OPFS root). */
  readonly directory?: OpfsDirectoryHandle;
}

function checkName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || name === '' || name === '.' || name === '..' || /[/\\\0]/.test(name)) {
    throw new BlockError('INVALID_ARGUMENT', `an OPFS file name must be one non-empty path component, got ${JSON.stringify(name)}`);
  }
}

/**
 * Opens (or creates) the OPFS file `name` as a block device. Call it in a dedicated worker: the
 * synchronous access handle it needs exists nowhere else (elsewhere it rejects UNSUPPORTED). A
 * read-write open holds the file's exclusive lock until `disconnect()`; a second one, from any
 * worker or tab of the origin, rejects with IO until then.
 */
export async function openOpfsDevice(name: string, options: OpfsOptions = {}): Promise<BlockDevice> {
  checkName(name);
  const { sectorSize = 512, sizeSectors, readOnly = false } = options;
  checkSectorSize(sectorSize);
  if (sizeSectors !== undefined) {
    checkResize(sizeSectors);
    if (!Number.isSafeInteger(sizeSectors * sectorSize))
      throw new BlockError('INVALID_ARGUMENT', `${sizeSectors} sectors of ${sectorSize} bytes is past the largest file size`);
  }
  const directory = options.directory ?? (await opfsRoot());
  let file;
  try {
    file = await directory.getFileHandle(name, { create: !readOnly && sizeSectors !== undefined });
  } catch (error) {
    throw opfsError(error, `opening OPFS file ${name}`);
  }
  let handle;
  try {
    handle = await file.createSyncAccessHandle(readOnly ? { mode: 'read-only' } : {});
  } catch (error) {
    throw opfsError(error, `opening OPFS file ${name}`);
  }
  try {
    const bytes = handle.getSize();
    if (bytes % sectorSize !== 0)
      throw new BlockError('INVALID_ARGUMENT', `OPFS file ${name} is ${bytes} bytes, not a whole number of ${sectorSize}-byte sectors`);
    // A file this call has just created is empty: it takes the size asked for.
    if (bytes === 0 && sizeSectors !== undefined && !readOnly) handle.truncate(sizeSectors * sectorSize);
    else if (sizeSectors !== undefined && bytes !== sizeSectors * sectorSize) {
      throw new BlockError('INVALID_ARGUMENT', `OPFS file ${name} has ${bytes / sectorSize} sectors, not the ${sizeSectors} asked for`);
    }
    const device = new OpfsDevice(name, handle, sectorSize, handle.getSize() / sectorSize, readOnly);
    return readOnly ? readOnlyView(device) : device;
  } catch (error) {
    handle.close();
    throw opfsError(error, `opening OPFS file ${name}`);
  }
}

/** Deletes the OPFS file `name` (it must not be open). Deleting a missing file does nothing. */
export async function removeOpfsDevice(name: string, options: Pick<OpfsOptions, 'directory'> = {}): Promise<void> {
  checkName(name);
  const directory = options.directory ?? (await opfsRoot());
  try {
    await directory.removeEntry(name);
  } catch (error) {
    if (error instanceof Error && error.name === 'NotFoundError') return;
    throw opfsError(error, `removing OPFS file ${name}`);
  }
}
