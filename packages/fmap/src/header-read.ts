import type { Engine } from './engine.js';
import type { FileIo } from './file-io.js';
import { FmapError, ioError } from './fmap-error.js';
import { SLOT_BYTES, SLOT_OFFSETS, decodeFreePage, decodeSlot, entriesPerPage, firstData, type Header, type SlotState } from './format.js';

/** Chooses the newest valid header slot, or throws the most telling typed error. */
export function chooseHeader(states: readonly SlotState[], path: string): Header {
  let best: Header | undefined;
  for (const state of states) {
    if (state.kind === 'valid' && (!best || state.header.seq > best.seq)) best = state.header;
  }
  if (best) return best;
  const version = states.find((s) => s.kind === 'version');
  if (version?.kind === 'version') throw new FmapError('E_VERSION', `${path}: format version ${version.version} is not supported`);
  const corrupt = states.find((s) => s.kind === 'corrupt');
  if (corrupt?.kind === 'corrupt') throw new FmapError('E_CORRUPT', `${path}: ${corrupt.reason}`);
  if (states.some((s) => s.kind === 'checksum')) throw new FmapError('E_CHECKSUM', `${path}: both header copies fail their checksum`);
  throw new FmapError('E_BAD_MAGIC', `${path} is not a BlockFile`);
}

/** Reads both header slots of an open file and returns the newest valid header and the file size. */
export function readHeader(fd: number, io: FileIo, path: string): { header: Header; fileSize: number } {
  let fileSize: number;
  const slots = new Uint8Array(2 * SLOT_BYTES);
  let got: number;
  try {
    fileSize = io.size(fd);
    got = io.read(fd, slots, 0);
  } catch (error) {
    throw ioError(error, `cannot read ${path}`);
  }
  if (fileSize === 0) throw new FmapError('E_SHORT', `${path} is empty`);
  if (got < 64) throw new FmapError('E_SHORT', `${path} is only ${fileSize} bytes: too short for a BlockFile header`);
  const states = ([0, 1] as const).map((slot) =>
    decodeSlot(slots.subarray(SLOT_OFFSETS[slot], Math.min(got, SLOT_OFFSETS[slot] + SLOT_BYTES)), slot),
  );
  const header = chooseHeader(states, path);
  if (fileSize < header.highWater) {
    throw new FmapError('E_SHORT', `${path} is ${fileSize} bytes but its header says ${header.highWater}: the file was truncated`);
  }
  return { header, fileSize };
}

/** Walks the committed free list `header` points at: its entries and the pages holding them, all checked. */
export function readFreeList(engine: Engine, header: Header, path: string): { free: number[]; pages: number[] } {
  const { blockSize, highWater } = header;
  const first = firstData(blockSize);
  const isBlock = (offset: number) => offset % blockSize === 0 && offset >= first && offset < highWater;
  const pages: number[] = [];
  const free: number[] = [];
  const seen = new Set<number>();
  const page = new Uint8Array(blockSize);
  let at = header.freeHead;
  const maxPages = Math.ceil(header.freeLength / entriesPerPage(blockSize)) + 1;
  for (let i = 0; i < header.freePages; i++) {
    if (i >= maxPages || !isBlock(at) || seen.has(at)) {
      throw new FmapError('E_CORRUPT', `${path}: free-list page ${i} at ${at} is out of place`);
    }
    seen.add(at);
    pages.push(at);
    engine.read(at, page);
    const decoded = decodeFreePage(page, header.seq, at);
    for (const entry of decoded.entries) free.push(entry);
    at = decoded.next;
  }
  if (at !== 0 || free.length !== header.freeLength) {
    throw new FmapError('E_CORRUPT', `${path}: the free list holds ${free.length} blocks, the header says ${header.freeLength}`);
  }
  for (const entry of free) {
    if (!isBlock(entry) || seen.has(entry)) throw new FmapError('E_CORRUPT', `${path}: free-list entry ${entry} is invalid or repeated`);
    seen.add(entry);
  }
  return { free, pages };
}
