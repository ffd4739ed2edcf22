import { readOnlyView, type BlockDevice } from '@blk/core';
import { describeBlockDevice, withLatency, type ConformanceOptions, type DeviceFactory } from '@blk/conformance';
import { openFileDevice, openFmapDevice } from '@blk/fmap';
import { Ramdisk } from '@blk/ramdisk';
import { connect as connectMem, destroy as destroyMem } from '@blk/simple-mem';
import { makeTempDir } from '@blk/test-kit';
import { afterAll } from 'vitest';
import { overlay, overlayTopBytes, type OverlayOptions } from '../src/index.js';
import { fileDevices } from './helpers/devices.js';

const owned: OverlayOptions = { disconnectChildren: true };

function over(
  makeBase: () => BlockDevice | Promise<BlockDevice>,
  makeTop: () => BlockDevice | Promise<BlockDevice>,
  options: OverlayOptions = {},
): DeviceFactory {
  return async () => overlay(await makeBase(), await makeTop(), { ...owned, ...options });
}

/** The suite's fault hooks: both children pass through the suite's faulty wrapper. */
function faults(
  makeBase: (bytes: number) => BlockDevice,
  makeTop: () => BlockDevice,
  bytes: number,
  options: OverlayOptions = {},
): ConformanceOptions {
  return {
    overFaults: async (faulty) => overlay(faulty(makeBase(bytes)), faulty(makeTop()), { ...owned, ...options }),
  };
}

const ram =
  (sectorSize = 512) =>
  (bytes: number) =>
    new Ramdisk({ sizeSectors: bytes / sectorSize, sectorSize });
const growingTop =
  (sectorSize = 512) =>
  () =>
    new Ramdisk({ sizeSectors: 0, sectorSize });

describeBlockDevice(
  'Overlay of a Ramdisk on a Ramdisk',
  over(() => ram()(256 * 512), growingTop()),
  {
    ...faults(ram(), growingTop(), 256 * 512),
    large: over(() => ram()(5 * 2 ** 30), growingTop()),
  },
);

describeBlockDevice(
  'Overlay of a Ramdisk on a Ramdisk, 4 KiB blocks',
  over(() => ram()(256 * 512), growingTop(), { blockSize: 4096 }),
  faults(ram(), growingTop(), 256 * 512, { blockSize: 4096 }),
);

describeBlockDevice(
  'Overlay of a read-only Ramdisk on a Ramdisk, 1 KiB blocks',
  over(() => readOnlyView(ram()(96 * 512)), growingTop(), { blockSize: 1024 }),
  faults((b) => readOnlyView(ram()(b)), growingTop(), 96 * 512, { blockSize: 1024 }),
);

/** A repeatable stream of numbers in [0, 1) for the latency wrapper (a 32-bit LCG). */
function lcg(seed: number): () => number {
  let x = seed >>> 0;
  return () => (x = (Math.imul(x, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

let latencySeed = 7;
const slow = (device: BlockDevice) => withLatency(device, { maxMs: 1, random: lcg(latencySeed++) });
describeBlockDevice(
  'Overlay of a slow Ramdisk on a slow Ramdisk (random latency: requests overtake each other), 4 KiB blocks',
  over(
    () => slow(ram()(128 * 512)),
    () => slow(new Ramdisk({ sizeSectors: 0 })),
    { blockSize: 4096 },
  ),
  { modelRuns: 5 },
);

let memSerial = 0;
async function simpleMem(sizeSectors: number, sectorSize = 512): Promise<BlockDevice> {
  const name = `overlay-conformance-${++memSerial}`;
  const device = await connectMem(name, { sizeSectors, sectorSize });
  destroyMem(name);
  return device;
}

describeBlockDevice(
  'Overlay of a 512-byte simple-mem on a 4096-byte Ramdisk',
  over(() => simpleMem(512), growingTop(4096), { blockSize: 8192 }),
);
describeBlockDevice(
  'Overlay of a 4096-byte Ramdisk on a simple-mem top (no flush, discard or resize)',
  over(
    () => ram(4096)(64 * 4096),
    () => simpleMem(2048),
  ),
);
describeBlockDevice(
  'Overlay of an overlay (a chain of three Ramdisks)',
  over(async () => overlay(ram()(256 * 512), growingTop()(), { ...owned, blockSize: 4096 }), growingTop(), { blockSize: 16384 }),
);

const dir = makeTempDir('blk-overlay-conf-');
afterAll(() => dir.remove());
let fileSerial = 0;
const reopenable = new WeakMap<BlockDevice, { paths: [string, string]; blockSize: number | undefined }>();

async function fileOverlay(blockSize?: number): Promise<BlockDevice> {
  const { base, top, paths } = await fileDevices(dir.path, 128, `c${++fileSerial}`, blockSize);
  const ov = await overlay(base, top, { ...owned, ...(blockSize === undefined ? {} : { blockSize }) });
  reopenable.set(ov, { paths, blockSize });
  return ov;
}

async function reopenFiles(previous: BlockDevice): Promise<BlockDevice> {
  const { paths, blockSize } = reopenable.get(previous)!;
  const ov = await overlay(await openFileDevice(paths[0]), await openFileDevice(paths[1]), owned);
  reopenable.set(ov, { paths, blockSize });
  return ov;
}

describeBlockDevice('Overlay of a raw file on a raw file', () => fileOverlay(), { reopen: reopenFiles });
describeBlockDevice('Overlay of a raw file on a raw file, 4 KiB blocks', () => fileOverlay(4096), { reopen: reopenFiles, modelRuns: 10 });

/** A raw file under a thin fmap device as the top: the top takes space only for blocks written. */
const fmapTops = new WeakMap<BlockDevice, [string, string]>();

async function fmapTopOverlay(): Promise<BlockDevice> {
  const name = `f${++fileSerial}`;
  const { base, top, paths } = await fileDevices(dir.path, 128, name);
  await top.disconnect();
  const fmapPath = `${paths[1]}.fmap`;
  const fmapTop = await openFmapDevice(fmapPath, { create: { sizeSectors: overlayTopBytes(128 * 512) / 512 } });
  const ov = await overlay(base, fmapTop, owned);
  fmapTops.set(ov, [paths[0], fmapPath]);
  return ov;
}

async function reopenFmapTop(previous: BlockDevice): Promise<BlockDevice> {
  const [basePath, topPath] = fmapTops.get(previous)!;
  const ov = await overlay(await openFileDevice(basePath), await openFmapDevice(topPath), owned);
  fmapTops.set(ov, [basePath, topPath]);
  return ov;
}

describeBlockDevice('Overlay of a raw file on a thin fmap device', fmapTopOverlay, { reopen: reopenFmapTop, modelRuns: 10 });
